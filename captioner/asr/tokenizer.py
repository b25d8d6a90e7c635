"""SentencePiece tokens to caption text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sentencepiece as spm

WORD_BOUNDARY = "\u2581"  # SentencePiece's "▁": the piece starts a new word


class Tokenizer:
    """Maps token ids to text; per-token text is precomputed so the live path only indexes a list."""

    def __init__(self, model: Path | bytes) -> None:
        if isinstance(model, bytes):
            self._sp = spm.SentencePieceProcessor(model_proto=model)
        else:
            self._sp = spm.SentencePieceProcessor(model_file=str(model))
        self.size: int = self._sp.get_piece_size()
        self._texts = [self._piece_text(i) for i in range(self.size)]

    def _piece_text(self, token_id: int) -> str:
        if self._sp.is_control(token_id) or self._sp.is_unknown(token_id) or self._sp.is_byte(token_id):
            return str(self._sp.decode([token_id]))
        return str(self._sp.id_to_piece(token_id)).replace(WORD_BOUNDARY, " ")

    def token_text(self, token_id: int) -> str:
        """Text of one token; a leading space marks the start of a word."""
        return self._texts[token_id]

    def decode(self, ids: Sequence[int]) -> str:
        """Exact SentencePiece detokenisation of a whole sequence."""
        return str(self._sp.decode(list(ids)))

    def encode(self, text: str) -> list[int]:
        return [int(i) for i in self._sp.encode(text)]
