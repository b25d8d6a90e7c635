"""SentencePiece tokens to caption text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import sentencepiece as spm

WORD_BOUNDARY = "\u2581"  # SentencePiece's "▁": the piece starts a new word
LANGUAGE_TAG = re.compile(r"<[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*>")
"""Language tags such as ``<en-US>``, which multilingual models emit in automatic mode: never caption text."""


class Tokenizer:
    """Maps token ids to text; per-token text is precomputed so the live path only indexes a list."""

    def __init__(self, model: Path | bytes) -> None:
        if isinstance(model, bytes):
            self._sp = spm.SentencePieceProcessor(model_proto=model)
        else:
            self._sp = spm.SentencePieceProcessor(model_file=str(model))
        self.size: int = self._sp.get_piece_size()
        self._hidden = {i for i in range(self.size)
                        if LANGUAGE_TAG.fullmatch(str(self._sp.id_to_piece(i)).lstrip(WORD_BOUNDARY))}
        self._texts = [self._piece_text(i) for i in range(self.size)]

    def _piece_text(self, token_id: int) -> str:
        if token_id in self._hidden:
            return ""
        if self._sp.is_control(token_id) or self._sp.is_unknown(token_id) or self._sp.is_byte(token_id):
            return str(self._sp.decode([token_id]))
        return str(self._sp.id_to_piece(token_id)).replace(WORD_BOUNDARY, " ")

    def token_text(self, token_id: int) -> str:
        """Text of one token; a leading space marks the start of a word."""
        return self._texts[token_id]

    def decode(self, ids: Sequence[int]) -> str:
        """Exact SentencePiece detokenisation of a whole sequence."""
        return str(self._sp.decode([i for i in ids if i not in self._hidden]))

    def text_style(self) -> tuple[bool, bool]:
        """``(cased, punctuated)``: whether the vocabulary writes capitals and sentence punctuation."""
        pieces = [self._texts[i] for i in range(self.size) if i not in self._hidden and not self._sp.is_control(i)]
        cased = any(any(ch.isupper() for ch in p) for p in pieces)
        punctuated = any(any(ch in ".,?!" for ch in p) for p in pieces)
        return cased, punctuated

    def is_language_tag(self, token_id: int) -> bool:
        return token_id in self._hidden

    def encode(self, text: str) -> list[int]:
        return [int(i) for i in self._sp.encode(text)]
