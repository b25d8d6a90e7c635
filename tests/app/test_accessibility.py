"""Every control a keyboard or screen-reader user reaches has a name that says what it is (QAccessible)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController

CONTROLS = (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit)


def unnamed_controls(root: QWidget) -> list[str]:
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(root) or widget.parent() is None:
            continue
        if isinstance(widget.parent(), QAbstractSpinBox | QComboBox):
            continue  # the editor inside a spin box or combo box: the box itself carries the name
        iface = QAccessible.queryAccessibleInterface(widget)
        name = iface.text(QAccessible.Text.Name) if iface is not None else ""
        if not re.search(r"[A-Za-z]", name.replace("&", "")):
            missing.append(f"{type(widget).__name__} {widget.objectName() or ''} {name!r}".strip())
    return missing


def test_main_window_and_settings_controls_are_named(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                     model_dir: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=30_000)
    assert unnamed_controls(c.window) == []
    dialog = c.open_settings()
    page = dialog.overlay_page  # a hard-to-read colour: the contrast warning and its Fix button show too
    page.set_overlay_style(dataclasses.replace(page.overlay_style(), tentative_color="#9fb4c8", outline=False))
    assert dialog.overlay_page.contrast_warning.isVisibleTo(dialog.overlay_page)
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        assert unnamed_controls(dialog.tabs.widget(index)) == [], dialog.tabs.tabText(index)
    dialog.reject()


def test_overlay_exposes_and_announces_committed_captions(qtbot: QtBot) -> None:
    from captioner.app.overlay import CaptionOverlay
    from captioner.app.settings import OverlayStyle

    overlay = CaptionOverlay(OverlayStyle())
    qtbot.addWidget(overlay)
    overlay.add_committed("good morning everyone")
    overlay.set_tentative("can you")
    iface = QAccessible.queryAccessibleInterface(overlay)
    assert iface.text(QAccessible.Text.Name) == "Live captions"
    assert iface.text(QAccessible.Text.Description) == "good morning everyone"
    assert list(overlay.announced) == ["good morning everyone"], "committed text is announced, tentative is not"
