"""The app's icons, drawn with QPainter so they need no files and scale to any DPI.

A speech bubble with caption lines; tray variants add a state dot (red: captioning, amber: paused).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

STATE_COLOURS = {"running": "#e5484d", "paused": "#f5a524", "monitoring": None, "idle": None}
ACCENT = "#3b82f6"


def _bubble(p: QPainter, s: float, colour: QColor) -> None:
    path = QPainterPath()
    body = QRectF(0.08 * s, 0.14 * s, 0.84 * s, 0.58 * s)
    path.addRoundedRect(body, 0.14 * s, 0.14 * s)
    tail = QPainterPath()
    tail.moveTo(QPointF(0.26 * s, 0.70 * s))
    tail.lineTo(QPointF(0.22 * s, 0.90 * s))
    tail.lineTo(QPointF(0.44 * s, 0.70 * s))
    tail.closeSubpath()
    p.fillPath(path.united(tail), colour)
    pen = QPen(QColor("#ffffff"), max(1.0, 0.07 * s), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.drawLine(QPointF(0.22 * s, 0.36 * s), QPointF(0.78 * s, 0.36 * s))
    p.drawLine(QPointF(0.22 * s, 0.52 * s), QPointF(0.60 * s, 0.52 * s))


def app_pixmap(size: int = 256, state: str = "idle") -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    _bubble(p, float(size), QColor(ACCENT if state != "idle" else "#64748b") if state else QColor(ACCENT))
    dot = STATE_COLOURS.get(state)
    if dot:
        r = 0.2 * size
        p.setPen(QPen(QColor("#ffffff"), max(1.0, 0.04 * size)))
        p.setBrush(QColor(dot))
        p.drawEllipse(QPointF(0.78 * size, 0.76 * size), r, r)
    p.end()
    return pm


def app_icon() -> QIcon:
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        icon.addPixmap(_accent_pixmap(size))
    return icon


def _accent_pixmap(size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    _bubble(p, float(size), QColor(ACCENT))
    p.end()
    return pm


def tray_icon(state: str) -> QIcon:
    icon = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        icon.addPixmap(app_pixmap(size, state))
    return icon


def dot_icon(colour: str, size: int = 12) -> QIcon:
    """A small filled circle (status dots on buttons and labels)."""
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(colour))
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    p.end()
    return QIcon(pm)


def glyph_icon(kind: str, colour: str = "#1f2937", size: int = 16) -> QIcon:
    """Media glyphs (record, pause, stop) that look the same on every desktop theme."""
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(colour))
    s = float(size)
    if kind == "record":
        p.drawEllipse(QRectF(0.18 * s, 0.18 * s, 0.64 * s, 0.64 * s))
    elif kind == "pause":
        p.drawRoundedRect(QRectF(0.22 * s, 0.18 * s, 0.2 * s, 0.64 * s), 1.5, 1.5)
        p.drawRoundedRect(QRectF(0.58 * s, 0.18 * s, 0.2 * s, 0.64 * s), 1.5, 1.5)
    elif kind == "stop":
        p.drawRoundedRect(QRectF(0.2 * s, 0.2 * s, 0.6 * s, 0.6 * s), 2, 2)
    elif kind == "play":
        path = QPainterPath()
        path.moveTo(QPointF(0.26 * s, 0.16 * s))
        path.lineTo(QPointF(0.84 * s, 0.5 * s))
        path.lineTo(QPointF(0.26 * s, 0.84 * s))
        path.closeSubpath()
        p.fillPath(path, QColor(colour))
    p.end()
    return QIcon(pm)
