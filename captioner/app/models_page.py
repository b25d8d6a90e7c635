"""Settings → Models: what is installed, what can be downloaded, and the download itself.

The download (and the import that follows it) runs on a worker thread through the engine's
``model_manager.store.install``; the page only shows its progress — bytes, speed, time left — and offers
Cancel. The licence is shown with a link and must be ticked before the Download button enables. When the
model is ready, "Use this model" hands its folder to the Model tab, which checks it as for any folder.
"""

# ruff: noqa: N815

from __future__ import annotations

import html
import shutil
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from captioner.errors import CaptionerError
from captioner.live.model_loading import live_default_lookahead
from captioner.model_manager.catalogue import Catalogue, CatalogueEntry, load_catalogue
from captioner.model_manager.download import DownloadCancelledError, DownloadProgress
from captioner.model_manager.speed_check import (
    AS_INSTALLED,
    CheckCancelledError,
    SpeedResult,
    best,
    check_schemes,
    keep,
    work_dir,
)
from captioner.model_manager.store import InstalledModel, install, installed_models, megabytes, remove_model
from captioner.nemo_import.importer import ImportCancelledError, ImportProgress


def progress_text(p: DownloadProgress) -> str:
    """"123 of 460 MB · 4.2 MB/s · 1 min 28 s left"."""
    total = f" of {p.total / 1e6:,.0f}" if p.total else ""
    parts = [f"{p.done / 1e6:,.0f}{total} MB", f"{p.bytes_per_s / 1e6:,.1f} MB/s"]
    if p.eta_s is not None:
        minutes, seconds = divmod(round(p.eta_s), 60)
        parts.append(f"{minutes} min {seconds} s left" if minutes else f"{seconds} s left")
    return " · ".join(parts)


class _InstallWorker(QObject):
    downloaded = Signal(object)
    imported = Signal(object)
    succeeded = Signal(str)
    failed = Signal(str)
    cancelled = Signal(str)

    def __init__(self, entry: CatalogueEntry, catalogue: Catalogue, root: Path | None, stop: threading.Event) -> None:
        super().__init__()
        self._entry, self._catalogue, self._root, self._stop = entry, catalogue, root, stop

    def run(self) -> None:
        try:
            folder = install(self._entry, self._catalogue, root=self._root, on_download=self.downloaded.emit,
                             on_import=self.imported.emit, cancelled=self._stop.is_set)
        except (DownloadCancelledError, ImportCancelledError) as exc:
            self.cancelled.emit(str(exc))
        except CaptionerError as exc:
            self.failed.emit(str(exc))
        except OSError as exc:
            self.failed.emit(f"Writing the model failed ({exc.strerror or exc}); free some disk space and try again.")
        except Exception as exc:  # a bug: say so on the page rather than losing the thread
            self.failed.emit(f"The download failed unexpectedly ({type(exc).__name__}: {exc}).")
        else:
            self.succeeded.emit(str(folder))


class _SpeedWorker(QObject):
    """Measures one installed model and its quantised copies in a thread of its own (seconds to minutes)."""

    measured = Signal(object)  # SpeedResult
    failed = Signal(str)
    finished = Signal()

    def __init__(self, folder: Path, lookahead_ms: int, workdir: Path, stop: threading.Event) -> None:
        super().__init__()
        self._folder, self._lookahead, self._workdir, self._stop = folder, lookahead_ms, workdir, stop

    def run(self) -> None:
        try:
            for result in check_schemes(self._folder, self._lookahead, self._workdir, cancelled=self._stop.is_set):
                self.measured.emit(result)
        except CheckCancelledError:
            pass
        except CaptionerError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: say so on the page rather than losing the thread
            self.failed.emit(f"The speed check failed unexpectedly ({type(exc).__name__}: {exc}).")
        finally:
            self.finished.emit()


class ModelsPage(QWidget):
    """``useRequested(folder)`` asks the dialog to make a model folder the active one."""

    useRequested = Signal(str)
    installFinished = Signal(str)
    speedCheckFinished = Signal()
    """Emitted with "" on failure or cancel, with the folder on success (for tests and the dialog)."""

    def __init__(self, active_path: str, root: Path | None = None, catalogue: Catalogue | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._root = root
        self._active = active_path
        self.catalogue = catalogue or load_catalogue()
        self._thread: QThread | None = None
        self._stop = threading.Event()
        self._installed_folder: str | None = None
        self._result = ""
        self._speed_thread: QThread | None = None
        self._speed_worker: _SpeedWorker | None = None
        self._worker: _InstallWorker | None = None
        self._speed_stop = threading.Event()
        self._speed_results: list[SpeedResult] = []
        self._speed_model: InstalledModel | None = None

        layout = QVBoxLayout(self)
        installed_box = QGroupBox("Installed models", self)
        box = QVBoxLayout(installed_box)
        self.installed = QTreeWidget(installed_box)
        self.installed.setAccessibleName("Installed models")
        self.installed.setHeaderLabels(["Model", "Size", "Kind", "Languages"])
        self.installed.setRootIsDecorated(False)
        self.installed.currentItemChanged.connect(lambda *_: self._update_buttons())
        box.addWidget(self.installed)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use this model", installed_box)
        self.use_button.clicked.connect(self._use_selected)
        self.remove_button = QPushButton("Remove", installed_box)
        self.remove_button.clicked.connect(self._remove_selected)
        self.speed_button = QPushButton("Check speed on this computer", installed_box)
        self.speed_button.setToolTip("Streams a few seconds of test audio through the selected model, and through "
                                     "smaller quantised copies of it, to see which keep up with live speech here")
        self.speed_button.clicked.connect(self.check_speed)
        row.addWidget(self.use_button)
        row.addWidget(self.remove_button)
        row.addWidget(self.speed_button)
        row.addStretch(1)
        box.addLayout(row)
        self.speed_report = QLabel(installed_box)
        self.speed_report.setWordWrap(True)
        self.speed_report.setAccessibleName("Speed check results")
        self.speed_report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.speed_report)
        self.keep_button = QPushButton(installed_box)
        self.keep_button.clicked.connect(self._keep_recommended)
        box.addWidget(self.keep_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.keep_button.hide()
        layout.addWidget(installed_box, 1)

        download_box = QGroupBox("Download a model", self)
        box = QVBoxLayout(download_box)
        self.choice = QComboBox(download_box)
        self.choice.setAccessibleName("Model to download")
        for entry in self.catalogue.offered():
            self.choice.addItem(f"{entry.display_name} ({megabytes(entry.download_bytes)})", entry.id)
        self.choice.currentIndexChanged.connect(lambda _: self._describe())
        box.addWidget(self.choice)
        self.description = QLabel(download_box)
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.RichText)
        self.description.setOpenExternalLinks(True)
        box.addWidget(self.description)
        self.accept_licence = QCheckBox(download_box)
        self.accept_licence.toggled.connect(lambda _: self._update_buttons())
        box.addWidget(self.accept_licence)
        row = QHBoxLayout()
        self.download_button = QPushButton("Download", download_box)
        self.download_button.clicked.connect(self.start_download)
        self.progress = QProgressBar(download_box)
        self.progress.setAccessibleName("Download progress")
        self.cancel_button = QPushButton("Cancel", download_box)
        self.cancel_button.clicked.connect(lambda: self._stop.set())
        row.addWidget(self.download_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        box.addLayout(row)
        self.status = QLabel(download_box)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Download status")
        box.addWidget(self.status)
        self.use_new = QPushButton("Use the new model", download_box)
        self.use_new.clicked.connect(lambda: self.useRequested.emit(self._installed_folder or ""))
        box.addWidget(self.use_new, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(download_box)
        self.progress.hide()
        self.cancel_button.hide()
        self.use_new.hide()
        self.refresh()
        self._describe()

    # -- installed ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.installed.clear()
        for model in installed_models(self._root):
            self.installed.addTopLevelItem(self._item(model))
        for column in range(self.installed.columnCount()):
            self.installed.resizeColumnToContents(column)
        self._update_buttons()

    def _item(self, model: InstalledModel) -> QTreeWidgetItem:
        name = model.name + (" (bundled demo)" if model.bundled else "")
        if self._active and Path(self._active).expanduser().resolve() == model.path.resolve():
            name += " — active"
        kind = model.problem or model.family
        languages = f"{len(model.languages)} languages" if len(model.languages) > 3 else ", ".join(model.languages)
        item = QTreeWidgetItem([name, megabytes(model.size_bytes), kind, languages or "—"])
        item.setData(0, Qt.ItemDataRole.UserRole, model)
        item.setToolTip(0, str(model.path))
        return item

    def selected(self) -> InstalledModel | None:
        item = self.installed.currentItem()
        model = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return model if isinstance(model, InstalledModel) else None

    def _update_buttons(self) -> None:
        model = self.selected()
        busy = self._thread is not None or self._speed_thread is not None
        self.speed_button.setEnabled(model is not None and model.problem is None and not busy)
        self.use_button.setEnabled(model is not None and model.problem is None)
        self.remove_button.setEnabled(model is not None and not model.bundled and not busy)
        self.download_button.setEnabled(self.choice.count() > 0 and self.accept_licence.isChecked() and not busy)

    def _use_selected(self) -> None:
        model = self.selected()
        if model is not None:
            self.useRequested.emit(str(model.path))

    def _remove_selected(self) -> None:
        model = self.selected()
        if model is None:
            return
        try:
            remove_model(str(model.path), self._root)
        except (CaptionerError, OSError) as exc:
            self.status.setText(f"Could not remove {model.name}: {exc}")
        else:
            self.status.setText(f"Removed {model.name}.")
        self.refresh()

    # -- downloading -------------------------------------------------------------------------------
    def entry(self) -> CatalogueEntry | None:
        key = self.choice.currentData()
        return next((e for e in self.catalogue.offered() if e.id == key), None)

    def _describe(self) -> None:
        entry = self.entry()
        if entry is None:
            self.description.setText("No downloadable models are listed.")
            self.accept_licence.hide()
            return
        kind = entry.family + (", punctuation and capitals" if entry.cased_punctuated else ", lower case")
        self.description.setText(
            f"<b>{entry.display_name}</b><br>{kind}; {', '.join(entry.languages)}. {entry.needs}<br>"
            f"Download: {megabytes(entry.download_bytes)} from <a href='{entry.page}'>{entry.page}</a>")
        self.accept_licence.setText(f"I accept the {entry.licence_name} licence")
        self.accept_licence.setToolTip(entry.licence_url)
        self.accept_licence.setChecked(False)
        self.accept_licence.show()
        self.description.setText(self.description.text()
                                 + f"<br>Licence: <a href='{entry.licence_url}'>{entry.licence_name}</a>")

    def start_download(self) -> None:
        entry = self.entry()
        if entry is None or not self.accept_licence.isChecked() or self._thread is not None:
            return
        self._stop = threading.Event()
        self._result = ""
        thread = QThread(self)
        worker = _InstallWorker(entry, self.catalogue, self._root, self._stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.downloaded.connect(self._on_download)
        worker.imported.connect(self._on_import)
        worker.succeeded.connect(self._on_success)
        # Bound methods, never lambdas: PySide6 calls a lambda in the emitting (worker) thread, and widgets may
        # only be touched from the GUI thread; a method of this page is queued to it.
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        for ending in (worker.succeeded, worker.failed, worker.cancelled):
            ending.connect(thread.quit)
        # No worker.deleteLater: Qt would delete it in its finished thread while this page's Python reference
        # still owns it (a double delete, a segfault seen when the second download replaced the reference).
        # The reference is dropped once the thread has finished, and Python deletes the worker then.
        thread.finished.connect(self._thread_done)
        self._thread = thread
        self._worker = worker
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.use_new.hide()
        self.status.setText(f"Connecting for {entry.display_name}…")
        self._update_buttons()
        thread.start()

    def _on_download(self, p: DownloadProgress) -> None:
        if p.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * p.done / p.total))
        self.status.setText("Downloading: " + progress_text(p))

    def _on_import(self, p: ImportProgress) -> None:
        self.progress.setRange(0, p.steps)
        self.progress.setValue(p.step)
        self.status.setText(f"Converting for Captioner: {p.stage} ({p.step} of {p.steps})")

    def _on_success(self, folder: str) -> None:
        self._installed_folder = folder
        self._finish(f"Installed in {folder}. The SHA-256 matched the published one.")
        self.use_new.show()
        self.refresh()

    def _on_failed(self, message: str) -> None:
        self._finish(f"Download failed: {message}")

    def _on_cancelled(self, message: str) -> None:
        self._finish(f"Cancelled. {message}")

    def _finish(self, message: str) -> None:
        self.status.setText(message)
        self.progress.hide()
        self.cancel_button.hide()
        self._result = self._installed_folder or "" if message.startswith("Installed") else ""

    def _thread_done(self) -> None:
        self._thread = None
        self._worker = None
        self._update_buttons()
        self.installFinished.emit(self._result)

    def cancel_and_wait(self, timeout_ms: int = 60_000) -> None:
        """Stop a running download (it resumes next time) or speed check and wait for its thread: for closing
        the dialog. Trial copies nobody kept are deleted."""
        for thread, stop in ((self._thread, self._stop), (self._speed_thread, self._speed_stop)):
            if thread is not None:
                stop.set()
                thread.wait(timeout_ms)
        self._discard_trials()

    # -- speed check -------------------------------------------------------------------------------
    def check_speed(self) -> None:
        """Measure the selected model at the app's live lookahead, and its quantised copies, in a thread."""
        model = self.selected()
        if model is None or model.problem is not None or self._speed_thread is not None or self._thread is not None:
            return
        self._discard_trials()
        self._speed_model = model
        self._speed_results = []
        lookahead = live_default_lookahead(model.lookaheads_ms)
        self._speed_stop = threading.Event()
        thread = QThread(self)
        worker = _SpeedWorker(model.path, lookahead, work_dir(self._root), self._speed_stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.measured.connect(self._on_measured)  # bound methods: queued to the GUI thread
        worker.failed.connect(self._on_speed_failed)
        worker.finished.connect(thread.quit)
        thread.finished.connect(self._speed_done)  # which drops the worker (see start_download)
        self._speed_thread, self._speed_worker = thread, worker
        self.keep_button.hide()
        self.speed_report.setText(f"Checking {model.name} at {lookahead} ms lookahead…")
        self._update_buttons()
        thread.start()

    def _on_measured(self, result: SpeedResult) -> None:
        self._speed_results.append(result)
        self._show_speed(final=False)

    def _on_speed_failed(self, message: str) -> None:
        self.speed_report.setText(self.speed_report.text() + f"<br>The check stopped: {html.escape(message)}")

    def _speed_done(self) -> None:
        self._speed_thread = None
        self._speed_worker = None
        self._show_speed(final=True)
        self._update_buttons()
        self.speedCheckFinished.emit()

    def _show_speed(self, final: bool) -> None:
        lines = [html.escape(f"{r.describe()}, {megabytes(r.size_bytes)}") for r in self._speed_results]
        recommended = best(self._speed_results) if final else None
        if final and self._speed_results:
            if recommended is None:
                lines.append("<b>None of them keeps up with live speech on this computer.</b> Choose a smaller "
                             "model, or a longer lookahead in Settings → Model.")
            elif recommended.scheme == AS_INSTALLED:
                lines.append("<b>The model as installed keeps up here: nothing to change.</b>")
            else:
                lines.append(f"<b>Recommended here: the {recommended.scheme} copy</b> (weights quantised: a little "
                             "less accurate, much faster).")
        self.speed_report.setText("<br>".join(lines))
        offer = recommended is not None and recommended.scheme != AS_INSTALLED
        self.keep_button.setText(f"Keep the {recommended.scheme} copy and use it" if offer and recommended
                                 else "")
        self.keep_button.setVisible(offer)

    def _keep_recommended(self) -> None:
        recommended = best(self._speed_results)
        model = self._speed_model
        if recommended is None or model is None or recommended.scheme == AS_INSTALLED:
            return
        try:
            folder = keep(recommended, model.path.name, self._root)
        except OSError as exc:
            self.speed_report.setText(f"Could not keep the copy: {exc.strerror or exc}")
            return
        self._speed_results = [r for r in self._speed_results if r is not recommended]
        self._discard_trials()
        self.keep_button.hide()
        self.refresh()
        self.useRequested.emit(str(folder))

    def _discard_trials(self) -> None:
        for result in self._speed_results:
            if result.scheme != AS_INSTALLED:
                shutil.rmtree(result.folder, ignore_errors=True)
        self._speed_results = []
