"""Importing a ``.nemo`` from the app: the engine's ``import_nemo`` on a worker thread, with progress and Cancel.

The GUI thread only receives signals, so the window keeps painting while hundreds of megabytes of
weights are converted. Cancel is checked between build steps; a cancelled or failed import leaves no
folder behind (the importer builds in a hidden folder and renames it into place at the end).
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

from captioner.errors import CaptionerError
from captioner.nemo_import.importer import ImportCancelledError, ImportProgress, import_nemo


class _ImportWorker(QObject):
    progress = Signal(int, int, str)
    succeeded = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, source: Path, target: Path, stop: threading.Event) -> None:
        super().__init__()
        self._source, self._target, self._stop = source, target, stop

    def run(self) -> None:
        def report(p: ImportProgress) -> None:
            self.progress.emit(p.step, p.steps, p.stage)

        try:
            import_nemo(self._source, self._target, progress=report, cancelled=self._stop.is_set)
        except ImportCancelledError:
            self.cancelled.emit()
        except CaptionerError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit(f"{self._source.name} needs more memory than is free to import; close other "
                             "programs and try again.")
        except OSError as exc:
            self.failed.emit(f"Writing the model to {self._target.parent} failed ({exc.strerror or exc}); "
                             "free some disk space or choose another location, then try again.")
        except Exception as exc:  # a bug: still say so in the dialog rather than losing the thread
            self.failed.emit(f"The import failed unexpectedly ({type(exc).__name__}: {exc}).")
        else:
            self.succeeded.emit(str(self._target))


class NemoImportJob(QObject):
    """One import at a time: ``start(source, target)``, then ``progress``… and one of the three endings."""

    progress = Signal(int, int, str)
    succeeded = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _ImportWorker | None = None
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def start(self, source: Path, target: Path) -> None:
        if self.running:
            raise RuntimeError("an import is already running")
        self._stop = threading.Event()
        thread = QThread(self)
        worker = _ImportWorker(source, target, self._stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        for ending, own in ((worker.succeeded, self.succeeded), (worker.failed, self.failed)):
            ending.connect(own)
            ending.connect(thread.quit)
        worker.cancelled.connect(self.cancelled)
        worker.cancelled.connect(thread.quit)
        # The worker is dropped (and deleted by Python) once its thread has finished; a deleteLater as well would
        # delete it twice.
        thread.finished.connect(self._drop_worker)
        self._thread, self._worker = thread, worker
        thread.start()

    def _drop_worker(self) -> None:
        self._worker = None

    def cancel(self) -> None:
        self._stop.set()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        """Block until the import thread has ended (for shutdown and tests)."""
        return self._thread is None or self._thread.wait(timeout_ms)
