"""The closed vocabularies a user or caller picks from: decoder, streaming mode, execution provider.

``StrEnum`` so a member is also its plain string: settings files, command-line choices and JSON reports keep
the words they always had ("rnnt", "A", "cuda"), while the code passes typed members around. ``parse`` turns
a user's word into a member with a message that lists the choices.
"""

from __future__ import annotations

import enum
from typing import TypeVar

from captioner.errors import CaptionerError


class Decoder(enum.StrEnum):
    RNNT = "rnnt"
    CTC = "ctc"


class StreamingMode(enum.StrEnum):
    """How chunks are fed: NeMo's two reference modes, or as sherpa-onnx streams (see ``recognizer``)."""

    NEMO_A = "A"
    """NeMo's default: a first-chunk graph for step 0, then the pre-encode cache plus a chunk."""
    NEMO_B = "B"
    """NeMo's ``--pad_and_drop_preencoded``: zeros as step 0's pre-encode cache, one graph for every step."""
    SHERPA = "S"
    """sherpa-onnx's: its features, full windows from frame 0, silence appended at the end."""


class Provider(enum.StrEnum):
    """Where ONNX Runtime computes: ``AUTO`` is CUDA when it can really run here, else the CPU."""

    AUTO = "auto"
    CUDA = "cuda"
    CPU = "cpu"


Choice = TypeVar("Choice", Decoder, StreamingMode, Provider)


def parse(kind: type[Choice], value: str | Choice, what: str) -> Choice:
    """``value`` as a member of ``kind``; an unknown word is a ``CaptionerError`` naming the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise CaptionerError(f"Unknown {what} {value!r}; choose {choices}.") from None
