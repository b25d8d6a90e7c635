"""A small picture of the caption overlay inside Settings, so a style can be judged while nothing is captioned.

The real overlay previews changes too, but it is empty when idle. This draws a sample caption in the chosen
style over a backdrop half white and half black, the two extremes the contrast check measures against.
"""

# ruff: noqa: N802

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from captioner.app.caption_layout import Word, to_words, wrap_tail
from captioner.app.overlay import draw_caption_word
from captioner.app.settings import OverlayStyle

SAMPLE_COMMITTED = "This is how your captions will"
SAMPLE_TENTATIVE = "look."
"""The last word of the sample is drawn as a word still being recognised."""
SAMPLE = f"{SAMPLE_COMMITTED} {SAMPLE_TENTATIVE}"
PADDING_X, PADDING_Y = 22, 14  # as the overlay's
MARGIN = 12
"""Backdrop showing around a floating box."""
MAX_BOX_HEIGHT = 150
"""Above this the box is drawn scaled down, so large fonts keep the dialog on screen."""


def caption_fonts(style: OverlayStyle) -> tuple[QFont, QFont]:
    """The committed and tentative fonts the overlay uses for ``style``."""
    font = QFont(style.font_family) if style.font_family else QFont()
    if not style.font_family:
        font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(max(8, style.font_size))
    font.setBold(style.bold)
    tentative = QFont(font)
    tentative.setItalic(style.tentative_italic)
    return font, tentative


class CaptionPreview(QWidget):
    """Draws ``SAMPLE`` in an ``OverlayStyle``: the box at its opacity, the lines it keeps, outline, tentative word."""

    def __init__(self, style: OverlayStyle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Caption preview")
        self.setAccessibleDescription(f"The sample caption “{SAMPLE}” in the chosen style")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_overlay_style(style)

    def set_overlay_style(self, style: OverlayStyle) -> None:
        self._style = style
        self._font, self._tentative_font = caption_fonts(style)
        self._fm, self._fm_t = QFontMetricsF(self._font), QFontMetricsF(self._tentative_font)
        self.setFixedHeight(self._box_height_scaled() + (MARGIN if style.docked else 2 * MARGIN))
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, self.height())

    # -- geometry ----------------------------------------------------------------------------------------------
    def _box_height(self) -> float:
        return self._fm.lineSpacing() * max(1, self._style.lines) + 2 * PADDING_Y

    def _scale(self) -> float:
        return min(1.0, MAX_BOX_HEIGHT / self._box_height())

    def _box_height_scaled(self) -> int:
        return round(self._box_height() * self._scale())

    def box_rect(self) -> QRectF:
        """Where the caption box is drawn: inset over the backdrop, or a strip across the bottom when docked."""
        h = self._box_height_scaled()
        if self._style.docked:
            return QRectF(0, self.height() - h, self.width(), h)
        return QRectF(MARGIN, MARGIN, max(0, self.width() - 2 * MARGIN), h)

    def _lines(self) -> list[list[Word]]:
        scale = self._scale()
        inner = self.box_rect().width() / scale - 2 * PADDING_X
        space = self._fm.horizontalAdvance(" ")
        return wrap_tail(to_words(SAMPLE_COMMITTED, SAMPLE_TENTATIVE), max(40.0, inner), max(1, self._style.lines),
                         lambda w: self._advance(w) + 2, space)

    def _advance(self, word: Word) -> float:
        return (self._fm_t if word.tentative else self._fm).horizontalAdvance(word.text)

    def shown_text(self) -> str:
        """The sample words the box has room for (the overlay keeps the last lines, as here)."""
        return " ".join(w.text for line in self._lines() for w in line)

    # -- painting ----------------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        st = self._style
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        half = self.width() // 2
        p.fillRect(0, 0, half, self.height(), QColor("#ffffff"))
        p.fillRect(half, 0, self.width() - half, self.height(), QColor("#000000"))
        p.setPen(QPen(QColor("#cbd5e1"), 1))
        p.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        box = self.box_rect()
        bg = QColor(st.background_color)
        bg.setAlphaF(max(0.0, min(1.0, st.background_opacity)))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        radius = 0.0 if st.docked else 14 * self._scale()
        p.drawRoundedRect(box, radius, radius)
        scale = self._scale()
        p.translate(box.topLeft())
        p.scale(scale, scale)
        lines = self._lines()
        line_h = self._fm.lineSpacing()
        top = box.height() / scale - PADDING_Y - line_h * len(lines)  # bottom-anchored like the overlay
        space = self._fm.horizontalAdvance(" ")
        for i, line in enumerate(lines):
            x = float(PADDING_X)
            baseline = top + i * line_h + self._fm.ascent()
            for w in line:
                font = self._tentative_font if w.tentative else self._font
                colour = QColor(st.tentative_color if w.tentative else st.text_color)
                self._draw_word(p, QPointF(x, baseline), w.text, font, colour)
                x += self._advance(w) + space
        p.end()

    def _draw_word(self, p: QPainter, at: QPointF, text: str, font: QFont, colour: QColor) -> None:
        draw_caption_word(p, at, text, font, colour, self._style)
