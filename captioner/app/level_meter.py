"""A horizontal peak meter (−60…0 dBFS) so users see at once that the chosen source hears something."""

# ruff: noqa: N802

from __future__ import annotations

import time

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
DECAY_DB_PER_S = 30.0
HOLD_S = 1.2


class LevelMeter(QWidget):
    """Smoothly falling bar plus a peak-hold tick; fed with ``set_level(db)`` from the worker's signal."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Input level of the selected source")
        self._db = FLOOR_DB
        self._peak = FLOOR_DB
        self._peak_at = 0.0
        self._at = time.monotonic()

    def sizeHint(self) -> QSize:
        return QSize(140, 10)

    def minimumSizeHint(self) -> QSize:
        return QSize(60, 8)

    @property
    def level_db(self) -> float:
        return self._db

    def set_level(self, db: float) -> None:
        now = time.monotonic()
        fallen = self._db - DECAY_DB_PER_S * (now - self._at)
        self._db = max(FLOOR_DB, min(0.0, max(db, fallen)))
        self._at = now
        if self._db >= self._peak or now - self._peak_at > HOLD_S:
            self._peak, self._peak_at = self._db, now
        self.update()

    def reset(self) -> None:
        self._db = self._peak = FLOOR_DB
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        radius = r.height() / 2
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.palette().mid().color().lighter(130))
        p.drawRoundedRect(r, radius, radius)
        frac = (self._db - FLOOR_DB) / -FLOOR_DB
        if frac > 0:
            grad = QLinearGradient(r.topLeft(), r.topRight())
            grad.setColorAt(0.0, QColor("#22c55e"))
            grad.setColorAt(0.7, QColor("#84cc16"))
            grad.setColorAt(0.85, QColor("#eab308"))
            grad.setColorAt(1.0, QColor("#ef4444"))
            p.setBrush(grad)
            p.drawRoundedRect(QRectF(r.x(), r.y(), max(r.height(), r.width() * frac), r.height()), radius, radius)
        peak = (self._peak - FLOOR_DB) / -FLOOR_DB
        if peak > 0.02:
            x = r.x() + r.width() * peak
            p.setBrush(QColor("#0f172a"))
            p.drawRect(QRectF(x - 1.5, r.y(), 2, r.height()))
        p.end()
