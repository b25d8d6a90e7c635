"""The settings dialog: one tab per page (``captioner.app.settings_pages``), OK and Cancel.

Each page is built from the settings and writes its own fields into a copy of them on OK
(``result_settings``). The Model page holds OK back while a folder it was given waits for its verdict, and
never applies an unusable folder: the running model stays active. Overlay changes preview live on the real
overlay and are reverted on Cancel.
"""

# ruff: noqa: N815

from __future__ import annotations

import copy
from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from captioner.app.models_page import ModelsPage
from captioner.app.settings import AppSettings, OverlayStyle
from captioner.app.settings_pages.audio_page import AudioPage
from captioner.app.settings_pages.caption_page import CaptionPageSettings
from captioner.app.settings_pages.model_page import ModelPage
from captioner.app.settings_pages.overlay_page import OverlayPage
from captioner.app.settings_pages.widgets import FOCUS_COLOUR
from captioner.app.settings_pages.words import WordsSettingsPage
from captioner.audio.devices import SourceInfo
from captioner.live.model_loading import ModelInfo

FOCUS_STYLE = f"""
QPushButton:focus {{ border: 2px solid {FOCUS_COLOUR}; padding: 4px 13px; }}
QCheckBox {{ border: 2px solid transparent; border-radius: 4px; padding: 1px 2px; }}
QCheckBox:focus {{ border-color: {FOCUS_COLOUR}; }}
QTabBar::tab:focus {{ border: 2px solid {FOCUS_COLOUR}; border-radius: 4px; }}
"""
"""The app's theme leaves keyboard focus on buttons, check boxes and tabs a faint tint; here it is a ring."""


class SettingsPage(Protocol):
    def apply(self, settings: AppSettings) -> None:
        """Write this page's fields into ``settings`` (a copy the dialog hands back)."""


class SettingsDialog(QDialog):
    """Edits a copy of the settings; read ``result_settings()`` after ``accept``."""

    overlayPreview = Signal(OverlayStyle)

    def __init__(self, settings: AppSettings, sources: list[SourceInfo], model: ModelInfo | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Captioner Settings")
        self.setObjectName("SettingsDialog")
        self.setMinimumWidth(620)
        self.setStyleSheet(FOCUS_STYLE)
        self._original = settings
        self.model_page = ModelPage(settings, model, self)
        self.models_page = ModelsPage(settings.model_dir or (model.path if model else ""), parent=self)
        self.audio_page = AudioPage(settings, sources, self)
        self.overlay_page = OverlayPage(settings.overlay, self, settings.app_theme)
        self.words_page = WordsSettingsPage(settings, self)
        self.caption_page = CaptionPageSettings(settings, self)
        self._pages: tuple[SettingsPage, ...] = (self.model_page, self.audio_page, self.overlay_page,
                                                  self.words_page, self.caption_page)
        self.tabs = QTabWidget(self)
        for page, title in ((self.model_page, "Model"), (self.models_page, "Models"), (self.audio_page, "Audio"),
                            (self.overlay_page, "Overlay"), (self.words_page, "Words"),
                            (self.caption_page, "Caption page")):
            self.tabs.addTab(page, title)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.buttons)

        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(self.model_page.is_ready())
        self.model_page.readyChanged.connect(ok.setEnabled)
        self.model_page.imported.connect(lambda _: self.models_page.refresh())
        self.models_page.useRequested.connect(self._use_model_folder)
        self.overlay_page.styleChanged.connect(self.overlayPreview)

    def _use_model_folder(self, folder: str) -> None:
        """From the Models page: check this folder on the Model tab; OK then makes it the active model."""
        if folder:
            self.model_page.use_folder(folder)
            self.tabs.setCurrentWidget(self.model_page)

    def result_settings(self) -> AppSettings:
        """The edited settings; the model part is the old one unless the new folder passed inspection."""
        s = copy.deepcopy(self._original)
        for page in self._pages:
            page.apply(s)
        return s

    def reject(self) -> None:
        self.overlayPreview.emit(self._original.overlay)  # undo the live preview
        super().reject()

    def done(self, result: int) -> None:
        self.model_page.shutdown()
        self.models_page.cancel_and_wait()
        super().done(result)
