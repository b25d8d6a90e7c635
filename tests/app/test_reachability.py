"""Click-through, the overlay's menu and its idle line in the running app, on a desktop without a tray.

The offscreen platform has no system tray, as GNOME has none by default: everything must be reachable
from the main window and the overlay, and no hint may point to a tray menu.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.settings import AppSettings, IdleMode, load_settings, save_settings
from captioner.app.settings_dialog import SettingsDialog


def _app(controller_factory, settings_file: Path, model_dir: Path) -> CaptionerController:  # type: ignore[no-untyped-def]
    save_settings(AppSettings(model_dir=str(model_dir), overlay_visible=True),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    assert not c.tray.available, "the offscreen platform has no tray"
    return c


def _menu_action(qtbot: QtBot, c: CaptionerController, text: str) -> None:
    """Right-click the overlay and pick ``text`` (in a submenu too)."""
    ov = c.overlay
    centre = QPoint(ov.width() // 2, ov.height() // 2)
    QApplication.sendEvent(ov, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, ov.mapToGlobal(centre)))
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    actions = [*menu.actions(), *(a for m in menu.findChildren(QMenu) for a in m.actions())]
    [action] = [a for a in actions if a.text().split("\t")[0] == text]
    action.trigger()
    menu.close()


def test_click_through_from_the_main_window_and_back(qtbot: QtBot, controller_factory, settings_file: Path,  # type: ignore[no-untyped-def]
                                                     model_dir: Path) -> None:
    c = _app(controller_factory, settings_file, model_dir)
    toggle = c.window.click_through_btn
    toggle.click()
    assert c.overlay.click_through and c.overlay.isVisible()
    hint = c.overlay.hint_text()
    assert "tray" not in hint and "Ctrl+Shift+L" in hint and "Click-through button" in hint, hint
    assert "in the Captioner window" in hint, "off X11 the key works only with a Captioner window focused"
    toggle.click()
    assert not c.overlay.click_through and not toggle.isChecked()
    _menu_action(qtbot, c, "Click-through")  # the overlay's menu: the button shows it
    assert c.overlay.click_through and toggle.isChecked()
    c.set_click_through(False)  # e.g. the shortcut
    assert not toggle.isChecked()


def test_the_overlay_menu_hides_resizes_and_opens_settings(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                          settings_file: Path, model_dir: Path) -> None:
    c = _app(controller_factory, settings_file, model_dir)
    size = c.settings.overlay.font_size
    height = c.overlay.height()
    _menu_action(qtbot, c, f"Larger text ({size + 2} px)")
    assert c.settings.overlay.font_size == size + 2 and c.overlay.height() > height
    stored = load_settings(QSettings(str(settings_file), QSettings.Format.IniFormat))
    assert stored.overlay.font_size == size + 2, "kept, as a size chosen in Settings is"
    assert stored.overlay_geometry is not None and stored.overlay_geometry[3] == c.overlay.height()
    _menu_action(qtbot, c, f"Smaller text ({size} px)")
    assert c.settings.overlay.font_size == size

    _menu_action(qtbot, c, "Show nothing")
    assert c.overlay.idle_mode is IdleMode.HIDDEN and c.settings.overlay_idle_mode is IdleMode.HIDDEN
    stored = load_settings(QSettings(str(settings_file), QSettings.Format.IniFormat))
    assert stored.overlay_idle_mode is IdleMode.HIDDEN, "kept for the next start"

    _menu_action(qtbot, c, "Settings…")
    dialogs = lambda: [w for w in QApplication.topLevelWidgets() if isinstance(w, SettingsDialog)]  # noqa: E731
    qtbot.waitUntil(lambda: any(d.isVisible() for d in dialogs()))
    for dialog in dialogs():
        dialog.reject()

    _menu_action(qtbot, c, "Hide overlay")
    assert not c.overlay.isVisible() and not c.window.overlay_btn.isChecked() and not c.settings.overlay_visible


def test_the_idle_line_follows_the_pipeline(qtbot: QtBot, controller_factory, settings_file: Path,  # type: ignore[no-untyped-def]
                                            model_dir: Path, speech_wav: Path) -> None:
    save_settings(AppSettings(model_dir=str(model_dir)), QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory("--input-file", str(speech_wav), "--speed", "0.05")
    assert c.overlay.status_text() == "Not captioning — right-click here to start"  # no system-wide key here
    qtbot.waitUntil(lambda: c.state == "running", timeout=30_000)
    c.overlay.clear()
    assert c.overlay.status_text() == "Listening…"
    _menu_action(qtbot, c, "Pause captioning")
    qtbot.waitUntil(lambda: c.state == "paused", timeout=10_000)
    c.overlay.clear()  # pausing committed the open words (they arrive before the state): the line shows once they go
    assert c.overlay.status_text() == "Paused — right-click here to resume"
    _menu_action(qtbot, c, "Resume captioning")
    qtbot.waitUntil(lambda: c.state == "running", timeout=10_000)


def test_the_wayland_note_points_to_the_window_without_a_tray(  # type: ignore[no-untyped-def]
        controller_factory, settings_file: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from captioner.app import platform_notes

    monkeypatch.setattr(platform_notes, "platform_name", lambda: "wayland")
    c = _app(controller_factory, settings_file, model_dir)
    text = c.window.banner.text()
    assert "Wayland" in text and "tray" not in text and "Click-through button" in text, text
