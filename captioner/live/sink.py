"""Where the pipeline reports: one method per kind of event, called from the pipeline's thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from captioner.asr.segmenter import Segment
from captioner.live.model_loading import ModelInfo
from captioner.live.state import PipelineState


@dataclass(frozen=True)
class Stats:
    """Health of the live pipeline, refreshed twice a second."""

    rtf: float  # compute time per second of each source's audio, all sources together: under 1 keeps up
    latency_s: float | None  # newest caption's audio: time from entering the ring buffer to emission
    provider: str
    dropped_s: float  # audio lost: ring-buffer overruns + catch-up skips, all sources
    behind_s: float  # audio waiting in the most backed-up ring buffer
    audio_s: float  # session stream time
    device_overflows: int = 0
    sources: int = 1
    echoes_dropped: int = 0  # caption lines heard on two sources and shown once


class PipelineSink(Protocol):
    """Receives everything the pipeline has to say; ``source`` is the label of the source concerned."""

    def tentative_changed(self, text: str, source: str) -> None: ...
    def segment_committed(self, segment: Segment) -> None: ...
    def caption_timed(self, arrival: float) -> None:
        """``time.monotonic()`` at which the newest captioned audio entered its ring buffer."""
    def stats_updated(self, stats: Stats) -> None: ...
    def level_changed(self, dbfs: float, source: str) -> None: ...
    def model_loaded(self, info: ModelInfo) -> None: ...
    def model_failed(self, message: str) -> None: ...
    def state_changed(self, state: PipelineState) -> None: ...
    def status_message(self, text: str) -> None: ...
    def input_failed(self, message: str, source: str) -> None: ...
    def input_finished(self, problem: str, source: str) -> None:
        """A finite source (a file) reached its end; ``problem`` says why it stopped early ("" if it did not)."""


class QuietSink:
    """A sink that ignores everything: subclass it and override only the events you need."""

    def tentative_changed(self, text: str, source: str) -> None:
        pass

    def segment_committed(self, segment: Segment) -> None:
        pass

    def caption_timed(self, arrival: float) -> None:
        pass

    def stats_updated(self, stats: Stats) -> None:
        pass

    def level_changed(self, dbfs: float, source: str) -> None:
        pass

    def model_loaded(self, info: ModelInfo) -> None:
        pass

    def model_failed(self, message: str) -> None:
        pass

    def state_changed(self, state: PipelineState) -> None:
        pass

    def status_message(self, text: str) -> None:
        pass

    def input_failed(self, message: str, source: str) -> None:
        pass

    def input_finished(self, problem: str, source: str) -> None:
        pass
