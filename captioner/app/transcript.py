"""The live transcript: timestamped committed lines, the tentative line under them, search and copy.

Only ever appends (committed text never changes), and follows the newest line unless the user has
scrolled up to read, so scrollback is not yanked away mid-sentence. While a search is active, an
appended line is searched on its own: rescanning the whole transcript on every line would grow
costlier the longer the meeting runs.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QShortcut, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from captioner.app import theme
from captioner.app.qt_util import tool_button
from captioner.asr.segmenter import Segment
from captioner.formats import clock, to_timed_text

MAX_HIGHLIGHTS = 5000


class TranscriptView(QWidget):
    """Holds the session's segments (the source of truth for export) and shows them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._segments: list[Segment] = []
        self._source_colours: dict[str, str] = {}
        self._selections: list[QTextEdit.ExtraSelection] = []  # search matches, in document order
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("Transcript")
        self.text.setReadOnly(True)
        self.text.setUndoRedoEnabled(False)
        self.text.setMaximumBlockCount(0)
        self.text.setPlaceholderText("Captions will appear here once you press Start.")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.tentative = QLabel(self)
        self.tentative.setObjectName("TentativeLine")
        self.tentative.setWordWrap(True)
        self.tentative.setTextFormat(Qt.TextFormat.PlainText)
        self.tentative.setMinimumHeight(22)

        self.text.setAccessibleName("Transcript")
        self.text.setAccessibleDescription("Every committed caption line of this session, with its time")
        self.tentative.setAccessibleName("Words being recognised")
        self.search = QLineEdit(self)
        self.search.setAccessibleName("Search the transcript")
        self.search.setPlaceholderText("Search transcript")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._highlight)
        self.search.returnPressed.connect(lambda: self.find_match(forward=True))
        self.matches = QLabel(self)
        self.matches.setObjectName("MatchCount")
        prev_btn = tool_button(self, "↑", "Previous match (Shift+Enter)", lambda: self.find_match(False))
        next_btn = tool_button(self, "↓", "Next match (Enter)", lambda: self.find_match(True))
        copy_btn = tool_button(self, "Copy all", "Copy the whole transcript with timestamps", self.copy_all)
        prev_btn.setAccessibleName("Previous match")
        next_btn.setAccessibleName("Next match")
        self.matches.setAccessibleName("Matches found")
        self.prev_btn, self.next_btn, self.copy_btn = prev_btn, next_btn, copy_btn
        QShortcut(QKeySequence("Shift+Return"), self.search, lambda: self.find_match(forward=False))
        QShortcut(QKeySequence.StandardKey.Find, self, self.focus_search)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(4)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.matches)
        bar.addWidget(prev_btn)
        bar.addWidget(next_btn)
        bar.addSpacing(8)
        bar.addWidget(copy_btn)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.tentative)

    # -- content -----------------------------------------------------------------------------------
    def segments(self) -> list[Segment]:
        return list(self._segments)

    def plain_text(self) -> str:
        """Committed caption text without timestamps or gap markers (what the engine said)."""
        return " ".join(s.text for s in self._segments if s.text and not s.gap)

    def add_segment(self, segment: Segment) -> None:
        if not segment.text:
            return
        self._segments.append(segment)
        bar = self.text.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 4
        stamp = f'<span style="color:{theme.current().timestamp}">[{clock(segment.start_s)}]</span>&nbsp;&nbsp;'
        body = html.escape(segment.text)
        if segment.source and not segment.gap:
            body = f'<b style="color:{self._colour(segment.source)}">{html.escape(segment.source)}:</b> {body}'
        if segment.gap:
            body = f'<i style="color:#b45309">{body}</i>'
        end = self.text.document().characterCount() - 1  # where the text so far ends
        self.text.appendHtml(stamp + body)
        if follow:
            bar.setValue(bar.maximum())
        if self.search.text():
            self._add_matches(self.search.text(), end)

    def _colour(self, source: str) -> str:
        """A steady colour per source, in order of appearance, so a reader can follow who said what."""
        colours = theme.current().sources
        return self._source_colours.setdefault(source, colours[len(self._source_colours) % len(colours)])

    def set_tentative(self, text: str) -> None:
        self.tentative.setText(text)

    def clear(self) -> None:
        self._segments.clear()
        self.text.clear()
        self.tentative.clear()
        self._highlight(self.search.text())

    def transcript_with_times(self) -> str:
        return to_timed_text(self._segments)

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.transcript_with_times())

    # -- search ------------------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def find_match(self, forward: bool = True) -> bool:
        needle = self.search.text()
        if not needle:
            return False
        flags = QTextDocument.FindFlag(0) if forward else QTextDocument.FindFlag.FindBackward
        if self.text.find(needle, flags):
            return True
        cursor = self.text.textCursor()  # wrap around
        cursor.movePosition(QTextCursor.MoveOperation.Start if forward else QTextCursor.MoveOperation.End)
        self.text.setTextCursor(cursor)
        return self.text.find(needle, flags)

    def _highlight(self, needle: str) -> None:
        """Highlight every match of a new search text (the whole transcript is searched)."""
        self._selections = []
        self._add_matches(needle, 0)

    def _add_matches(self, needle: str, position: int) -> None:
        """Add the matches from ``position`` on to the highlighted ones."""
        found = len(self._selections)
        if needle:
            fmt = QTextCharFormat()
            fmt.setBackground(QColor("#fde68a"))
            doc = self.text.document()
            cursor = doc.find(needle, position)
            while not cursor.isNull() and len(self._selections) < MAX_HIGHLIGHTS:
                cursor.setKeepPositionOnInsert(True)  # a match that ends the text must not grow with it
                sel = QTextEdit.ExtraSelection()
                sel.cursor = cursor
                sel.format = fmt
                self._selections.append(sel)
                cursor = doc.find(needle, cursor)
        if position == 0 or len(self._selections) > found:
            self.text.setExtraSelections(self._selections)
        self.matches.setText(f"{len(self._selections)} found" if needle else "")
