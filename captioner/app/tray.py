"""The tray icon: state at a glance, and the way back out of click-through mode."""

# ruff: noqa: N815

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from captioner.app.icons import tray_icon

TIPS = {"idle": "Captioner — stopped", "monitoring": "Captioner — ready", "running": "Captioner — captioning",
        "paused": "Captioner — paused"}


class Tray(QObject):
    """Wraps ``QSystemTrayIcon``; usable (a no-op icon) where the desktop has no tray."""

    showWindow = Signal()
    startPause = Signal()
    stop = Signal()
    overlayVisible = Signal(bool)
    clickThrough = Signal(bool)
    quit = Signal()

    def __init__(self, leave_shortcut: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self._state = "idle"
        self._start_key = ""  # shown beside Start/Pause where it works from any window
        self.icon = QSystemTrayIcon(tray_icon("idle"), self)
        menu = QMenu()
        self.menu = menu
        self.show_act = menu.addAction("Show Captioner")
        self.show_act.triggered.connect(lambda: self.showWindow.emit())
        menu.addSeparator()
        self.start_act = menu.addAction("Start captioning")
        self.start_act.triggered.connect(lambda: self.startPause.emit())
        self.stop_act = menu.addAction("Stop")
        self.stop_act.triggered.connect(lambda: self.stop.emit())
        menu.addSeparator()
        self.overlay_act = QAction("Show caption overlay", menu, checkable=True)
        self.overlay_act.toggled.connect(lambda on: self.overlayVisible.emit(bool(on)))
        menu.addAction(self.overlay_act)
        self.click_act = QAction(f"Click-through overlay\t{leave_shortcut}", menu, checkable=True)
        self.click_act.toggled.connect(lambda on: self.clickThrough.emit(bool(on)))
        menu.addAction(self.click_act)
        menu.addSeparator()
        quit_act = menu.addAction("Quit Captioner")
        quit_act.triggered.connect(lambda: self.quit.emit())
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(self._activated)
        self.set_state("idle")
        if self.available:
            self.icon.show()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.showWindow.emit()

    def set_state(self, state: str) -> None:
        self._state = state
        self.icon.setIcon(tray_icon(state))
        self.icon.setToolTip(TIPS.get(state, "Captioner"))
        verb = {"running": "Pause captioning", "paused": "Resume captioning"}.get(state, "Start captioning")
        self.start_act.setText(f"{verb}\t{self._start_key}" if self._start_key else verb)
        self.stop_act.setEnabled(state in ("running", "paused"))

    def set_start_key(self, key: str | None) -> None:
        """The system-wide start/pause shortcut, or ``None`` where there is none."""
        self._start_key = key or ""
        self.set_state(self._state)

    def set_overlay(self, visible: bool, click_through: bool) -> None:
        for act, value in ((self.overlay_act, visible), (self.click_act, click_through)):
            act.blockSignals(True)
            act.setChecked(value)
            act.blockSignals(False)

    def notify(self, title: str, text: str) -> None:
        if self.available and self.icon.supportsMessages():
            self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 5000)
