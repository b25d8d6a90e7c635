"""One caption for words heard twice: a microphone that hears the speakers captions the meeting again.

Lines from the other sources wait until the preferred source (system audio, by default) has decoded
past them; a line whose words the preferred source also heard around the same time is an echo and is
dropped. Waiting costs the other sources' transcript lines a couple of seconds; their tentative text
still shows at once.
"""

from __future__ import annotations

import re
from collections import deque
from difflib import SequenceMatcher

from captioner.asr.segmenter import Segment

ECHO_WINDOW_S = 2.0
"""How far apart in time the two sources' versions of the same words may be."""
MATCH_SHARE = 0.6
"""The share of a line's words found in the preferred source's words that makes it an echo."""
SHORT_LINE_WORDS = 3
"""A line of fewer words ("on", "yes please") is an echo only if all of them were heard on the preferred
source within ``SHORT_WINDOW_S``: common short words are said on both sides of a call all the time. The window
allows for the two captures' different delays (each sound server path buffers on its own)."""
SHORT_WINDOW_S = 1.0
KEEP_RECENT_S = 30.0

_WORD = re.compile(r"[\w']+")


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


class EchoFilter:
    """Decides which committed lines to show when several sources are captioned at once."""

    def __init__(self, window_s: float = ECHO_WINDOW_S, share: float = MATCH_SHARE) -> None:
        self.window_s = window_s
        self.share = share
        self.preferred: str | None = None
        """The label whose lines win; None: every line is shown as it comes."""
        self.dropped = 0
        self._held: list[Segment] = []
        self._recent: deque[Segment] = deque()

    def reset(self, preferred: str | None) -> None:
        self.preferred = preferred
        self._held.clear()
        self._recent.clear()

    def push(self, segment: Segment) -> list[Segment]:
        """Take a committed line; returns what may be shown now."""
        if self.preferred is None or segment.gap:
            return [segment]
        if segment.source == self.preferred:
            self._recent.append(segment)
            while self._recent and self._recent[0].end_s < segment.end_s - KEEP_RECENT_S:
                self._recent.popleft()
            return [segment]
        self._held.append(segment)
        return []

    def release(self, preferred_decoded_s: float | None, preferred_open_since_s: float | None) -> list[Segment]:
        """Lines the preferred source can no longer echo: it has decoded past them and holds no open line
        from before their end. ``preferred_decoded_s`` None: it is not listening, so nothing can match."""
        out: list[Segment] = []
        kept: list[Segment] = []
        for segment in self._held:
            horizon = segment.end_s + self.window_s
            settled = (preferred_decoded_s is None or (
                preferred_decoded_s >= horizon
                and (preferred_open_since_s is None or preferred_open_since_s > horizon)))
            if not settled:
                kept.append(segment)
            elif self.is_echo(segment):
                self.dropped += 1
            else:
                out.append(segment)
        self._held = kept
        return out

    def flush(self) -> list[Segment]:
        """Everything still held, echoes left out (end of session, a source closed)."""
        return self.release(None, None)

    def is_echo(self, segment: Segment) -> bool:
        mine = words(segment.text)
        if not mine:
            return False
        short = len(mine) < SHORT_LINE_WORDS
        window, share = (SHORT_WINDOW_S, 1.0) if short else (self.window_s, self.share)
        theirs = [w for s in self._recent
                  if s.end_s >= segment.start_s - window and s.start_s <= segment.end_s + window
                  for w in words(s.text)]
        if not theirs:
            return False
        matched = sum(block.size for block in SequenceMatcher(None, mine, theirs, autojunk=False).get_matching_blocks())
        return matched >= share * len(mine)
