"""Word error counting: the one WER of the project.

Used by the demo model's training (its dev WER), the accuracy benchmark (``benchmarks/demo_model_wer.py``)
and the tests that judge captions by words. Only offline tools and tests count word errors, so it lives
here rather than in the ``captioner`` package the app ships.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w']+|_")
_LANGUAGE_TAG = re.compile(r"<[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*>")


def normalize(text: str) -> list[str]:
    """Case-folded words in any script; punctuation other than apostrophes is dropped.

    Cased, punctuated models (Nemotron: "Good morning, everyone.") and lower-case references must compare
    by words alone, and language tags such as ``<en-US>`` are not words.
    """
    return _NOT_WORD.sub(" ", _LANGUAGE_TAG.sub(" ", text).casefold()).split()


def word_errors(reference: str, hypothesis: str) -> int:
    """Substitutions + deletions + insertions between the two word sequences (Levenshtein on words)."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def word_count(text: str) -> int:
    """How many words :func:`word_errors` compares in ``text`` (the denominator of a WER)."""
    return len(normalize(text))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of one utterance (errors / reference words)."""
    return word_errors(reference, hypothesis) / max(1, word_count(reference))
