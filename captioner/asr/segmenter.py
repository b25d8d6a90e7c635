"""Grouping the token stream into caption segments: a tentative tail and committed lines.

Greedy streaming tokens never change once emitted, but where a caption line ends is only known
later: after a pause, a sentence end, or when a line grows too long. The segmenter decides that,
so the overlay can show the open line as tentative and the transcript only ever appends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from captioner.asr.recognizer import Token

SENTENCE_END = (".", "?", "!")
PHRASE_END = (",", ";", ":")
MAX_LINE_CHARS = 84
"""A caption line is at most two subtitle lines of about 42 characters."""


@dataclass(frozen=True)
class Segment:
    """A committed caption line; ``gap`` segments mark audio that was skipped, not spoken text."""

    text: str
    start_s: float
    end_s: float
    token_ids: tuple[int, ...] = ()
    gap: bool = False
    source: str = ""
    """The label of the audio source it was heard on ("You", "Others"); "" when there is one source."""
    heard: str = ""
    """What the model recognised, when the user's word replacements or profanity mask changed ``text``."""


@dataclass
class SegmenterUpdate:
    committed: list[Segment] = field(default_factory=list)
    tentative: str = ""


class CaptionSegmenter:
    def __init__(self, decode: Callable[[Sequence[int]], str], frame_s: float, pause_s: float = 0.8,
                 max_line_s: float = 7.0, max_chars: int = MAX_LINE_CHARS, source: str = "") -> None:
        self._decode = decode
        self._source = source
        self._frame_s = frame_s
        self._pause_s = pause_s
        self._max_line_s = max_line_s
        self._max_chars = max_chars
        self._open_chars = 0
        self._open: list[Token] = []
        self._tentative = ""  # decoded text of _open, refreshed only when _open changes

    @property
    def tentative(self) -> str:
        return self._tentative

    @property
    def source(self) -> str:
        return self._source

    @property
    def open_since_s(self) -> float | None:
        """Where the open (uncommitted) line starts; None when nothing is open."""
        return self._open[0].start_s if self._open else None

    def push(self, tokens: Iterable[Token], now_s: float) -> SegmenterUpdate:
        """Add new tokens; ``now_s`` is how far the stream has been decoded (commits after a pause)."""
        update = SegmenterUpdate()
        tokens_seen = False
        for token in tokens:
            tokens_seen = True
            if self._open and self._breaks_before(token):
                update.committed.append(self._commit())
            elif self._open and token.text.startswith(" ") and self._open_chars + len(token.text) > self._max_chars:
                update.committed.append(self._commit(self._phrase_break()))
            self._open.append(token)
            self._open_chars += len(token.text)
            if token.text.rstrip().endswith(SENTENCE_END):
                update.committed.append(self._commit())
        if self._open and now_s - self._open[-1].start_s >= self._pause_s:
            update.committed.append(self._commit())
        if tokens_seen or update.committed:
            self._tentative = self._decode([t.id for t in self._open]).strip()
        update.tentative = self._tentative
        return update

    def flush(self) -> list[Segment]:
        """Commit whatever is open (end of stream, pause, stop)."""
        return [self._commit()] if self._open else []

    def mark_gap(self, start_s: float, end_s: float) -> list[Segment]:
        """Commit the open line, then a gap segment for audio skipped to catch up with real time."""
        out = self.flush()
        out.append(Segment(f"[{end_s - start_s:.1f} s skipped to catch up]", start_s, end_s, gap=True,
                           source=self._source))
        return out

    def _breaks_before(self, token: Token) -> bool:
        last = self._open[-1]
        if token.start_s - last.start_s >= self._pause_s:
            return True
        starts_word = token.text.startswith(" ")
        return starts_word and token.start_s - self._open[0].start_s >= self._max_line_s

    def _phrase_break(self) -> int:
        """Where to end a line that grew too long: after a comma-like mark, else at the longest pause between
        words (speakers pause between phrases, not inside them), the later one on a tie."""
        starts = [i for i, t in enumerate(self._open) if i > 0 and t.text.startswith(" ")]
        if not starts:
            return len(self._open)
        marked = [i for i in starts if self._open[i - 1].text.rstrip().endswith(PHRASE_END)]
        if marked:
            return marked[-1]
        return max(starts, key=lambda i: (self._open[i].start_s - self._open[i - 1].start_s, i))

    def _commit(self, upto: int | None = None) -> Segment:
        taken = self._open if upto is None else self._open[:upto]
        ids = tuple(t.id for t in taken)
        segment = Segment(self._decode(ids).strip(), taken[0].start_s, taken[-1].start_s + self._frame_s, ids,
                          source=self._source)
        self._open = [] if upto is None else self._open[upto:]
        self._open_chars = sum(len(t.text) for t in self._open)
        self._tentative = self._decode([t.id for t in self._open]).strip() if self._open else ""
        return segment


def segment_tokens(tokens: Sequence[Token], decode: Callable[[Sequence[int]], str], frame_s: float
                   ) -> list[Segment]:
    """Offline segmentation of a finished token list (CLI output)."""
    segmenter = CaptionSegmenter(decode, frame_s)
    segments: list[Segment] = []
    for token in tokens:
        segments += segmenter.push([token], now_s=token.start_s).committed
    return segments + segmenter.flush()
