"""What a caller may ask of the pipeline; each command is applied in the pipeline's own thread, in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from captioner.audio.capture import AudioInput
from captioner.live.model_loading import ModelRequest

InputFactory = Callable[[], AudioInput]


@dataclass(frozen=True)
class SourceRequest:
    """One audio source to caption: ``label`` names it in captions ("" when it is the only one)."""

    factory: InputFactory
    label: str = ""
    preferred_on_echo: bool = False
    """When the same words are heard on two sources (a microphone hearing the speakers), this one's are kept."""


@dataclass(frozen=True)
class LoadModel:
    request: ModelRequest


@dataclass(frozen=True)
class OpenSources:
    """Close the open sources and open these; until ``StartSession`` their audio only feeds the level meter."""

    sources: tuple[SourceRequest, ...]


@dataclass(frozen=True)
class StartSession:
    """Start captioning; with ``sources``, open those first, atomically, so no audio is lost.

    ``started_at`` (``time.monotonic()`` when the user asked) puts the session clock's zero there rather than
    at the first audio: a device can take a second to deliver, and caption times are read as wall-clock
    times from the session's start. None (files): zero is where the files start.
    """

    sources: tuple[SourceRequest, ...] | None = None
    started_at: float | None = None


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class StopSession:
    pass


@dataclass(frozen=True)
class CloseSources:
    pass


@dataclass(frozen=True)
class Quit:
    pass


Command = LoadModel | OpenSources | StartSession | Pause | Resume | StopSession | CloseSources | Quit
