"""The inference thread: the Qt side of :class:`captioner.live.pipeline.LivePipeline`.

One long-lived ``QThread`` runs the pipeline, which owns the audio inputs and the model, so the GUI
thread never waits on audio or ONNX Runtime. The GUI speaks to it through the command methods below
and listens to typed signals (queued across threads by Qt).
"""

# ruff: noqa: N815  (Qt signal names are camelCase)

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from captioner.asr.segmenter import Segment
from captioner.live.commands import (
    CloseSources,
    InputFactory,
    LoadModel,
    OpenSources,
    Pause,
    Quit,
    Resume,
    SourceRequest,
    StartSession,
    StopSession,
)
from captioner.live.model_loading import ModelInfo, ModelRequest
from captioner.live.pipeline import LivePipeline
from captioner.live.sink import Stats
from captioner.live.state import PipelineState

__all__ = ["InferenceWorker", "Stats"]

log = logging.getLogger(__name__)


class _SignalSink:
    """The pipeline's sink: every event becomes a Qt signal of the worker."""

    def __init__(self, worker: InferenceWorker) -> None:
        self._w = worker

    def tentative_changed(self, text: str, source: str) -> None:
        self._w.tentativeChanged.emit(text, source)

    def segment_committed(self, segment: Segment) -> None:
        self._w.segmentCommitted.emit(segment)

    def caption_timed(self, arrival: float) -> None:
        self._w.captionTimed.emit(arrival)

    def stats_updated(self, stats: Stats) -> None:
        self._w.statsUpdated.emit(stats)

    def level_changed(self, dbfs: float, source: str) -> None:
        self._w.levelChanged.emit(dbfs, source)

    def model_loaded(self, info: ModelInfo) -> None:
        self._w.modelLoaded.emit(info)

    def model_failed(self, message: str) -> None:
        self._w.modelFailed.emit(message)

    def state_changed(self, state: PipelineState) -> None:
        self._w.stateChanged.emit(state)

    def status_message(self, text: str) -> None:
        self._w.statusMessage.emit(text)

    def input_failed(self, message: str, source: str) -> None:
        self._w.inputFailed.emit(message, source)

    def input_finished(self, problem: str, source: str) -> None:
        self._w.inputFinished.emit(problem, source)


class InferenceWorker(QThread):
    """Runs the live pipeline; all methods except ``run`` are called from the GUI thread."""

    tentativeChanged = Signal(str, str)  # text, source label
    segmentCommitted = Signal(Segment)
    captionTimed = Signal(float)  # monotonic time the newest captioned audio entered the ring buffer
    statsUpdated = Signal(Stats)
    levelChanged = Signal(float, str)  # peak dBFS of the latest audio, source label
    modelLoaded = Signal(ModelInfo)
    modelFailed = Signal(str)
    stateChanged = Signal(object)  # PipelineState
    statusMessage = Signal(str)
    inputFailed = Signal(str, str)  # message, source label
    inputFinished = Signal(str, str)
    """A file input reached its end: why it stopped early ("" when it did not), source label."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("captioner-inference")
        self._sink = _SignalSink(self)
        self.pipeline = LivePipeline(self._sink)

    @property
    def audio_tap(self) -> Callable[[np.ndarray], None] | None:
        """Called (in the worker thread) with every 16 kHz block fed to a stream: tests, diagnostics."""
        return self.pipeline.audio_tap

    @audio_tap.setter
    def audio_tap(self, tap: Callable[[np.ndarray], None] | None) -> None:
        self.pipeline.audio_tap = tap

    # -- GUI-thread API -----------------------------------------------------------------------------
    def load_model(self, req: ModelRequest) -> None:
        self.pipeline.put(LoadModel(req))

    def open_input(self, factory: InputFactory) -> None:
        """Open one source (closing the open ones); audio only feeds the level meter until ``start``."""
        self.open_sources((SourceRequest(factory),))

    def open_sources(self, sources: tuple[SourceRequest, ...]) -> None:
        self.pipeline.put(OpenSources(sources))

    def start_captioning(self, factory: InputFactory | None = None, started_at: float | None = None) -> None:
        """Start a session; with ``factory``, first open that one input (see ``StartSession``)."""
        self.start_session(None if factory is None else (SourceRequest(factory),), started_at)

    def start_session(self, sources: tuple[SourceRequest, ...] | None = None, started_at: float | None = None) -> None:
        self.pipeline.put(StartSession(sources, started_at))

    def pause(self) -> None:
        self.pipeline.put(Pause())

    def resume(self) -> None:
        self.pipeline.put(Resume())

    def stop_captioning(self) -> None:
        self.pipeline.put(StopSession())

    def close_input(self) -> None:
        self.pipeline.put(CloseSources())

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop cleanly (committing open text) and join the thread.

        Returns False if the thread is still running after ``timeout_ms`` (say, busy loading a large model):
        it will still stop and commit its last lines, so callers must not close what those lines go to yet.
        """
        self.pipeline.put(Quit())
        if self.wait(timeout_ms):
            return True
        log.warning("The caption thread did not stop within %d ms; it is still finishing its work.", timeout_ms)
        return False

    # -- thread ------------------------------------------------------------------------------------
    def run(self) -> None:
        self.pipeline.run()
