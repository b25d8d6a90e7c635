"""Small Qt helpers shared by the widgets."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QToolButton, QWidget


def timer(parent: QObject, interval_ms: int, slot: Callable[[], object], single_shot: bool = True) -> QTimer:
    """A parented ``QTimer`` already connected to ``slot`` (not started)."""
    t = QTimer(parent)
    t.setInterval(interval_ms)
    t.setSingleShot(single_shot)
    t.timeout.connect(slot)
    return t


def tool_button(parent: QWidget, text: str, tip: str, slot: Callable[[], object]) -> QToolButton:
    """A text tool button with a tooltip, connected to ``slot``."""
    b = QToolButton(parent)
    b.setText(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b
