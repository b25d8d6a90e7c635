"""The caption overlay: a frameless, always-on-top, translucent window showing the last N lines.

Committed words are drawn solid, tentative words (which the recognizer may still revise) dimmer
and italic, so readers know which part can change. Dragging moves it, edges resize it, a right-click
opens its menu, and in click-through mode mouse input passes to the window underneath
(``WindowTransparentForInput``); a shortcut, the main window's Click-through button and the tray
menu (where the desktop has a tray) bring it back, because the overlay itself can no longer be clicked.

With no words to show, the overlay is not an empty dark bar: by default it shrinks to a faint
one-line status ("Listening…", "Paused", "Not captioning"), and the rest of it is see-through and
lets clicks through to the meeting app below (a window mask). See ``set_idle_mode``.
"""

# ruff: noqa: N802, N815  (Qt names: overridden event handlers and signals are camelCase)

from __future__ import annotations

from collections import deque

from PySide6 import QtGui
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAccessible,
    QAction,
    QActionGroup,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QHideEvent,
    QMouseEvent,
    QMoveEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QRegion,
    QResizeEvent,
)
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from captioner.app.caption_layout import Word, to_labelled_words, wrap_tail
from captioner.app.qt_util import timer
from captioner.app.settings import IdleMode, OverlayStyle

EDGE = 8  # px from the border that start a resize instead of a move
PADDING_X = 22
PADDING_Y = 14
CLEAR_AFTER_MS = 12_000  # silence after which the overlay empties, like broadcast captions
HINT_MS = 4_000
HISTORY_CHARS = 600
FONT_STEP = 2  # px per "Larger text" / "Smaller text" in the overlay's menu
FONT_RANGE = (10, 96)  # as the Settings dialog allows

IDLE_MODES: dict[IdleMode, str] = {
    IdleMode.STATUS: "Show a faint status line",
    IdleMode.HIDDEN: "Show nothing",
    IdleMode.BOX: "Keep the empty caption box",
}
"""The words the overlay's menu uses for each idle mode."""


def click_through_hint(shortcut: str, system_wide: bool, tray: bool) -> str:
    """How to leave click-through, naming only what this desktop has (GNOME has no tray by default)."""
    where = "" if system_wide else " in the Captioner window"
    if tray:
        return f"Click-through on — press {shortcut}{where} or use the tray menu to leave"
    if system_wide:
        return f"Click-through on — press {shortcut} or the Click-through button in the Captioner window to leave"
    return f"Click-through on — in the Captioner window, press {shortcut} or the Click-through button to leave"


def draw_caption_word(p: QPainter, at: QPointF, text: str, font: QFont, colour: QColor, style: OverlayStyle) -> None:
    """One caption word as the overlay draws it (the Settings preview too): the outline stroked around the
    glyphs, the fill on top; without an outline, plain text."""
    if style.outline and style.outline_width > 0:
        path = QPainterPath()
        path.addText(at, font, text)
        pen = QPen(QColor(style.outline_color), style.outline_width * 2)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        p.strokePath(path, pen)
        p.fillPath(path, colour)
    else:
        p.setFont(font)
        p.setPen(colour)
        p.drawText(at, text)


class CaptionOverlay(QWidget):
    """Shows captions; knows nothing about audio or models."""

    geometryChangedByUser = Signal(QRect)
    clickThroughChanged = Signal(bool)
    # What the user asks for in the overlay's menu; the controller acts on it (and calls back here).
    startPauseRequested = Signal()
    clickThroughRequested = Signal(bool)
    hideRequested = Signal()
    fontStepRequested = Signal(int)  # px to add to the font size
    idleModeChosen = Signal(str)
    settingsRequested = Signal()

    def __init__(self, style: OverlayStyle, leave_shortcut: str = "Ctrl+Shift+L") -> None:
        super().__init__(None)
        self.setObjectName("CaptionOverlay")
        self.setWindowTitle("Captioner captions")
        self.setAccessibleName("Live captions")
        self.announced: deque[str] = deque(maxlen=50)
        """The latest committed captions handed to screen readers, for the window's own checks."""
        self._flags = (Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
                       | Qt.WindowType.Tool)
        self.setWindowFlags(self._flags)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setMouseTracking(True)
        self.setMinimumSize(240, 48)
        self._style = style
        self._leave_shortcut = leave_shortcut
        self._committed: deque[tuple[str, str]] = deque()  # (source label, text) of each line on screen
        self._history: list[str] = []
        self._tentative = ""
        self._tentative_source = ""
        self._click_through = False
        self._hover = False
        self._hint = ""
        self._drag_from: QPoint | None = None
        self._idle = timer(self, CLEAR_AFTER_MS, self._clear_display)
        self._hint_timer = timer(self, HINT_MS, self._clear_hint)
        self._geom_timer = timer(self, 400, self._emit_geometry)
        self._user_moving = False
        self._undocked: QRect | None = None  # where the overlay was before it docked, to go back there
        self._bubble = HintBubble()
        self._leave_hint = click_through_hint(leave_shortcut, True, QSystemTrayIcon.isSystemTrayAvailable())
        self._activity = "idle"  # the pipeline's state, for the status line
        self._start_key = "Ctrl+R"
        self._start_key_anywhere = False
        self._idle_mode = IdleMode.STATUS
        self._shape: tuple[object, ...] | None = None  # what the window mask was last set from
        self._menu: QMenu | None = None
        self.apply_style(style)

    # -- content -----------------------------------------------------------------------------------
    def add_committed(self, text: str, source: str = "") -> None:
        """Append committed caption text (one segment), heard on ``source`` ("" when there is one source)."""
        text = text.strip()
        if not text:
            return
        spoken = f"{source}: {text}" if source else text
        self._history.append(spoken)
        self._committed.append((source, text))
        while sum(len(t) for _, t in self._committed) > HISTORY_CHARS and len(self._committed) > 1:
            self._committed.popleft()
        self.setAccessibleDescription(spoken)  # a screen reader reading the overlay reads the latest caption
        self._announce(spoken)
        self._touch()

    def _announce(self, text: str) -> None:
        """Tell screen readers about a committed caption (Qt's accessibility announcement, where it exists)."""
        announcement = getattr(QtGui, "QAccessibleAnnouncementEvent", None)
        if announcement is not None and QAccessible.isActive():
            event = announcement(self, text)
            QAccessible.updateAccessibility(event)
        self.announced.append(text)

    def set_tentative(self, text: str, source: str = "") -> None:
        if (text, source) != (self._tentative, self._tentative_source):
            self._tentative, self._tentative_source = text, source
            self._touch()

    def mark_gap(self) -> None:
        """Show that audio was skipped, so readers do not join two unrelated sentences."""
        self._committed.append(("", "…"))
        self._touch()

    def clear(self) -> None:
        self._committed.clear()
        self._history.clear()
        self._tentative = ""
        self._refresh()

    def committed_text(self) -> str:
        """Every committed segment shown since the last ``clear`` (for tests and copying)."""
        return " ".join(self._history)

    def displayed_text(self) -> str:
        """Exactly the words on screen now, committed then tentative."""
        return " ".join(w.text for line in self._layout() for w in line)

    def _touch(self) -> None:
        self._idle.start()
        self._refresh()

    def _clear_display(self) -> None:
        self._committed.clear()
        self._tentative = ""
        self._refresh()

    def _refresh(self) -> None:
        self._update_shape()
        self.update()

    # -- when nothing is captioned -----------------------------------------------------------------
    def set_activity(self, state: str) -> None:
        """The pipeline's state ("idle", "monitoring", "running", "paused"), shown while no words are."""
        self._activity = str(state)
        self._refresh()

    def set_start_key(self, key: str, anywhere: bool) -> None:
        """The start/pause shortcut, and whether it works from any window (else the status line points to
        the overlay's own menu, which always works)."""
        self._start_key, self._start_key_anywhere = key, anywhere
        self._refresh()

    def set_idle_mode(self, mode: IdleMode | str) -> None:
        """What to show while no words are on the overlay (see ``IdleMode``); an unknown word means the default."""
        self._idle_mode = IdleMode(mode) if mode in set(IdleMode) else IdleMode.STATUS
        self._refresh()

    @property
    def idle_mode(self) -> IdleMode:
        return self._idle_mode

    def showing_words(self) -> bool:
        return bool(self._tentative.strip()) or any(text for _, text in self._committed)

    def status_text(self) -> str:
        """The faint line shown instead of captions ("" while words are shown, or when showing nothing)."""
        if self.showing_words() or self._idle_mode is IdleMode.HIDDEN:
            return ""
        if self._activity == "running":
            return "Listening…"
        verb, how = ("resume", "Paused") if self._activity == "paused" else ("start", "Not captioning")
        if self._start_key_anywhere:
            return f"{how} — press {self._start_key} to {verb}"
        return f"{how} — right-click here to {verb}"

    def _status_font(self) -> QFont:
        font = QFont(self._font)
        font.setBold(False)
        font.setItalic(False)
        font.setPixelSize(max(12, round(self._font.pixelSize() * 0.6)))
        return font

    def status_rect(self) -> QRect:
        """Where the status pill is drawn: centred on the last caption line, as wide as its text."""
        fm = QFontMetricsF(self._status_font())
        w = min(self.width() - 8, int(fm.horizontalAdvance(self.status_text()) + 32))
        h = min(self.height() - 4, int(fm.height() + 12))
        centre_y = self.height() - PADDING_Y - self._fm.lineSpacing() / 2
        top = int(max(2, min(self.height() - h - 2, centre_y - h / 2)))
        return QRect((self.width() - w) // 2, top, w, h)

    def _update_shape(self) -> None:
        """Let clicks through wherever nothing is drawn: a window mask around the status pill (or a
        single pixel when nothing is shown), none while the caption box is up."""
        if self.showing_words() or self._idle_mode is IdleMode.BOX:
            shape: tuple[object, ...] = ("box",)
        elif self._idle_mode is IdleMode.HIDDEN or not self.status_text():
            shape = ("hidden", self.size())
        else:
            shape = ("status", self.status_rect())
        if shape == self._shape:
            return
        self._shape = shape
        if shape[0] == "box":
            self.clearMask()
        elif shape[0] == "hidden":
            self.setMask(QRegion(0, 0, 1, 1))
        else:
            self.setMask(QRegion(self.status_rect()))

    # -- appearance --------------------------------------------------------------------------------
    def apply_style(self, style: OverlayStyle) -> None:
        """Restyle and resize the height to fit ``style.lines`` lines at the new font."""
        self._style = style
        font = QFont(style.font_family) if style.font_family else QFont()
        if not style.font_family:
            font.setStyleHint(QFont.StyleHint.SansSerif)
        font.setPixelSize(max(8, style.font_size))
        font.setBold(style.bold)
        self._font = font
        self._tentative_font = QFont(font)
        self._tentative_font.setItalic(style.tentative_italic)
        self._fm = QFontMetricsF(font)
        self._fm_t = QFontMetricsF(self._tentative_font)
        if style.docked:
            self._dock()
        else:
            self._undock()
            self.resize(self.width(), self.height_for_lines())
        self._shape = None  # the status pill's size follows the font
        self._refresh()

    @property
    def docked(self) -> bool:
        return self._undocked is not None

    def _dock(self) -> None:
        """A full-width strip along the bottom (or top) of the screen it is on, like a broadcast caption bar. Its own
        place is kept (and not saved over) for when it undocks; it cannot be dragged while docked."""
        if self._undocked is None:
            self._undocked = self.geometry()
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen else QRect(0, 0, 1280, 720)
        h = self.height_for_lines()
        top = area.y() if self._style.dock_top else area.y() + area.height() - h
        self.setGeometry(area.x(), top, area.width(), h)

    def _undock(self) -> None:
        if self._undocked is not None:
            place, self._undocked = self._undocked, None
            self.setGeometry(place)

    def height_for_lines(self) -> int:
        return int(self._fm.lineSpacing() * self._style.lines + 2 * PADDING_Y + 0.5)

    def sizeHint(self) -> QSize:
        return QSize(900, self.height_for_lines())

    def set_place(self, rect: QRect) -> None:
        """The overlay's own place (the user's): taken now, or when it undocks if it is docked."""
        if self._undocked is not None:
            self._undocked = rect
        else:
            self.setGeometry(rect)

    def place_default(self) -> None:
        """Bottom centre of the primary screen, like subtitles."""
        screen = QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen else QRect(0, 0, 1280, 720)
        w = int(area.width() * 0.6)
        h = self.height_for_lines()
        y = area.bottom() - h - int(area.height() * 0.08)
        self.set_place(QRect(area.x() + (area.width() - w) // 2, y, w, h))

    # -- click-through -----------------------------------------------------------------------------
    @property
    def click_through(self) -> bool:
        return self._click_through

    def set_click_through(self, on: bool) -> None:
        """Let the mouse pass through (or not); Qt needs the window re-shown after a flag change."""
        if on == self._click_through:
            return
        self._click_through = on
        visible = self.isVisible()
        geom = self.geometry()
        self.setWindowFlag(Qt.WindowType.WindowTransparentForInput, on)
        self.setGeometry(geom)
        if visible:
            self.show()
        self._hint = self._leave_hint if on else ""
        if on:
            self._bubble.show_above(self, self._hint)
            self._hint_timer.start()
        else:
            self._bubble.hide()
        self.update()
        self.clickThroughChanged.emit(on)

    def hint_text(self) -> str:
        return self._hint

    def set_leave_hint(self, text: str) -> None:
        """The note shown when click-through goes on: how to leave it on this desktop (``click_through_hint``)."""
        self._leave_hint = text

    def _clear_hint(self) -> None:
        self._hint = ""
        self._bubble.hide()

    @property
    def hint_bubble(self) -> QWidget:
        return self._bubble

    # -- painting ----------------------------------------------------------------------------------
    def _layout(self) -> list[list[Word]]:
        words = to_labelled_words(list(self._committed), (self._tentative_source, self._tentative))
        space = self._fm.horizontalAdvance(" ")

        def width_of(word: Word) -> float:
            return self._advance(word) + 2  # slack for italics' overhang

        return wrap_tail(words, max(40.0, self.width() - 2 * PADDING_X), self._style.lines, width_of, space)

    def _advance(self, word: Word) -> float:
        return (self._fm_t if word.tentative else self._fm).horizontalAdvance(word.text)

    def paintEvent(self, event: QPaintEvent) -> None:
        st = self._style
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        bg = QColor(st.background_color)
        bg.setAlphaF(st.background_opacity)
        lines = self._layout()
        status = "" if lines else self.status_text()
        if lines or self._idle_mode is IdleMode.BOX:
            rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(bg)
            p.drawRoundedRect(rect, 14, 14)
            if self._hover and not self._click_through:
                p.setPen(QPen(QColor(255, 255, 255, 90), 1.2, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRoundedRect(rect.adjusted(2, 2, -2, -2), 12, 12)
                self._paint_grip(p)
        if status:
            self._paint_status(p, status, bg, boxed=self._idle_mode is IdleMode.BOX)
        line_h = self._fm.lineSpacing()
        top = self.height() - PADDING_Y - line_h * len(lines)  # bottom-anchored like subtitles
        space = self._fm.horizontalAdvance(" ")
        for i, line in enumerate(lines):
            x = float(PADDING_X)
            baseline = top + i * line_h + self._fm.ascent()
            for w in line:
                font = self._tentative_font if w.tentative else self._font
                colour = QColor(st.tentative_color if w.tentative or w.label else st.text_color)
                self._draw_word(p, x, baseline, w.text, font, colour)
                x += self._advance(w) + space
        p.end()

    def _draw_word(self, p: QPainter, x: float, baseline: float, text: str, font: QFont,
                   colour: QColor) -> None:
        draw_caption_word(p, QPointF(x, baseline), text, font, colour, self._style)

    def _paint_status(self, p: QPainter, text: str, bg: QColor, boxed: bool) -> None:
        """The faint status line: the tentative colour, in its own pill unless the caption box is drawn."""
        pill = QRectF(self.status_rect())
        if not boxed:
            faint = QColor(bg)
            faint.setAlphaF(max(0.35, bg.alphaF() * 0.75))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(faint)
            p.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        p.setFont(self._status_font())
        p.setPen(QColor(self._style.tentative_color))
        p.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_grip(self, p: QPainter) -> None:
        p.setPen(QPen(QColor(255, 255, 255, 140), 1.5))
        r = self.rect()
        for k in (6, 10, 14):
            p.drawLine(r.right() - k, r.bottom() - 3, r.right() - 3, r.bottom() - k)

    # -- moving and resizing -------------------------------------------------------------------------
    def _edges(self, pos: QPoint) -> Qt.Edge:
        edges = Qt.Edge(0)
        if pos.x() < EDGE:
            edges |= Qt.Edge.LeftEdge
        if pos.x() > self.width() - EDGE:
            edges |= Qt.Edge.RightEdge
        if pos.y() < EDGE:
            edges |= Qt.Edge.TopEdge
        if pos.y() > self.height() - EDGE:
            edges |= Qt.Edge.BottomEdge
        return edges

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.docked:
            return super().mousePressEvent(event)
        self._user_moving = True
        edges = self._edges(event.position().toPoint())
        handle = self.windowHandle()
        if handle is not None:
            started = handle.startSystemResize(edges) if edges != Qt.Edge(0) else handle.startSystemMove()
            if started:
                return None
        # Fallback for platforms without system move/resize: move by hand (resize via edges only there).
        self._drag_from = event.globalPosition().toPoint() - self.frameGeometry().topLeft()
        return None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.move(event.globalPosition().toPoint() - self._drag_from)
            return
        edges = self._edges(event.position().toPoint())
        cursor = Qt.CursorShape.SizeAllCursor
        if edges in (Qt.Edge.LeftEdge, Qt.Edge.RightEdge):
            cursor = Qt.CursorShape.SizeHorCursor
        elif edges in (Qt.Edge.TopEdge, Qt.Edge.BottomEdge):
            cursor = Qt.CursorShape.SizeVerCursor
        elif edges in (Qt.Edge.TopEdge | Qt.Edge.LeftEdge, Qt.Edge.BottomEdge | Qt.Edge.RightEdge):
            cursor = Qt.CursorShape.SizeFDiagCursor
        elif edges != Qt.Edge(0):
            cursor = Qt.CursorShape.SizeBDiagCursor
        self.setCursor(cursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self._geom_timer.start()
        super().mouseReleaseEvent(event)

    def enterEvent(self, event: object) -> None:
        self._hover = True
        self.update()

    def leaveEvent(self, event: object) -> None:
        self._hover = False
        self.update()

    def moveEvent(self, event: QMoveEvent) -> None:
        if self._user_moving:
            self._geom_timer.start()
        super().moveEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self._user_moving:
            self._geom_timer.start()
        self._update_shape()
        super().resizeEvent(event)

    # -- its menu ----------------------------------------------------------------------------------
    def context_menu(self) -> QMenu:
        """Start/pause, click-through, hide, text size, what to show when idle, and Settings (right-click)."""
        menu = QMenu()
        verb = {"running": "Pause captioning", "paused": "Resume captioning"}.get(self._activity, "Start captioning")
        menu.addAction(f"{verb}\t{self._start_key}").triggered.connect(lambda: self.startPauseRequested.emit())
        menu.addSeparator()
        click = QAction(f"Click-through\t{self._leave_shortcut}", menu, checkable=True)
        click.setChecked(self._click_through)
        click.toggled.connect(lambda on: self.clickThroughRequested.emit(bool(on)))
        menu.addAction(click)
        menu.addAction("Hide overlay").triggered.connect(lambda: self.hideRequested.emit())
        menu.addSeparator()
        size = self._style.font_size
        larger = menu.addAction(f"Larger text ({min(size + FONT_STEP, FONT_RANGE[1])} px)")
        larger.setEnabled(size < FONT_RANGE[1])
        larger.triggered.connect(lambda: self.fontStepRequested.emit(FONT_STEP))
        smaller = menu.addAction(f"Smaller text ({max(size - FONT_STEP, FONT_RANGE[0])} px)")
        smaller.setEnabled(size > FONT_RANGE[0])
        smaller.triggered.connect(lambda: self.fontStepRequested.emit(-FONT_STEP))
        idle = menu.addMenu("When not captioning")
        group = QActionGroup(idle)
        for mode, label in IDLE_MODES.items():
            act = QAction(label, idle, checkable=True)
            act.setChecked(mode == self._idle_mode)
            act.setData(mode)
            act.triggered.connect(lambda _=False, m=mode: self.idleModeChosen.emit(m))
            group.addAction(act)
            idle.addAction(act)
        menu.addSeparator()
        menu.addAction("Settings…").triggered.connect(lambda: self.settingsRequested.emit())
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        # Held here (the previous one goes when replaced): its labels follow the state at each opening.
        self._menu = self.context_menu()
        self._menu.popup(event.globalPos())

    def hideEvent(self, event: QHideEvent) -> None:
        self._bubble.hide()
        super().hideEvent(event)

    def _emit_geometry(self) -> None:
        self._user_moving = False
        self.geometryChangedByUser.emit(self.geometry())


class HintBubble(QWidget):
    """A small note shown just above the overlay; it never takes input, like the overlay it explains."""

    def __init__(self) -> None:
        super().__init__(None)
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
                            | Qt.WindowType.Tool | Qt.WindowType.WindowTransparentForInput)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self._text = ""
        self._font = QFont()
        self._font.setPixelSize(13)
        self._font.setBold(True)

    def text(self) -> str:
        return self._text

    def show_above(self, anchor: QWidget, text: str) -> None:
        self._text = text
        fm = QFontMetricsF(self._font)
        w, h = int(fm.horizontalAdvance(text) + 28), int(fm.height() + 12)
        g = anchor.geometry()
        self.setGeometry(g.x() + (g.width() - w) // 2, g.y() - h - 6, w, h)
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(255, 196, 0, 235))
        p.drawRoundedRect(QRectF(self.rect()), self.height() / 2, self.height() / 2)
        p.setFont(self._font)
        p.setPen(QColor("#1b1b1b"))
        p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, self._text)
        p.end()
