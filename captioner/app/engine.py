"""Loading a model for the app: settings in, a ready ``StreamingRecognizer`` and its description out.

Qt-free so the worker thread (and ``--smoke-test``) can call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer


@dataclass(frozen=True)
class ModelRequest:
    """What the user asked for; ``lookahead_ms=None`` means the model's default."""

    model_dir: str
    decoder: str = "rnnt"
    lookahead_ms: int | None = None
    provider: str = "auto"


@dataclass(frozen=True)
class ModelInfo:
    """What is actually running, for the status line and the JSON report."""

    name: str
    path: str
    decoder: str
    lookahead_ms: int
    lookaheads_ms: tuple[int, ...]
    decoders: tuple[str, ...]
    provider: str
    load_s: float = 0.0

    def summary(self) -> str:
        provider = self.provider.removesuffix("ExecutionProvider")
        return f"{self.name} · {self.lookahead_ms} ms lookahead · {self.decoder.upper()} · {provider}"


def load_recognizer(req: ModelRequest) -> tuple[StreamingRecognizer, ModelInfo]:
    """Open the model; a decoder or lookahead the folder lacks falls back to what it has.

    Raises ``CaptionerError`` (``ModelFolderError``, ``ProviderError``) with a user-facing message.
    """
    import time

    started = time.perf_counter()
    folder = load_model_folder(Path(req.model_dir).expanduser())
    spec = folder.spec
    decoders = spec.decoders()
    decoder = req.decoder if req.decoder in decoders else decoders[0]
    lookaheads = spec.lookaheads_ms()
    lookahead = req.lookahead_ms if req.lookahead_ms in lookaheads else None
    rec = StreamingRecognizer(folder, decoder=decoder, lookahead_ms=lookahead, provider=req.provider)
    actual_lookahead = lookahead if lookahead is not None else lookaheads[0]
    info = ModelInfo(spec.name, str(folder.path), decoder, actual_lookahead, tuple(lookaheads),
                     tuple(decoders), rec.provider, time.perf_counter() - started)
    return rec, info
