"""Settings → Model: the model folder (checked live with the engine's own verdict), importing a .nemo,
lookahead, decoder, language and execution provider.

An unusable folder is never applied: ``apply`` leaves the model settings as they were, so the running model
stays active. The page says when OK must wait (``readyChanged``): between an edit of the folder and its verdict.
"""

# ruff: noqa: N815

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from captioner.app.model_check import ModelChecker
from captioner.app.model_import import NemoImportJob
from captioner.app.qt_util import timer
from captioner.app.settings import AppSettings
from captioner.app.settings_pages.widgets import HINT_STYLE, FittingLabel
from captioner.asr.choices import Decoder, Provider
from captioner.asr.model_report import InspectReport
from captioner.live.model_loading import ModelInfo, live_default_lookahead
from captioner.model_manager.store import free_folder_name
from captioner.paths import user_models_dir

PROVIDER_LABELS = {Provider.AUTO: "Automatic (CUDA when available)", Provider.CUDA: "CUDA (NVIDIA GPU)",
                   Provider.CPU: "CPU"}
VERDICT_COLOURS = {True: ("#ecfdf5", "#065f46", "#10b981"), False: ("#fef2f2", "#7f1d1d", "#ef4444"),
                   None: ("#f8fafc", "#334155", "#cbd5e1")}
"""Background, text and border of the verdict: usable, unusable, not known yet."""


class ModelPage(QWidget):
    """Built from the settings and the model running now (``None``: none loaded)."""

    readyChanged = Signal(bool)
    """Whether OK may apply this page now: its folder has a verdict, or needs none."""
    imported = Signal(str)
    """A .nemo was imported into this new folder."""

    def __init__(self, settings: AppSettings, model: ModelInfo | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._model = model
        self._report: InspectReport | None = None
        self._checked_path: str | None = None
        self._ready = True
        self._checker = ModelChecker(self)
        self._checker.checked.connect(self._on_checked)
        self.importer = NemoImportJob(self)
        self.importer.progress.connect(self._import_progress)
        self.importer.succeeded.connect(self._import_succeeded)
        self.importer.failed.connect(self._import_failed)
        self.importer.cancelled.connect(self._import_cancelled)
        self._debounce = timer(self, 350, self.check_now)

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.folder = QLineEdit(settings.model_dir, self)
        self.folder.setAccessibleName("Model folder")
        self.folder.setPlaceholderText("A folder written by `captioner export`")
        self.folder.textChanged.connect(self._folder_edited)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.import_button = QPushButton("Import a .nemo file…", self)
        self.import_button.setToolTip("Convert a NeMo checkpoint (such as NVIDIA's streaming FastConformer or "
                                      "Nemotron Speech models) into a model folder; no NeMo or PyTorch needed.")
        self.import_button.clicked.connect(self._choose_nemo)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        row.addWidget(self.import_button)
        form.addRow("Model folder", row)

        self.import_status = FittingLabel(self)
        self.import_bar = QProgressBar(self)
        self.import_bar.setAccessibleName("Import progress")
        self.import_cancel = QPushButton("Cancel import", self)
        self.import_cancel.clicked.connect(self.importer.cancel)
        self.import_row = QWidget(self)
        import_layout = QHBoxLayout(self.import_row)
        import_layout.setContentsMargins(0, 0, 0, 0)
        import_layout.addWidget(self.import_bar, 1)
        import_layout.addWidget(self.import_cancel)
        form.addRow("", self.import_status)
        form.addRow("", self.import_row)
        self.import_status.hide()
        self.import_row.hide()

        self.verdict = FittingLabel(self)
        self.verdict.setObjectName("ModelVerdict")
        self.verdict.setAccessibleName("Model check result")
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.setMinimumHeight(56)
        self.verdict.setFrameShape(QFrame.Shape.StyledPanel)
        self.verdict.setMargin(8)
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        form.addRow("", self.verdict)
        self.keep_note = FittingLabel(self)
        self.keep_note.setStyleSheet(HINT_STYLE)
        form.addRow("", self.keep_note)

        self.lookahead = QComboBox(self)
        self.lookahead.setToolTip("How much future audio the model waits for before finalising words: "
                                  "more lookahead, more accurate but later captions.")
        form.addRow("Lookahead", self.lookahead)
        self.decoder = QComboBox(self)
        self.decoder.addItem("RNNT (transducer; usually more accurate)", Decoder.RNNT.value)
        self.decoder.addItem("CTC (faster)", Decoder.CTC.value)
        self.decoder.setCurrentIndex(max(0, self.decoder.findData(settings.decoder.value)))
        form.addRow("Decoder", self.decoder)
        self.language = QComboBox(self)
        self.language.setToolTip("The language this multilingual model transcribes; automatic lets it detect "
                                 "the language itself.")
        self.language_label = QLabel("Language", self)
        form.addRow(self.language_label, self.language)
        self.provider = QComboBox(self)
        for key, label in PROVIDER_LABELS.items():
            self.provider.addItem(label, key.value)
        self.provider.setCurrentIndex(max(0, self.provider.findData(settings.provider.value)))
        form.addRow("Execution provider", self.provider)
        active = model.provider if model else "no model loaded"
        self.active_provider = QLabel(f"Active now: {active}", self)
        self.active_provider.setStyleSheet(HINT_STYLE)
        form.addRow("", self.active_provider)
        self._fill_model_choices(model.lookaheads_ms if model else (), model.decoders if model else ())
        self._fill_languages(model.languages if model else (), model.language if model else None)
        self.check_now()

    # -- state the dialog reads ------------------------------------------------------------------------
    @property
    def report(self) -> InspectReport | None:
        """The verdict on the folder checked last (``None`` while a check runs)."""
        return self._report

    @property
    def checked_path(self) -> str | None:
        """The folder ``report`` is about."""
        return self._checked_path

    def is_ready(self) -> bool:
        return self._ready

    def model_usable(self) -> bool:
        path = self.folder.text().strip()
        if self._report is None and self._is_running_model(path):
            return True  # the check is still running, but this model is loaded and captioning already
        return self._report is not None and self._report.usable and self._checked_path == path

    def apply(self, settings: AppSettings) -> None:
        """The model part of ``settings`` becomes the page's, only if its folder passed inspection."""
        if not self.model_usable():
            return
        settings.model_dir = self.folder.text().strip()
        chosen = self.lookahead.currentData()
        shown = tuple(self.lookahead.itemData(i) for i in range(self.lookahead.count()))
        # Left at the live default: keep "default" (None), so OK without changes reloads nothing and the
        # default follows the model when the folder changes later.
        at_default = bool(shown) and chosen == live_default_lookahead(shown)
        settings.lookahead_ms = None if self._settings.lookahead_ms is None and at_default else chosen
        settings.decoder = Decoder(str(self.decoder.currentData()))
        settings.provider = Provider(str(self.provider.currentData()))
        settings.language = str(self.language.currentData() or "") if self.language.count() else ""

    def use_folder(self, folder: str) -> None:
        """Check ``folder`` here (the Models page's "Use"); OK then makes it the active model."""
        if folder:
            self.folder.setText(folder)

    def shutdown(self) -> None:
        """Stop what still runs when the dialog closes: a pending check and an import (waited for)."""
        self._debounce.stop()
        if self.importer.running:
            self.importer.cancel()
            self.importer.wait()

    # -- checking the folder ---------------------------------------------------------------------------
    def _set_ready(self, ready: bool) -> None:
        if ready != self._ready:
            self._ready = ready
            self.readyChanged.emit(ready)

    def _folder_edited(self) -> None:
        self._set_ready(False)  # until the verdict
        self._report = None
        self._debounce.start()

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose a model folder", self.folder.text() or "")
        if chosen:
            self.folder.setText(chosen)

    def check_now(self) -> None:
        path = self.folder.text().strip()
        self._report = None
        self._checked_path = None
        if not path:
            self.show_verdict(None, "Choose a model folder (one written by `captioner export`).")
            self._set_ready(True)
            return
        self.show_verdict(None, "Checking the model folder…")
        # The model running now needs no verdict to stay: OK (for the other settings) is available at once.
        self._set_ready(self._is_running_model(path))
        self._checker.check(path)

    def _is_running_model(self, path: str) -> bool:
        return self._model is not None and bool(path) and \
            Path(path).expanduser().resolve() == Path(self._model.path).expanduser().resolve()

    def _on_checked(self, path: str, report: InspectReport) -> None:
        if path != self.folder.text().strip():
            return  # the user has typed on since
        self._report, self._checked_path = report, path
        self.show_verdict(report.usable, report.message)
        if report.usable and report.spec is not None:
            self._fill_model_choices(tuple(report.spec.lookaheads_ms()), tuple(report.spec.decoders()))
            prompt = report.spec.prompt
            self._fill_languages(tuple(sorted(prompt.dictionary)) if prompt else (),
                                 prompt.default if prompt else None)
        self._set_ready(True)

    def show_verdict(self, usable: bool | None, message: str) -> None:
        """The verdict paragraph as the engine wrote it, coloured by whether the folder can be used."""
        bg, fg, border = VERDICT_COLOURS[usable]
        self.verdict.setStyleSheet(f"QLabel#ModelVerdict {{ background: {bg}; color: {fg}; "
                                   f"border: 1px solid {border}; border-radius: 6px; }}")
        self.verdict.setText(message)
        if usable is False:
            current = self._model.name if self._model else "no model"
            self.keep_note.setText(f"This folder will not be used; the current model ({current}) stays active.")
        else:
            self.keep_note.setText("")
        self.keep_note.setVisible(bool(self.keep_note.text()))

    def _fill_model_choices(self, lookaheads: tuple[int, ...], decoders: tuple[str, ...]) -> None:
        wanted = self.lookahead.currentData() if self.lookahead.count() else self._settings.lookahead_ms
        self.lookahead.clear()
        live = live_default_lookahead(lookaheads) if lookaheads else None
        for ms in lookaheads:
            self.lookahead.addItem(f"{ms} ms" + ("  (default for live captions)" if ms == live else ""), ms)
        index = self.lookahead.findData(wanted)
        self.lookahead.setCurrentIndex(index if index >= 0 else max(0, self.lookahead.findData(live)))
        self.lookahead.setEnabled(len(lookaheads) > 1)
        model = self.decoder.model()
        for i in range(self.decoder.count()):
            item = model.item(i)  # type: ignore[attr-defined]
            item.setEnabled(not decoders or self.decoder.itemData(i) in decoders)
        if decoders and self.decoder.currentData() not in decoders:
            self.decoder.setCurrentIndex(self.decoder.findData(decoders[0]))

    def _fill_languages(self, languages: tuple[str, ...], default: str | None) -> None:
        wanted = self.language.currentData() if self.language.count() else self._settings.language
        self.language.clear()
        for locale in languages:
            self.language.addItem(locale + ("  (default)" if locale == default else ""), locale)
        index = self.language.findData(wanted)
        self.language.setCurrentIndex(index if index >= 0 else max(0, self.language.findData(default)))
        self.language.setVisible(bool(languages))
        self.language_label.setVisible(bool(languages))

    # -- importing a .nemo -----------------------------------------------------------------------------
    def _choose_nemo(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Import a NeMo model", "", "NeMo models (*.nemo)")
        if chosen:
            self.start_import(Path(chosen))

    def start_import(self, source: Path, target_parent: Path | None = None) -> Path:
        """Import ``source`` into a new folder under the app's models folder; returns that folder."""
        target = free_folder_name(target_parent or user_models_dir(), source.stem)
        self.import_button.setEnabled(False)
        self.import_bar.setRange(0, 0)
        self.import_status.setText(f"Importing {source.name}…")
        self.import_status.show()
        self.import_row.show()
        self.importer.start(source, target)
        return target

    def _import_progress(self, step: int, steps: int, stage: str) -> None:
        self.import_bar.setRange(0, steps)
        self.import_bar.setValue(step)
        self.import_status.setText(f"{stage}… ({step} of {steps})")

    def _import_finished(self, message: str) -> None:
        self.import_button.setEnabled(True)
        self.import_row.hide()
        self.import_status.setText(message)

    def _import_succeeded(self, folder: str) -> None:
        self._import_finished(f"Imported into {folder}. Checking it now; press OK to use it.")
        self.folder.setText(folder)
        self.imported.emit(folder)

    def _import_failed(self, message: str) -> None:
        self._import_finished(f"Import failed: {message}")

    def _import_cancelled(self) -> None:
        self._import_finished("Import cancelled; nothing was written.")
