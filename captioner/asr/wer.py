"""Word error counting, shared by the accuracy benchmark and the tests that judge captions by words."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^a-z0-9' ]")


def normalize(text: str) -> list[str]:
    """Lower-case words; punctuation other than apostrophes is dropped (captions and references differ there)."""
    return _NOT_WORD.sub(" ", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions + deletions + insertions between the two word sequences (Levenshtein on words)."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one utterance (errors / reference words)."""
    return word_errors(reference, hypothesis) / max(1, len(normalize(reference)))
