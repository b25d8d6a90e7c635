"""Token ids to caption text, from a SentencePiece model or from sherpa-onnx's ``tokens.txt``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

from captioner.asr.errors import ModelFolderError

WORD_BOUNDARY = "\u2581"  # SentencePiece's "▁": the piece starts a new word
LANGUAGE_TAG = re.compile(r"<[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*>")
"""Language tags such as ``<en-US>``, which multilingual models emit in automatic mode: never caption text."""
BLANK_PIECE = "<blk>"
_CONTROL = {"<unk>", "<s>", "</s>", "<pad>", BLANK_PIECE}
_BYTE = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@dataclass(frozen=True)
class TokenTable:
    """sherpa-onnx's ``tokens.txt``: one ``<piece> <id>`` line per token, ids 0..N-1, ``<blk>`` last.

    There is no SentencePiece model in a sherpa-onnx pack, so this is all Captioner knows of the vocabulary:
    the piece text, with ``▁`` marking the start of a word.
    """

    pieces: tuple[str, ...]

    @property
    def blank_id(self) -> int | None:
        return len(self.pieces) - 1 if self.pieces and self.pieces[-1] == BLANK_PIECE else None

    @classmethod
    def parse(cls, text: str, origin: Path) -> TokenTable:
        """Parse ``tokens.txt``; a malformed line, a gap or a duplicate id is a ``ModelFolderError``."""
        by_id: dict[int, str] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            parts = line.rsplit(maxsplit=1)
            # A piece that is itself whitespace (rare) leaves only the id on the line.
            piece, raw_id = (parts[0], parts[1]) if len(parts) == 2 else (" ", parts[0])
            try:
                token_id = int(raw_id)
            except ValueError:
                raise ModelFolderError(f"{origin} line {number} is not '<piece> <id>': {line!r}.",
                                       "Take tokens.txt from the same sherpa-onnx pack as the graphs.") from None
            if token_id in by_id:
                raise ModelFolderError(f"{origin} gives the id {token_id} twice (line {number}).",
                                       "Take tokens.txt from the same sherpa-onnx pack as the graphs.")
            by_id[token_id] = piece
        if not by_id:
            raise ModelFolderError(f"{origin} lists no tokens.", "Take tokens.txt from the same sherpa-onnx pack.")
        if sorted(by_id) != list(range(len(by_id))):
            missing = sorted(set(range(max(by_id) + 1)) - set(by_id))[:5]
            raise ModelFolderError(f"{origin} has gaps in its token ids (missing {missing}).",
                                   "Take tokens.txt from the same sherpa-onnx pack as the graphs.")
        return cls(tuple(by_id[i] for i in range(len(by_id))))


class Tokenizer:
    """Maps token ids to text; per-token text is precomputed so the live path only indexes a list."""

    def __init__(self, model: Path | bytes | TokenTable) -> None:
        self._sp: spm.SentencePieceProcessor | None = None
        self._table: TokenTable | None = None
        if isinstance(model, TokenTable):
            self._table = model
            pieces = list(model.pieces)
            self._control = {i for i, p in enumerate(pieces) if p in _CONTROL}
        else:
            if isinstance(model, bytes):
                self._sp = spm.SentencePieceProcessor(model_proto=model)
            else:
                self._sp = spm.SentencePieceProcessor(model_file=str(model))
            pieces = [str(self._sp.id_to_piece(i)) for i in range(self._sp.get_piece_size())]
            self._control = {i for i in range(len(pieces)) if self._sp.is_control(i)}
        self.size: int = len(pieces)
        self._pieces = pieces
        self._hidden = {i for i, p in enumerate(pieces) if LANGUAGE_TAG.fullmatch(p.lstrip(WORD_BOUNDARY))}
        if self._table is not None:
            self._hidden |= {i for i, p in enumerate(pieces) if p == BLANK_PIECE}
        unknown = {i for i, p in enumerate(pieces) if p == "<unk>" or (self._sp is not None and self._sp.is_unknown(i))}
        self._silent = self._hidden | unknown
        """Never caption text: language tags, the blank, and the unknown piece (SentencePiece shows it as "⁇")."""
        self._texts = [self._piece_text(i) for i in range(self.size)]

    def _piece_text(self, token_id: int) -> str:
        if token_id in self._silent:
            return ""
        piece = self._pieces[token_id]
        if self._sp is not None:
            sp = self._sp
            if sp.is_control(token_id) or sp.is_unknown(token_id) or sp.is_byte(token_id):
                return str(sp.decode([token_id]))
        else:
            if piece in _CONTROL:
                return " \u2047 " if piece == "<unk>" else ""
            byte = _BYTE.fullmatch(piece)
            if byte:
                return bytes([int(byte.group(1), 16)]).decode("latin-1")
        return piece.replace(WORD_BOUNDARY, " ")

    def token_text(self, token_id: int) -> str:
        """Text of one token; a leading space marks the start of a word."""
        return self._texts[token_id]

    def piece(self, token_id: int) -> str:
        """The raw vocabulary piece (``▁`` included), as ``tokens.txt`` and sherpa-onnx's results spell it."""
        return self._pieces[token_id]

    def decode(self, ids: Sequence[int]) -> str:
        """Detokenisation of a whole sequence: exact SentencePiece, or the pieces joined for a ``tokens.txt``."""
        kept = [i for i in ids if i not in self._silent]
        if self._sp is not None:
            return str(self._sp.decode(kept))
        return "".join(self._texts[i] for i in kept).strip(" ")

    def text_style(self) -> tuple[bool, bool]:
        """``(cased, punctuated)``: whether the vocabulary writes capitals and sentence punctuation."""
        pieces = [self._texts[i] for i in range(self.size) if i not in self._hidden and i not in self._control]
        cased = any(any(ch.isupper() for ch in p) for p in pieces)
        punctuated = any(any(ch in ".,?!" for ch in p) for p in pieces)
        return cased, punctuated

    def is_language_tag(self, token_id: int) -> bool:
        return token_id in self._hidden and self._pieces[token_id] != BLANK_PIECE

    def encode(self, text: str) -> list[int]:
        if self._sp is None:
            raise NotImplementedError("a tokens.txt vocabulary has no encoder (sherpa-onnx packs ship none)")
        return [int(i) for i in self._sp.encode(text)]
