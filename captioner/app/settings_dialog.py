"""The settings dialog: model (validated live), audio source, and overlay appearance.

The model folder is checked with the engine's own inspect verdict as the user types; the verdict
paragraph is shown as is. An unusable folder is never applied: the running model stays active.
Overlay changes preview live on the real overlay and are reverted on Cancel.
"""

# ruff: noqa: N815

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFontComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from captioner.app.caption_page_host import DEFAULT_PORT, new_token, page_url
from captioner.app.model_check import ModelChecker
from captioner.app.model_import import NemoImportJob
from captioner.app.models_page import ModelsPage
from captioner.app.platform_notes import overlay_limitations
from captioner.app.qt_util import timer
from captioner.app.settings import AppSettings, EchoHandling, OverlayStyle
from captioner.app.words_page import WordsPage
from captioner.asr.model_report import InspectReport
from captioner.audio.devices import SourceInfo, is_system_audio
from captioner.live.model_loading import ModelInfo, live_default_lookahead
from captioner.model_manager.store import free_folder_name
from captioner.paths import user_models_dir
from captioner.text_rules import RulesFormatError, format_rules, parse_rules

PROVIDER_LABELS = {"auto": "Automatic (CUDA when available)", "cuda": "CUDA (NVIDIA GPU)", "cpu": "CPU"}


class ColorButton(QPushButton):
    """A swatch button that opens a colour picker."""

    changed = Signal(str)

    def __init__(self, colour: str, parent: QWidget | None = None, name: str = "Colour") -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setFixedSize(44, 24)
        self.clicked.connect(self._pick)
        self.set_color(colour)

    def color(self) -> str:
        return self._colour

    def set_color(self, colour: str) -> None:
        self._colour = QColor(colour).name()
        self.setStyleSheet(f"QPushButton {{ background: {self._colour}; border: 1px solid #94a3b8;"
                           " border-radius: 4px; }")
        self.setToolTip(self._colour)
        self.setAccessibleDescription(f"{self._colour}; press to choose another")

    def _pick(self) -> None:
        chosen = QColorDialog.getColor(QColor(self._colour), self, "Choose a colour")
        if chosen.isValid():
            self.set_color(chosen.name())
            self.changed.emit(self._colour)


class SettingsDialog(QDialog):
    """Edits a copy of the settings; read ``result_settings()`` after ``accept``."""

    overlayPreview = Signal(OverlayStyle)

    def __init__(self, settings: AppSettings, sources: list[SourceInfo], model: ModelInfo | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Captioner Settings")
        self.setObjectName("SettingsDialog")
        self.setMinimumWidth(620)
        self._original = settings
        self._settings = copy.deepcopy(settings)
        self._model = model
        self._report: InspectReport | None = None
        self._checked_path: str | None = None
        self._checker = ModelChecker(self)
        self._checker.checked.connect(self._on_checked)
        self.importer = NemoImportJob(self)
        self.importer.progress.connect(self._import_progress)
        self.importer.succeeded.connect(self._import_succeeded)
        self.importer.failed.connect(self._import_failed)
        self.importer.cancelled.connect(self._import_cancelled)
        self._debounce = timer(self, 350, self._check_now)

        tabs = QTabWidget(self)
        tabs.addTab(self._model_tab(), "Model")
        active = self._settings.model_dir or (self._model.path if self._model else "")
        self.models_page = ModelsPage(active, parent=self)
        self.models_page.useRequested.connect(self._use_model_folder)
        tabs.addTab(self.models_page, "Models")
        tabs.addTab(self._audio_tab(sources), "Audio")
        tabs.addTab(self._overlay_tab(), "Overlay")
        self.words_page = WordsPage(self)
        try:
            rules = parse_rules(self._settings.word_rules)
        except RulesFormatError:
            rules = ()  # the app has said so at start; the page starts from what it can read
        self.words_page.load(rules, self._settings.mask_profanity)
        tabs.addTab(self.words_page, "Words")
        tabs.addTab(self._caption_page_tab(), "Caption page")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(self.buttons)
        self.tabs = tabs
        self._check_now()

    # -- model -------------------------------------------------------------------------------------
    def _model_tab(self) -> QWidget:
        w = QWidget(self)
        form = QFormLayout(w)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.folder = QLineEdit(self._settings.model_dir, w)
        self.folder.setAccessibleName("Model folder")
        self.folder.setPlaceholderText("A folder written by `captioner export`")
        self.folder.textChanged.connect(self._folder_edited)
        browse = QPushButton("Browse…", w)
        browse.clicked.connect(self._browse)
        self.import_button = QPushButton("Import a .nemo file…", w)
        self.import_button.setToolTip("Convert a NeMo checkpoint (such as NVIDIA's streaming FastConformer or "
                                      "Nemotron Speech models) into a model folder; no NeMo or PyTorch needed.")
        self.import_button.clicked.connect(self._choose_nemo)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        row.addWidget(self.import_button)
        form.addRow("Model folder", row)

        self.import_status = QLabel(w)
        self.import_status.setWordWrap(True)
        self.import_bar = QProgressBar(w)
        self.import_bar.setAccessibleName("Import progress")
        self.import_cancel = QPushButton("Cancel import", w)
        self.import_cancel.clicked.connect(self.importer.cancel)
        self.import_row = QWidget(w)
        import_layout = QHBoxLayout(self.import_row)
        import_layout.setContentsMargins(0, 0, 0, 0)
        import_layout.addWidget(self.import_bar, 1)
        import_layout.addWidget(self.import_cancel)
        form.addRow("", self.import_status)
        form.addRow("", self.import_row)
        self.import_status.hide()
        self.import_row.hide()

        self.verdict = QLabel(w)
        self.verdict.setObjectName("ModelVerdict")
        self.verdict.setAccessibleName("Model check result")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.setMinimumHeight(56)
        self.verdict.setFrameShape(QFrame.Shape.StyledPanel)
        self.verdict.setMargin(8)
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        form.addRow("", self.verdict)
        self.keep_note = QLabel(w)
        self.keep_note.setWordWrap(True)
        self.keep_note.setStyleSheet("color: #64748b;")
        form.addRow("", self.keep_note)

        self.lookahead = QComboBox(w)
        self.lookahead.setToolTip("How much future audio the model waits for before finalising words: "
                                  "more lookahead, more accurate but later captions.")
        form.addRow("Lookahead", self.lookahead)
        self.decoder = QComboBox(w)
        self.decoder.addItem("RNNT (transducer; usually more accurate)", "rnnt")
        self.decoder.addItem("CTC (faster)", "ctc")
        self.decoder.setCurrentIndex(max(0, self.decoder.findData(self._settings.decoder)))
        form.addRow("Decoder", self.decoder)
        self.language = QComboBox(w)
        self.language.setToolTip("The language this multilingual model transcribes; automatic lets it detect "
                                 "the language itself.")
        self.language_label = QLabel("Language", w)
        form.addRow(self.language_label, self.language)
        self.provider = QComboBox(w)
        for key, label in PROVIDER_LABELS.items():
            self.provider.addItem(label, key)
        self.provider.setCurrentIndex(max(0, self.provider.findData(self._settings.provider)))
        form.addRow("Execution provider", self.provider)
        active = self._model.provider if self._model else "no model loaded"
        self.active_provider = QLabel(f"Active now: {active}", w)
        self.active_provider.setStyleSheet("color: #64748b;")
        form.addRow("", self.active_provider)
        self._fill_model_choices(self._model.lookaheads_ms if self._model else (),
                                 self._model.decoders if self._model else ())
        self._fill_languages(self._model.languages if self._model else (),
                             self._model.language if self._model else None)
        return w

    def _fill_languages(self, languages: tuple[str, ...], default: str | None) -> None:
        wanted = self.language.currentData() if self.language.count() else self._settings.language
        self.language.clear()
        for locale in languages:
            self.language.addItem(locale + ("  (default)" if locale == default else ""), locale)
        index = self.language.findData(wanted)
        self.language.setCurrentIndex(index if index >= 0 else max(0, self.language.findData(default)))
        self.language.setVisible(bool(languages))
        self.language_label.setVisible(bool(languages))

    def _use_model_folder(self, folder: str) -> None:
        """From the Models page: check this folder on the Model tab; OK then makes it the active model."""
        if folder:
            self.folder.setText(folder)
            self.tabs.setCurrentIndex(0)

    # -- importing a .nemo ---------------------------------------------------------------------------
    def _choose_nemo(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Import a NeMo model", "", "NeMo models (*.nemo)")
        if chosen:
            self.start_import(Path(chosen))

    def start_import(self, source: Path, target_parent: Path | None = None) -> Path:
        """Import ``source`` into a new folder under the app's models folder; returns that folder."""
        parent = target_parent or user_models_dir()
        target = free_folder_name(parent, source.stem)
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
        self.models_page.refresh()

    def _import_failed(self, message: str) -> None:
        self._import_finished(f"Import failed: {message}")

    def _import_cancelled(self) -> None:
        self._import_finished("Import cancelled; nothing was written.")

    def _folder_edited(self) -> None:
        if not hasattr(self, "buttons"):
            return
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)  # until the verdict
        self._report = None
        self._debounce.start()

    def _browse(self) -> None:
        start = self.folder.text() or ""
        chosen = QFileDialog.getExistingDirectory(self, "Choose a model folder", start)
        if chosen:
            self.folder.setText(chosen)

    def _check_now(self) -> None:
        path = self.folder.text().strip()
        self._report = None
        self._checked_path = None
        if not path:
            self._show_verdict(None, "Choose a model folder (one written by `captioner export`).")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            return
        self._show_verdict(None, "Checking the model folder…")
        # The model running now needs no verdict to stay: OK (for the other settings) is available at once.
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self._is_running_model(path))
        self._checker.check(path)

    def _is_running_model(self, path: str) -> bool:
        return self._model is not None and bool(path) and \
            Path(path).expanduser().resolve() == Path(self._model.path).expanduser().resolve()

    def _on_checked(self, path: str, report: InspectReport) -> None:
        if path != self.folder.text().strip():
            return  # the user has typed on since
        self._report, self._checked_path = report, path
        self._show_verdict(report.usable, report.message)
        if report.usable and report.spec is not None:
            self._fill_model_choices(tuple(report.spec.lookaheads_ms()), tuple(report.spec.decoders()))
            prompt = report.spec.prompt
            self._fill_languages(tuple(sorted(prompt.dictionary)) if prompt else (),
                                 prompt.default if prompt else None)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)

    def _show_verdict(self, usable: bool | None, message: str) -> None:
        colours = {True: ("#ecfdf5", "#065f46", "#10b981"), False: ("#fef2f2", "#7f1d1d", "#ef4444"),
                   None: ("#f8fafc", "#334155", "#cbd5e1")}
        bg, fg, border = colours[usable]
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

    def model_usable(self) -> bool:
        path = self.folder.text().strip()
        if self._report is None and self._is_running_model(path):
            return True  # the check is still running, but this model is loaded and captioning already
        return self._report is not None and self._report.usable and self._checked_path == path

    # -- audio -------------------------------------------------------------------------------------
    def _audio_tab(self, sources: list[SourceInfo]) -> QWidget:
        w = QWidget(self)
        form = QFormLayout(w)
        self.source = QComboBox(w)
        for s in sources:
            self.source.addItem(s.label, s.key)
        index = self.source.findData(self._settings.source_key)
        if index < 0 and self._settings.source_key:
            self.source.addItem(f"{self._settings.source_key} (not connected)", self._settings.source_key)
            index = self.source.count() - 1
        self.source.setCurrentIndex(max(0, index))
        form.addRow("Audio source", self.source)
        hint = QLabel("“System audio” records what this computer plays, so remote participants are "
                      "captioned too. Devices are captured at their native rate and resampled to 16 kHz.", w)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #64748b;")
        form.addRow("", hint)
        self.second_source = QComboBox(w)
        self.second_source.setAccessibleName("Also caption")
        self.second_source.addItem("Nothing else", "")
        for s in sources:
            if s.kind != "default":
                self.second_source.addItem(s.label, s.key)
        second = self._settings.second_source_key
        index = self.second_source.findData(second) if second else 0
        if index < 0:
            self.second_source.addItem(f"{second} (not connected)", second)
            index = self.second_source.count() - 1
        self.second_source.setCurrentIndex(max(0, index))
        form.addRow("Also caption", self.second_source)
        self.microphone_label = QLineEdit(self._settings.microphone_label, w)
        self.microphone_label.setAccessibleName("Label for the microphone's captions")
        self.system_audio_label = QLineEdit(self._settings.system_audio_label, w)
        self.system_audio_label.setAccessibleName("Label for system audio's captions")
        for edit in (self.microphone_label, self.system_audio_label):
            edit.setMaxLength(24)
        form.addRow("Microphone captions are", self.microphone_label)
        form.addRow("System audio captions are", self.system_audio_label)
        self.keep_echo = QCheckBox("Show words heard on both sources twice", w)
        self.keep_echo.setChecked(self._settings.echo is EchoHandling.KEEP_BOTH)
        form.addRow("Echo", self.keep_echo)
        echo_hint = QLabel("With a microphone and system audio together, the microphone also hears the speakers. "
                           "Captioner shows such words once, as system audio's, unless this is ticked; the "
                           "microphone's own lines then reach the transcript about two seconds later. Headphones "
                           "avoid the echo altogether.", w)
        echo_hint.setWordWrap(True)
        echo_hint.setStyleSheet("color: #64748b;")
        form.addRow("", echo_hint)
        self.autosave = QCheckBox("Autosave every session (append-only, under the user data folder)", w)
        self.autosave.setChecked(self._settings.autosave)
        form.addRow("Transcript", self.autosave)
        return w

    # -- caption page --------------------------------------------------------------------------------
    def _caption_page_tab(self) -> QWidget:
        s = self._settings
        w = QWidget(self)
        form = QFormLayout(w)
        self._page_token = s.caption_page_token or new_token()
        self.page_enabled = QCheckBox("Serve live captions to a browser or OBS on this computer", w)
        self.page_enabled.setChecked(s.caption_page_enabled)
        form.addRow("Caption page", self.page_enabled)
        self.page_port = QSpinBox(w)
        self.page_port.setRange(1024, 65535)
        self.page_port.setValue(s.caption_page_port if 1024 <= s.caption_page_port <= 65535 else DEFAULT_PORT)
        self.page_port.setAccessibleName("Caption page port")
        form.addRow("Port", self.page_port)
        self.page_transparent = QCheckBox("Transparent background (for an OBS browser source)", w)
        self.page_transparent.setChecked(s.caption_page_transparent)
        form.addRow("", self.page_transparent)
        self.page_link = QLineEdit(w)
        self.page_link.setReadOnly(True)
        self.page_link.setAccessibleName("Caption page link")
        copy_btn = QPushButton("Copy link", w)
        copy_btn.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.page_link.text()))
        open_btn = QPushButton("Open", w)
        open_btn.setToolTip("Open the page in your browser (after OK, once the page is on)")
        open_btn.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(self.page_link.text())))
        row = QHBoxLayout()
        row.addWidget(self.page_link, 1)
        row.addWidget(copy_btn)
        row.addWidget(open_btn)
        form.addRow("Link", row)
        hint = QLabel("The page listens on this computer only (127.0.0.1) and answers only links that carry its "
                      "secret token, so nobody else on the network can read it. It uses the overlay's font and "
                      "colours; add /transcript before the “?” for the whole transcript so far.", w)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #64748b;")
        form.addRow("", hint)
        for widget in (self.page_port, self.page_transparent, self.page_link, copy_btn, open_btn):
            self.page_enabled.toggled.connect(widget.setEnabled)
            widget.setEnabled(s.caption_page_enabled)
        self.page_port.valueChanged.connect(lambda _: self._show_page_link())
        self._show_page_link()
        return w

    def _show_page_link(self) -> None:
        self.page_link.setText(page_url(self.page_port.value(), self._page_token))

    # -- overlay -----------------------------------------------------------------------------------
    def _overlay_tab(self) -> QWidget:
        st = self._settings.overlay
        w = QWidget(self)
        form = QFormLayout(w)
        changed = self._emit_preview
        self.lines = _spin(1, 8, st.lines, changed)
        self.lines.setMaximumWidth(80)
        form.addRow("Lines", self.lines)
        self.font_family = QFontComboBox(w)
        if st.font_family:
            self.font_family.setCurrentFont(QFont(st.font_family))
        self.font_family.currentFontChanged.connect(lambda _: changed())
        self.font_size = _spin(10, 96, st.font_size, changed)
        self.font_size.setSuffix(" px")
        self.bold = _check("Bold", st.bold, changed)
        row = QHBoxLayout()
        row.addWidget(self.font_family, 1)
        row.addWidget(self.font_size)
        row.addWidget(self.bold)
        form.addRow("Font", row)
        self.lines.setAccessibleName("Caption lines")
        self.font_size.setAccessibleName("Font size")
        self.font_family.setAccessibleName("Font")
        self.text_color = ColorButton(st.text_color, w, "Text colour")
        self.text_color.changed.connect(lambda _: changed())
        form.addRow("Text colour", self.text_color)
        self.tentative_color = ColorButton(st.tentative_color, w, "Colour of words still being recognised")
        self.tentative_color.changed.connect(lambda _: changed())
        self.tentative_italic = _check("Italic", st.tentative_italic, changed)
        row = QHBoxLayout()
        row.addWidget(self.tentative_color)
        row.addWidget(self.tentative_italic)
        row.addStretch(1)
        form.addRow("Tentative words", row)
        self.bg_color = ColorButton(st.background_color, w, "Background colour")
        self.bg_color.changed.connect(lambda _: changed())
        self.opacity = QSlider(Qt.Orientation.Horizontal, w)
        self.opacity.setAccessibleName("Background opacity")
        self.opacity.setAccessibleDescription("How much of the meeting shows through the caption background")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(st.background_opacity * 100))
        self.opacity_label = QLabel(f"{self.opacity.value()} %", w)
        self.opacity.valueChanged.connect(self._opacity_changed)
        row = QHBoxLayout()
        row.addWidget(self.bg_color)
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)
        form.addRow("Background", row)
        self.outline = _check("Outline", st.outline, changed)
        self.outline_color = ColorButton(st.outline_color, w, "Outline colour")
        self.outline_color.changed.connect(lambda _: changed())
        self.outline_width = QDoubleSpinBox(w)
        self.outline_width.setRange(0.5, 8.0)
        self.outline_width.setSingleStep(0.5)
        self.outline_width.setValue(st.outline_width)
        self.outline_width.setSuffix(" px")
        self.outline_width.setAccessibleName("Outline width")
        self.outline_width.valueChanged.connect(lambda _: changed())
        row = QHBoxLayout()
        row.addWidget(self.outline)
        row.addWidget(self.outline_color)
        row.addWidget(self.outline_width)
        row.addStretch(1)
        form.addRow("Text outline", row)
        tip = QLabel("Changes preview on the overlay right away; Cancel puts them back.", w)
        tip.setStyleSheet("color: #64748b;")
        form.addRow("", tip)
        note = overlay_limitations()
        if note:
            label = QLabel(note, w)
            label.setWordWrap(True)
            label.setStyleSheet("color: #b45309;")
            form.addRow("", label)
        return w

    def _opacity_changed(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        self._emit_preview()

    def overlay_style(self) -> OverlayStyle:
        return OverlayStyle(
            lines=self.lines.value(), font_family=self.font_family.currentFont().family(),
            font_size=self.font_size.value(), bold=self.bold.isChecked(), text_color=self.text_color.color(),
            tentative_color=self.tentative_color.color(), tentative_italic=self.tentative_italic.isChecked(),
            background_color=self.bg_color.color(), background_opacity=self.opacity.value() / 100,
            outline=self.outline.isChecked(), outline_color=self.outline_color.color(),
            outline_width=self.outline_width.value(),
        )

    def _emit_preview(self) -> None:
        self.overlayPreview.emit(self.overlay_style())

    # -- result ------------------------------------------------------------------------------------
    def result_settings(self) -> AppSettings:
        """The edited settings; the model part is the old one unless the new folder passed inspection."""
        s = copy.deepcopy(self._original)
        if self.model_usable():
            s.model_dir = self.folder.text().strip()
            chosen = self.lookahead.currentData()
            shown = tuple(self.lookahead.itemData(i) for i in range(self.lookahead.count()))
            # Left at the live default: keep "default" (None), so OK without changes reloads nothing and the
            # default follows the model when the folder changes later.
            at_default = bool(shown) and chosen == live_default_lookahead(shown)
            s.lookahead_ms = None if self._original.lookahead_ms is None and at_default else chosen
            s.decoder = str(self.decoder.currentData())
            s.provider = str(self.provider.currentData())
            s.language = str(self.language.currentData() or "") if self.language.count() else ""
        s.source_key = str(self.source.currentData() or s.source_key)
        second = str(self.second_source.currentData() or "")
        s.second_source_key = second if is_system_audio(second) != is_system_audio(s.source_key) else ""
        s.microphone_label = self.microphone_label.text().strip() or s.microphone_label
        s.system_audio_label = self.system_audio_label.text().strip() or s.system_audio_label
        if s.microphone_label == s.system_audio_label:
            s.system_audio_label = f"{s.system_audio_label} (system)"
        s.echo = EchoHandling.KEEP_BOTH if self.keep_echo.isChecked() else EchoHandling.KEEP_SYSTEM_AUDIO
        s.autosave = self.autosave.isChecked()
        rules, mask = self.words_page.result()
        s.word_rules = format_rules(rules)
        s.mask_profanity = mask
        s.caption_page_enabled = self.page_enabled.isChecked()
        s.caption_page_port = self.page_port.value()
        s.caption_page_transparent = self.page_transparent.isChecked()
        if s.caption_page_enabled or s.caption_page_token:
            s.caption_page_token = self._page_token
        s.overlay = self.overlay_style()
        return s

    def reject(self) -> None:
        self.overlayPreview.emit(self._original.overlay)  # undo the live preview
        super().reject()

    def done(self, result: int) -> None:
        self._debounce.stop()
        if self.importer.running:
            self.importer.cancel()
            self.importer.wait()
        self.models_page.cancel_and_wait()
        super().done(result)


def _spin(lo: int, hi: int, value: int, changed: Callable[[], None]) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.valueChanged.connect(lambda _: changed())
    return s


def _check(text: str, on: bool, changed: Callable[[], None]) -> QCheckBox:
    c = QCheckBox(text)
    c.setChecked(on)
    c.toggled.connect(lambda _: changed())
    return c
