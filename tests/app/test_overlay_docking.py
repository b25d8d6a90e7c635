"""The "Docked strip" overlay: a full-width bar at the bottom of the screen that gives the user's place back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSettings, Qt
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.overlay import CaptionOverlay
from captioner.app.settings import AppSettings, OverlayStyle, load_settings, save_settings


def test_docking_spans_the_screen_bottom_and_undocking_goes_back(qtbot: QtBot) -> None:
    ov = CaptionOverlay(OverlayStyle(lines=2), "Ctrl+Shift+L")
    qtbot.addWidget(ov)
    home = QRect(200, 150, 700, ov.height_for_lines())
    ov.setGeometry(home)
    ov.apply_style(OverlayStyle(lines=2, docked=True))
    area = ov.screen().availableGeometry()
    assert ov.docked
    assert (ov.x(), ov.width()) == (area.x(), area.width())
    assert ov.geometry().bottom() == area.bottom() and ov.height() == ov.height_for_lines()
    ov.apply_style(OverlayStyle(lines=3, docked=True))  # a restyle while docked keeps it a strip
    assert ov.height() == ov.height_for_lines() and ov.geometry().bottom() == area.bottom()
    ov.apply_style(OverlayStyle(lines=2, docked=False))
    assert not ov.docked and ov.geometry() == home


def test_a_docked_overlay_cannot_be_dragged(qtbot: QtBot) -> None:
    ov = CaptionOverlay(OverlayStyle(docked=True), "Ctrl+Shift+L")
    qtbot.addWidget(ov)
    ov.show()
    before = ov.geometry()
    qtbot.mousePress(ov, Qt.MouseButton.LeftButton, pos=QPoint(50, 20))
    qtbot.mouseMove(ov, QPoint(150, 60))
    qtbot.mouseRelease(ov, Qt.MouseButton.LeftButton, pos=QPoint(150, 60))
    assert ov.geometry() == before


def test_the_app_keeps_the_users_place_while_docked(controller_factory, settings_file: Path,  # type: ignore[no-untyped-def]
                                                    model_dir: Path) -> None:
    place = (120, 300, 640, 100)
    save_settings(AppSettings(model_dir=str(model_dir), overlay_geometry=place,
                              overlay=OverlayStyle(docked=True)),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    assert c.overlay.docked and c.overlay.width() == c.overlay.screen().availableGeometry().width()
    c.step_overlay_font(2)  # changes the height: must not save the strip as the user's place
    stored = load_settings(QSettings(str(settings_file), QSettings.Format.IniFormat))
    assert stored.overlay_geometry == place
    c.apply_overlay_style(dataclasses.replace(c.settings.overlay, docked=False))
    assert (c.overlay.x(), c.overlay.y(), c.overlay.width()) == place[:3]


def test_docking_at_the_top(qtbot: QtBot) -> None:
    ov = CaptionOverlay(OverlayStyle(lines=2), "Ctrl+Shift+L")
    qtbot.addWidget(ov)
    ov.apply_style(OverlayStyle(lines=2, docked=True, dock_top=True))
    area = ov.screen().availableGeometry()
    assert ov.geometry().top() == area.top() and ov.width() == area.width()
    ov.apply_style(OverlayStyle(lines=2, docked=True))
    assert ov.geometry().bottom() == area.bottom()
