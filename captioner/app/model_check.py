"""Running the engine's ``inspect_model_folder`` off the GUI thread (it opens and probes every graph)."""


from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from captioner.asr.model_report import InspectReport, inspect_model_folder


class ModelChecker(QObject):
    """``check(path)`` → ``checked(path, report)`` later; callers ignore answers for stale paths."""

    checked = Signal(str, InspectReport)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = _check_pool()

    def check(self, path: str) -> None:
        # The answer travels through a parentless relay: if the dialog (and this checker) is closed while
        # the job runs, Qt drops the relay's connection instead of the job emitting on a deleted object.
        relay = _Relay()
        relay.done.connect(self.checked)
        self._pool.start(_Job(path, relay))

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._pool.waitForDone(timeout_ms)


@functools.cache
def _check_pool() -> QThreadPool:
    """One thread for all model checks, owned by no dialog: closing Settings never waits for an inspection
    (a pool owned by the dialog would block the GUI until the running check finished)."""
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    return pool


class _Relay(QObject):
    done = Signal(str, InspectReport)


class _Job(QRunnable):
    def __init__(self, path: str, relay: _Relay) -> None:
        super().__init__()
        self._path = path
        self._relay = relay

    def run(self) -> None:
        try:
            report = inspect_model_folder(Path(self._path).expanduser())
        except Exception as exc:  # inspect reports problems itself; this is a last resort
            report = InspectReport(Path(self._path), False,
                                   f"{self._path} could not be checked: {type(exc).__name__}: {exc}")
        try:
            self._relay.done.emit(self._path, report)
            self._relay.deleteLater()  # in the GUI thread, after the queued answer
        except RuntimeError:
            pass  # the application is shutting down and took the relay with it: nobody waits for this answer
