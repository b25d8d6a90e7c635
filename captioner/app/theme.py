"""The app's look: light, dark (following the desktop's colour scheme by default) or high contrast, on Fusion.

Every colour pair a person reads (text on its background) is listed in ``Palette`` and meets WCAG's 4.5:1
(``tests/app/test_theme.py`` checks each theme), so the theme can change without anyone re-measuring by eye.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from captioner.app.settings import AppTheme


@dataclass(frozen=True)
class Palette:
    window: str
    card: str
    border: str
    text: str
    muted: str
    button: str
    button_hover: str
    button_border: str
    disabled_text: str
    disabled_button: str
    accent: str
    accent_text: str
    accent_hover: str
    focus: str
    checked: str
    checked_text: str
    selection: str
    selection_text: str
    status: str
    status_text: str
    sources: tuple[str, ...]
    """Colours of the source labels in the transcript ("You", "Others"), in order of appearance."""
    timestamp: str


LIGHT = Palette(
    window="#f6f7f9", card="#ffffff", border="#e2e6ec", text="#0f172a", muted="#556070", button="#ffffff",
    button_hover="#f1f5f9", button_border="#cbd5e1", disabled_text="#636975", disabled_button="#f3f4f6",
    accent="#2563eb", accent_text="#ffffff", accent_hover="#1d4ed8", focus="#1d4ed8", checked="#dbeafe",
    checked_text="#1e3a8a", selection="#bfdbfe", selection_text="#0f172a", status="#eef1f5", status_text="#334155",
    sources=("#1d4ed8", "#047857", "#7c3aed", "#be123c"), timestamp="#5b6577")
DARK = Palette(
    window="#12161c", card="#1a2029", border="#2c3542", text="#e6e9ee", muted="#a3adbb", button="#222a35",
    button_hover="#2b3542", button_border="#3a4555", disabled_text="#8b95a3", disabled_button="#1c222b",
    accent="#2563eb", accent_text="#ffffff", accent_hover="#1d4ed8", focus="#7ab0ff", checked="#1e3a5f",
    checked_text="#dbeafe", selection="#2f4f7f", selection_text="#ffffff", status="#0d1116", status_text="#c3cad4",
    sources=("#7ab0ff", "#4ade80", "#c4a5ff", "#fb8da0"), timestamp="#9aa4b2")
HIGH_CONTRAST = Palette(
    window="#000000", card="#000000", border="#ffffff", text="#ffffff", muted="#ffffff", button="#000000",
    button_hover="#1f1f1f", button_border="#ffffff", disabled_text="#c0c0c0", disabled_button="#000000",
    accent="#ffff00", accent_text="#000000", accent_hover="#ffee00", focus="#00ffff", checked="#ffff00",
    checked_text="#000000", selection="#ffff00", selection_text="#000000", status="#000000", status_text="#ffffff",
    sources=("#ffff00", "#00ffff", "#ff9eff", "#9eff9e"), timestamp="#ffffff")
PALETTES = {AppTheme.LIGHT: LIGHT, AppTheme.DARK: DARK, AppTheme.HIGH_CONTRAST: HIGH_CONTRAST}

READ_PAIRS = (
    ("text", "window"), ("text", "card"), ("muted", "window"), ("muted", "card"), ("text", "button"),
    ("disabled_text", "disabled_button"), ("accent_text", "accent"), ("checked_text", "checked"),
    ("selection_text", "selection"), ("status_text", "status"), ("timestamp", "card"),
)
"""Text on background, as the stylesheet uses them: each must reach 4.5:1."""

_current = LIGHT


def resolve(choice: AppTheme, scheme: Qt.ColorScheme | None = None) -> AppTheme:
    """``SYSTEM`` becomes light or dark by the desktop's colour scheme (light when it says nothing)."""
    if choice is not AppTheme.SYSTEM:
        return choice
    if scheme is None:
        app = QGuiApplication.instance()
        scheme = app.styleHints().colorScheme() if isinstance(app, QGuiApplication) else Qt.ColorScheme.Unknown
    return AppTheme.DARK if scheme == Qt.ColorScheme.Dark else AppTheme.LIGHT


def current() -> Palette:
    """The palette in use, for the few widgets that colour text themselves (the transcript's labels)."""
    return _current


def stylesheet(p: Palette) -> str:
    return f"""
QMainWindow, QDialog {{ background: {p.window}; color: {p.text}; }}
QWidget {{ color: {p.text}; }}
QFrame#Card {{ background: {p.card}; border: 1px solid {p.border}; border-radius: 10px; }}
QLabel#ModelName {{ font-weight: 600; color: {p.text}; }}
QLabel#ModelDetail, QLabel#Muted {{ color: {p.muted}; }}
QLabel#TentativeLine {{ color: {p.muted}; font-style: italic; padding: 2px 6px; }}
QLabel#StatePill {{ border-radius: 9px; padding: 1px 10px; font-weight: 600; }}
QPlainTextEdit#Transcript {{ background: {p.card}; color: {p.text}; border: 1px solid {p.border}; border-radius: 8px;
    padding: 6px; selection-background-color: {p.selection}; selection-color: {p.selection_text}; }}
QPushButton {{ padding: 5px 14px; border-radius: 6px; border: 1px solid {p.button_border}; background: {p.button};
    color: {p.text}; }}
QPushButton:hover {{ background: {p.button_hover}; }}
QPushButton:disabled {{ color: {p.disabled_text}; background: {p.disabled_button}; border-color: {p.border}; }}
QPushButton#StartButton {{ background: {p.accent}; color: {p.accent_text}; border: 1px solid {p.accent_hover};
    font-weight: 600; }}
QPushButton#StartButton:hover {{ background: {p.accent_hover}; }}
QPushButton#StartButton:disabled {{ background: {p.disabled_button}; border-color: {p.border};
    color: {p.disabled_text}; }}
QToolButton {{ padding: 3px 8px; border-radius: 5px; color: {p.text}; }}
QToolButton:hover {{ background: {p.button_hover}; }}
QLineEdit {{ padding: 4px 6px; border: 1px solid {p.button_border}; border-radius: 6px; background: {p.card};
    color: {p.text}; }}
QComboBox, QSpinBox, QDoubleSpinBox, QFontComboBox {{ min-height: 22px; }}
QPushButton:checked {{ background: {p.checked}; border-color: {p.focus}; color: {p.checked_text}; }}
QDialogButtonBox {{ dialogbuttonbox-buttons-have-icons: 0; }}
QStatusBar {{ background: {p.status}; color: {p.status_text}; }}
QStatusBar QLabel {{ padding: 0 6px; color: {p.status_text}; }}
QTabWidget::pane {{ border: 1px solid {p.border}; border-radius: 8px; background: {p.card}; top: -1px; }}
QTabBar::tab {{ padding: 6px 16px; }}
"""


def focus_stylesheet(p: Palette) -> str:
    """Keyboard focus: a 2 px ring in the focus colour (the text colour on the accent-coloured Start button,
    where the accent would vanish), each rule giving back the extra border pixel in padding so nothing moves."""
    return f"""
QPushButton:focus {{ border: 2px solid {p.focus}; padding: 4px 13px; }}
QPushButton#StartButton:focus {{ border: 2px solid {p.text}; }}
QToolButton:focus {{ border: 2px solid {p.focus}; padding: 1px 6px; }}
QLineEdit:focus {{ border: 2px solid {p.focus}; padding: 3px 5px; }}
QComboBox:focus {{ border: 2px solid {p.focus}; border-radius: 4px; padding: 0 4px; }}
QPlainTextEdit#Transcript:focus {{ border: 2px solid {p.focus}; padding: 5px; }}
"""


STYLESHEET = stylesheet(LIGHT)
FOCUS_STYLESHEET = focus_stylesheet(LIGHT)


def apply_theme(app: QApplication, choice: AppTheme = AppTheme.SYSTEM) -> AppTheme:
    """Fusion with the chosen palette and stylesheet; returns the theme in use (``SYSTEM`` resolved)."""
    global _current
    theme = resolve(choice)
    p = PALETTES[theme]
    _current = p
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    pal = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, p.window), (QPalette.ColorRole.WindowText, p.text),
                         (QPalette.ColorRole.Base, p.card), (QPalette.ColorRole.AlternateBase, p.button_hover),
                         (QPalette.ColorRole.Text, p.text), (QPalette.ColorRole.Button, p.button),
                         (QPalette.ColorRole.ButtonText, p.text), (QPalette.ColorRole.Highlight, p.accent),
                         (QPalette.ColorRole.HighlightedText, p.accent_text), (QPalette.ColorRole.ToolTipBase, p.card),
                         (QPalette.ColorRole.ToolTipText, p.text), (QPalette.ColorRole.PlaceholderText, p.muted),
                         (QPalette.ColorRole.Link, p.sources[0])):
        pal.setColor(role, QColor(colour))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(p.disabled_text))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(p.disabled_text))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(p.disabled_text))
    app.setPalette(pal)
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(stylesheet(p) + focus_stylesheet(p))
    return theme
