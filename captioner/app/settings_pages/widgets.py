"""Small widgets the Settings pages share: colour swatches, a label that takes the height its text needs."""

# ruff: noqa: N802

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import QCheckBox, QColorDialog, QFrame, QLabel, QPushButton, QSpinBox, QWidget

HINT_STYLE = "color: #64748b;"
FOCUS_COLOUR = "#1d4ed8"
"""Keyboard focus rings, as the app theme draws them: 6.7:1 against the dialog's white pages, above the 3:1
WCAG asks of focus indicators."""


class ColorButton(QPushButton):
    """A swatch button that opens a colour picker; ``changed`` fires only for the user's own choice."""

    changed = Signal(str)

    def __init__(self, colour: str, parent: QWidget | None = None, name: str = "Colour") -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setFixedSize(44, 24)
        self.clicked.connect(self._pick)
        self.set_color(colour)

    def color(self) -> str:
        return self._colour

    def set_color(self, colour: str) -> None:
        self._colour = QColor(colour).name()
        # The swatch's own style sheet replaces the dialog's for this button, so it brings its focus ring along.
        self.setStyleSheet(f"QPushButton {{ background: {self._colour}; border: 1px solid #94a3b8;"
                           f" border-radius: 4px; }} QPushButton:focus {{ border: 2px solid {FOCUS_COLOUR}; }}")
        self.setToolTip(self._colour)
        self.setAccessibleDescription(f"{self._colour}; press to choose another")

    def _pick(self) -> None:
        chosen = QColorDialog.getColor(QColor(self._colour), self, "Choose a colour")
        if chosen.isValid():
            self.set_color(chosen.name())
            self.changed.emit(self._colour)


class FittingLabel(QLabel):
    """A word-wrapped label whose minimum height is what its text needs at its width.

    A tab page sits in a ``QStackedWidget``, which does not pass height-for-width up to the dialog, so a plain
    wrapped label there keeps the height of its first size hint and a long text is clipped or runs into the
    widget below. Asking for the height as a minimum makes the page, and the dialog, grow instead. Only a shown
    label asks: a tab that is not current keeps whatever width it had, and would ask for a stale height.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self._fitted_width = -1

    def minimumSizeHint(self) -> QSize:
        return self._fitted(super().minimumSizeHint())

    def sizeHint(self) -> QSize:
        """The text's height too, not ``QLabel``'s guess for wrapped text, which is often taller than needed."""
        hint = super().sizeHint()
        fitted = self._fitted(QSize(hint.width(), 0))
        return fitted if fitted.height() > 0 else hint

    def _fitted(self, hint: QSize) -> QSize:
        if self.wordWrap() and self.text() and self.isVisible():  # a hidden tab's width is stale
            hint.setHeight(max(hint.height(), self.minimumHeight(), self.heightForWidth(self.width())))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != self._fitted_width:
            self._fitted_width = event.size().width()
            self.updateGeometry()  # the layout asks again: the text's height at the new width


class FittingFrame(QFrame):
    """A frame around wrapped text (and a button) that asks for the height its contents need at its width.

    A box layout's own size hint measures wrapped text at the text's preferred width, usually narrower than
    the frame gets, so it would ask for lines the text does not take; see ``FittingLabel`` for the rest.
    """

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        layout = self.layout()
        if self.isVisible() and layout is not None and layout.hasHeightForWidth():
            hint.setHeight(self.heightForWidth(self.width()))
        return hint


def hint_label(text: str, parent: QWidget, style: str = HINT_STYLE) -> FittingLabel:
    """A muted, wrapped explanation under a control."""
    label = FittingLabel(parent)
    label.setText(text)
    label.setStyleSheet(style)
    return label


def spin(lo: int, hi: int, value: int, changed: Callable[[], None]) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.valueChanged.connect(lambda _: changed())
    return s


def check(text: str, on: bool, changed: Callable[[], None]) -> QCheckBox:
    c = QCheckBox(text)
    c.setChecked(on)
    c.toggled.connect(lambda _: changed())
    return c
