"""Settings → Caption page: serving live captions to a browser or OBS on this computer."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget

from captioner.app.caption_page_host import DEFAULT_PORT, new_token, page_url
from captioner.app.settings import AppSettings
from captioner.app.settings_pages.widgets import hint_label


class CaptionPageSettings(QWidget):
    """Built from the settings; a token is made here if there is none yet, and stored only once the page is on."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        self.token = settings.caption_page_token or new_token()
        self.enabled = QCheckBox("Serve live captions to a browser or OBS on this computer", self)
        self.enabled.setChecked(settings.caption_page_enabled)
        form.addRow("Caption page", self.enabled)
        self.port = QSpinBox(self)
        self.port.setRange(1024, 65535)
        port = settings.caption_page_port
        self.port.setValue(port if 1024 <= port <= 65535 else DEFAULT_PORT)
        self.port.setAccessibleName("Caption page port")
        form.addRow("Port", self.port)
        self.transparent = QCheckBox("Transparent background (for an OBS browser source)", self)
        self.transparent.setChecked(settings.caption_page_transparent)
        form.addRow("", self.transparent)
        self.link = QLineEdit(self)
        self.link.setReadOnly(True)
        self.link.setAccessibleName("Caption page link")
        self.copy_button = QPushButton("Copy link", self)
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.link.text()))
        self.open_button = QPushButton("Open", self)
        self.open_button.setToolTip("Open the page in your browser (after OK, once the page is on)")
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl(self.link.text())))
        row = QHBoxLayout()
        row.addWidget(self.link, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.open_button)
        form.addRow("Link", row)
        form.addRow("", hint_label(
            "The page listens on this computer only (127.0.0.1) and answers only links that carry its secret "
            "token, so nobody else on the network can read it. It uses the overlay's font and colours; add "
            "/transcript before the “?” for the whole transcript so far.", self))
        for widget in (self.port, self.transparent, self.link, self.copy_button, self.open_button):
            self.enabled.toggled.connect(widget.setEnabled)
            widget.setEnabled(settings.caption_page_enabled)
        self.port.valueChanged.connect(lambda _: self._show_link())
        self._show_link()

    def _show_link(self) -> None:
        self.link.setText(page_url(self.port.value(), self.token))

    def apply(self, settings: AppSettings) -> None:
        """Writes on/off, port and background; the token once the page has been on (links keep working)."""
        settings.caption_page_enabled = self.enabled.isChecked()
        settings.caption_page_port = self.port.value()
        settings.caption_page_transparent = self.transparent.isChecked()
        if settings.caption_page_enabled or settings.caption_page_token:
            settings.caption_page_token = self.token
