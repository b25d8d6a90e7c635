"""Word-wrapping captions into the last N lines, committed and tentative words kept apart.

Pure layout (widths come from a callable) so the overlay's paint code stays short and this logic
is testable without pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    text: str
    tentative: bool
    label: bool = False
    """A source's label ("You:"): drawn apart from the words, and the start of a new line."""


def wrap_tail(words: list[Word], max_width: float, lines: int, width_of: Callable[[Word], float],
              space: float) -> list[list[Word]]:
    """Greedy wrap of ``words`` to ``max_width``; returns only the last ``lines`` lines.

    ``width_of`` takes the word (not just its text) because tentative words use another font.
    """
    out: list[list[Word]] = []
    current: list[Word] = []
    used = 0.0
    for w in words:
        ww = width_of(w)
        needed = ww if not current else used + space + ww
        if current and (needed > max_width or w.label):
            out.append(current)
            current, used = [w], ww
        else:
            current.append(w)
            used = needed
    if current:
        out.append(current)
    return out[-lines:] if lines > 0 else []


def to_words(committed: str, tentative: str) -> list[Word]:
    """The open line is drawn as final except its last word: greedy streaming never revises an emitted word,
    but the last one may still grow by another piece ("meet" becoming "meeting")."""
    open_words = tentative.split()
    return ([Word(t, False) for t in committed.split()] + [Word(t, False) for t in open_words[:-1]]
            + [Word(t, True) for t in open_words[-1:]])


def to_labelled_words(committed: list[tuple[str, str]], tentative: tuple[str, str]) -> list[Word]:
    """Like ``to_words`` for captions of several sources: ``(source, text)`` pieces; where the source changes,
    its label starts a new line, so a reader sees at once who is speaking."""
    words: list[Word] = []
    last = ""
    for i, (source, text) in enumerate([*committed, tentative]):
        final = i < len(committed)
        piece = to_words(text, "") if final else to_words("", text)
        if source and source != last and piece:
            words.append(Word(f"{source}:", False, label=True))
        if piece:
            last = source or last
        words += piece
    return words
