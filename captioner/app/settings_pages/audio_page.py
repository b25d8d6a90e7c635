"""Settings → Audio: the source to caption, a second source of the other kind, their labels, echo, autosave."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QWidget

from captioner.app.settings import AppSettings, EchoHandling
from captioner.app.settings_pages.widgets import hint_label
from captioner.audio.devices import SourceInfo, is_system_audio


class AudioPage(QWidget):
    """Built from the settings and the sources connected now; a stored source that is gone stays listed."""

    def __init__(self, settings: AppSettings, sources: list[SourceInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        self.source = QComboBox(self)
        for s in sources:
            self.source.addItem(s.label, s.key)
        index = self.source.findData(settings.source_key)
        if index < 0 and settings.source_key:
            self.source.addItem(f"{settings.source_key} (not connected)", settings.source_key)
            index = self.source.count() - 1
        self.source.setCurrentIndex(max(0, index))
        form.addRow("Audio source", self.source)
        form.addRow("", hint_label("“System audio” records what this computer plays, so remote participants are "
                                   "captioned too. Devices are captured at their native rate and resampled to "
                                   "16 kHz.", self))
        self.second_source = QComboBox(self)
        self.second_source.setAccessibleName("Also caption")
        self.second_source.addItem("Nothing else", "")
        for s in sources:
            self.second_source.addItem(s.label, s.key)
        second = settings.second_source_key
        index = self.second_source.findData(second) if second else 0
        if index < 0:
            self.second_source.addItem(f"{second} (not connected)", second)
            index = self.second_source.count() - 1
        self.second_source.setCurrentIndex(max(0, index))
        form.addRow("Also caption", self.second_source)
        self.microphone_label = QLineEdit(settings.microphone_label, self)
        self.microphone_label.setAccessibleName("Label for the microphone's captions")
        self.system_audio_label = QLineEdit(settings.system_audio_label, self)
        self.system_audio_label.setAccessibleName("Label for system audio's captions")
        for edit in (self.microphone_label, self.system_audio_label):
            edit.setMaxLength(24)
        form.addRow("Microphone captions are", self.microphone_label)
        form.addRow("System audio captions are", self.system_audio_label)
        self.keep_echo = QCheckBox("Show words heard on both sources twice", self)
        self.keep_echo.setChecked(settings.echo is EchoHandling.KEEP_BOTH)
        form.addRow("Echo", self.keep_echo)
        form.addRow("", hint_label(
            "With a microphone and system audio together, the microphone also hears the speakers. Captioner shows "
            "such words once, as system audio's, unless this is ticked; the microphone's own lines then reach the "
            "transcript about two seconds later. Headphones avoid the echo altogether.", self))
        self.autosave = QCheckBox("Autosave every session (append-only, under the user data folder)", self)
        self.autosave.setChecked(settings.autosave)
        form.addRow("Transcript", self.autosave)

    def apply(self, settings: AppSettings) -> None:
        """Writes the sources, labels, echo handling and autosave; a second source of the same kind is dropped."""
        settings.source_key = str(self.source.currentData() or settings.source_key)
        second = str(self.second_source.currentData() or "")
        settings.second_source_key = second if is_system_audio(second) != is_system_audio(settings.source_key) \
            else ""
        settings.microphone_label = self.microphone_label.text().strip() or settings.microphone_label
        settings.system_audio_label = self.system_audio_label.text().strip() or settings.system_audio_label
        if settings.microphone_label == settings.system_audio_label:
            settings.system_audio_label = f"{settings.system_audio_label} (system)"
        settings.echo = EchoHandling.KEEP_BOTH if self.keep_echo.isChecked() else EchoHandling.KEEP_SYSTEM_AUDIO
        settings.autosave = self.autosave.isChecked()
