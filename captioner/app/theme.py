"""A restrained light theme on top of Fusion, so the app looks the same and tidy on every desktop."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

STYLESHEET = """
QMainWindow, QDialog { background: #f6f7f9; }
QFrame#Card { background: #ffffff; border: 1px solid #e2e6ec; border-radius: 10px; }
QLabel#ModelName { font-weight: 600; color: #0f172a; }
QLabel#ModelDetail, QLabel#Muted { color: #64748b; }
QLabel#TentativeLine { color: #64748b; font-style: italic; padding: 2px 6px; }
QLabel#StatePill { border-radius: 9px; padding: 1px 10px; font-weight: 600; }
QPlainTextEdit#Transcript { background: #ffffff; border: 1px solid #e2e6ec; border-radius: 8px;
    padding: 6px; selection-background-color: #bfdbfe; selection-color: #0f172a; }
QPushButton { padding: 5px 14px; border-radius: 6px; border: 1px solid #cbd5e1; background: #ffffff; }
QPushButton:hover { background: #f1f5f9; }
QPushButton:disabled { color: #a0aab8; background: #f3f4f6; border-color: #e5e7eb; }
QPushButton#StartButton { background: #2563eb; color: white; border: 1px solid #1d4ed8; font-weight: 600; }
QPushButton#StartButton:hover { background: #1d4ed8; }
QPushButton#StartButton:disabled { background: #93c5fd; border-color: #93c5fd; color: #eff6ff; }
QToolButton { padding: 3px 8px; border-radius: 5px; }
QToolButton:hover { background: #e8edf3; }
QLineEdit { padding: 4px 6px; border: 1px solid #cbd5e1; border-radius: 6px; background: #ffffff; }
QLineEdit:focus { border-color: #3b82f6; }
QComboBox, QSpinBox, QDoubleSpinBox, QFontComboBox { min-height: 22px; }
QPushButton:checked { background: #dbeafe; border-color: #60a5fa; color: #1e3a8a; }
QDialogButtonBox { dialogbuttonbox-buttons-have-icons: 0; }
QStatusBar { background: #eef1f5; color: #334155; }
QStatusBar QLabel { padding: 0 6px; }
QTabWidget::pane { border: 1px solid #e2e6ec; border-radius: 8px; background: #ffffff; top: -1px; }
QTabBar::tab { padding: 6px 16px; }
"""
FOCUS_STYLESHEET = """
QPushButton:focus { border: 2px solid #1d4ed8; padding: 4px 13px; }
QPushButton#StartButton:focus { border: 2px solid #0f172a; }
QToolButton:focus { border: 2px solid #1d4ed8; padding: 1px 6px; }
QLineEdit:focus { border: 2px solid #1d4ed8; padding: 3px 5px; }
QComboBox:focus { border: 2px solid #1d4ed8; border-radius: 4px; padding: 0 4px; }
QPlainTextEdit#Transcript:focus { border: 2px solid #1d4ed8; padding: 5px; }
"""
"""Keyboard focus: a 2 px ring in the accent colour (near-black on the blue Start button, where blue
would vanish), each rule giving back the extra border pixel in padding so nothing moves."""


def apply_theme(app: QApplication) -> None:
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    pal = app.palette()
    pal.setColor(QPalette.ColorRole.Window, QColor("#f6f7f9"))
    pal.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#2563eb"))
    pal.setColor(QPalette.ColorRole.Button, QColor("#ffffff"))
    app.setPalette(pal)
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET + FOCUS_STYLESHEET)
