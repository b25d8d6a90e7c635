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
    """What the user asked for; ``lookahead_ms=None``: the live default (``live_default_lookahead``)."""

    model_dir: str
    decoder: str = "rnnt"
    lookahead_ms: int | None = None
    provider: str = "auto"
    language: str = ""
    """For language-prompt models; "" or a locale the model lacks: the model's default."""


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
    language: str | None = None
    languages: tuple[str, ...] = ()

    def summary(self) -> str:
        provider = self.provider.removesuffix("ExecutionProvider")
        language = f" · {self.language}" if self.language else ""
        return f"{self.name}{language} · {self.lookahead_ms} ms lookahead · {self.decoder.upper()} · {provider}"


LIVE_LOOKAHEAD_MS = 480


def live_default_lookahead(lookaheads: list[int] | tuple[int, ...]) -> int:
    """The lookahead the app uses until the user picks one: the closest to 480 ms (the smaller on a tie).

    Why not NeMo's default (the first, 1040 ms on NVIDIA's models): live captions must appear within a
    fraction of a second, and a step waits for its chunk plus the lookahead. 480 ms keeps most of the
    accuracy of 1040 ms at half the delay; 80 ms and 0 ms remain a choice in Settings.
    """
    return min(lookaheads, key=lambda ms: (abs(ms - LIVE_LOOKAHEAD_MS), ms))


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
    lookahead = req.lookahead_ms if req.lookahead_ms in lookaheads else live_default_lookahead(lookaheads)
    languages = tuple(sorted(spec.prompt.dictionary)) if spec.prompt else ()
    language = req.language if req.language in languages else None
    rec = StreamingRecognizer(folder, decoder=decoder, lookahead_ms=lookahead, provider=req.provider,
                              language=language)
    info = ModelInfo(spec.name, str(folder.path), decoder, lookahead, tuple(lookaheads),
                     tuple(decoders), rec.provider, time.perf_counter() - started, rec.language, languages)
    return rec, info
