"""Loading a model for live captioning: the user's request in, one shared model and its description out.

A :class:`LiveModel` opens the folder's graphs once; every audio source gets its own recognizer stream
over them (``new_stream``), so a second source costs its stream state, not a second copy of the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from captioner.asr.choices import Decoder, Provider, StreamingMode
from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import LoadedModel, StreamingRecognizer


@dataclass(frozen=True)
class ModelRequest:
    """What the user asked for; ``lookahead_ms=None``: the live default (``live_default_lookahead``)."""

    model_dir: str
    decoder: Decoder | str = Decoder.RNNT
    lookahead_ms: int | None = None
    provider: Provider | str = Provider.AUTO
    language: str = ""
    """For language-prompt models; "" or a locale the model lacks: the model's default."""
    mode: StreamingMode | str | None = None
    """NeMo's streaming mode A or B, or S as sherpa-onnx streams; None: the folder's natural one."""
    threads: int | None = None
    """ONNX Runtime intra-op threads; None: its default."""


@dataclass(frozen=True)
class ModelInfo:
    """What is actually running, for the status line and the JSON report."""

    name: str
    path: str
    decoder: Decoder
    lookahead_ms: int
    lookaheads_ms: tuple[int, ...]
    decoders: tuple[Decoder, ...]
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


class LiveModel:
    """One loaded model and the streaming settings every source's stream uses."""

    def __init__(self, model: LoadedModel, decoder: Decoder, lookahead_ms: int, language: str | None,
                 first_stream: StreamingRecognizer, info: ModelInfo) -> None:
        self.model = model
        self.mode = first_stream.mode
        self.decoder = decoder
        self.lookahead_ms = lookahead_ms
        self.language = language
        self.info = info
        self._spare: StreamingRecognizer | None = first_stream

    def new_stream(self) -> StreamingRecognizer:
        """A fresh stream (own caches, decoder state and featurizer) over the shared graphs."""
        if self._spare is not None:  # the stream built while loading proved the graphs work: use it first
            stream, self._spare = self._spare, None
            return stream
        return StreamingRecognizer(self.model, decoder=self.decoder, lookahead_ms=self.lookahead_ms,
                                   mode=self.mode, language=self.language)


def load_live_model(req: ModelRequest) -> LiveModel:
    """Open the model; a decoder or lookahead the folder lacks falls back to what it has.

    Raises ``CaptionerError`` (``ModelFolderError``, ``ProviderError``) with a user-facing message.
    """
    started = time.perf_counter()
    folder = load_model_folder(Path(req.model_dir).expanduser())
    spec = folder.spec
    decoders = spec.decoders()
    decoder = Decoder(req.decoder) if req.decoder in decoders else decoders[0]
    lookaheads = spec.lookaheads_ms()
    lookahead = req.lookahead_ms if req.lookahead_ms in lookaheads else live_default_lookahead(lookaheads)
    languages = tuple(sorted(spec.prompt.dictionary)) if spec.prompt else ()
    language = req.language if req.language in languages else None
    model = LoadedModel(folder, req.provider, req.threads)
    stream = StreamingRecognizer(model, decoder=decoder, lookahead_ms=lookahead, mode=req.mode, language=language)
    info = ModelInfo(spec.name, str(folder.path), decoder, lookahead, tuple(lookaheads),
                     tuple(decoders), stream.provider, time.perf_counter() - started, stream.language, languages)
    return LiveModel(model, decoder, lookahead, stream.language, stream, info)
