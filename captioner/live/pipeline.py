"""The live loop: ring buffers → downmix/resample → one recognizer stream per source → segmenter → sink.

One thread runs :meth:`LivePipeline.run`; callers speak to it only through :meth:`put` (commands are
applied in order, between chunks) and hear from it only through its :class:`PipelineSink`. Every open
source has its own ring buffer and stream over one loaded model, and each step reads at most
``MAX_CHUNK_S`` from each source in turn, so one busy source cannot starve another.

It never drifts: live (``catch_up=True``), a source that falls more than ``MAX_BEHIND_S`` behind its
audio skips to the newest audio and commits a gap segment saying so. Audio that never reached it
(ring-buffer overruns, a device outage: the ring buffer's holes) is a gap too, and the source's clock
moves past every gap, so caption times stay on wall-clock time. Files read as fast as the model goes
(``catch_up=False``) never skip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from captioner.asr.recognizer import Token
from captioner.asr.segmenter import Segment
from captioner.audio.resample import to_model_rate
from captioner.errors import CaptionerError
from captioner.live.channel import SourceChannel
from captioner.live.commands import (
    CloseSources,
    Command,
    LoadModel,
    OpenSources,
    Pause,
    Quit,
    Resume,
    SourceRequest,
    StartSession,
    StopSession,
)
from captioner.live.echo import EchoFilter
from captioner.live.model_loading import LiveModel, ModelRequest, load_live_model
from captioner.live.sink import PipelineSink, Stats
from captioner.live.state import PipelineState

MAX_BEHIND_S = 2.0  # more unprocessed audio than this: skip ahead
KEEP_AFTER_SKIP_S = 0.1
MAX_CHUNK_S = 0.5  # read at most this much per source and step, so commands stay responsive
IDLE_WAIT_S = 0.02
STATS_EVERY_S = 0.5
LEVEL_EVERY_S = 0.05
SILENCE_DB = -90.0
STATUS_REPEAT_S = 5.0  # the same status line at most this often

log = logging.getLogger(__name__)

ModelLoader = Callable[[ModelRequest], LiveModel]


class LivePipeline:
    """Owns the audio inputs and the model; all work happens in the thread that calls :meth:`run`."""

    def __init__(self, sink: PipelineSink, *, catch_up: bool = True, loader: ModelLoader = load_live_model) -> None:
        self._sink = sink
        self._catch_up = catch_up
        self._loader = loader
        self._cmds: queue.Queue[Command] = queue.Queue()
        self._model: LiveModel | None = None
        self._channels: list[SourceChannel] = []
        self._state = PipelineState.IDLE
        self._echo = EchoFilter()
        self._compute: deque[tuple[float, float]] = deque(maxlen=200)  # (compute s, audio s) per chunk
        self._latency: float | None = None
        self._next_stats = 0.0
        self._waiting: Command | None = None  # a command taken off the queue while idling
        self._last_status = ("", 0.0)  # (text, monotonic time) of the last status line
        self.audio_tap: Callable[[np.ndarray], None] | None = None
        """Called (in the pipeline's thread) with every model-rate block fed to a stream: tests, diagnostics."""

    # -- any thread ---------------------------------------------------------------------------------
    def put(self, command: Command) -> None:
        self._cmds.put(command)

    @property
    def state(self) -> PipelineState:
        return self._state

    @property
    def model(self) -> LiveModel | None:
        return self._model

    @property
    def channels(self) -> tuple[SourceChannel, ...]:
        return tuple(self._channels)

    @property
    def echoes_dropped(self) -> int:
        """Caption lines of this session heard on two sources and shown once."""
        return self._echo.dropped

    # -- the pipeline's thread -----------------------------------------------------------------------
    def run(self) -> None:
        """Apply commands and caption until ``Quit``; then commit open text and close every source."""
        if threading.current_thread() is not threading.main_thread():  # log lines name it, not "Dummy-1"
            threading.current_thread().name = "captioner-pipeline"
        while True:
            try:
                if not self._handle_commands():
                    break
                worked = self._step()
            except Exception as exc:  # keep the loop alive; a bug must not end captions silently
                self._report(exc)
                for channel in self._channels:
                    with contextlib.suppress(Exception):  # a half-finished stream fails every later chunk
                        channel.restart()
                worked = False
            if not worked:
                with contextlib.suppress(queue.Empty):  # sleep until a command or audio is due
                    self._waiting = self._cmds.get(timeout=IDLE_WAIT_S)
        self._end_session()
        self._close_sources()
        log.info("The caption pipeline stopped")

    def _handle_commands(self) -> bool:
        while True:
            cmd, self._waiting = self._waiting, None
            if cmd is None:
                try:
                    cmd = self._cmds.get_nowait()
                except queue.Empty:
                    return True
            match cmd:
                case Quit():
                    return False
                case LoadModel(request):
                    self._load(request)
                case OpenSources(sources):
                    self._open(sources)
                case StartSession(sources, started_at):
                    if sources is None:
                        self._start(fresh_input=False, started_at=started_at)
                    elif self._open(sources):
                        self._start(fresh_input=True, started_at=started_at)
                case Pause() if self._state is PipelineState.RUNNING:
                    self._flush_all()
                    self._set_state(PipelineState.PAUSED)
                case Resume() if self._state is PipelineState.PAUSED:
                    for channel in self._channels:
                        channel.restart()
                    self._set_state(PipelineState.RUNNING)
                case StopSession():
                    self._end_session()
                case CloseSources():
                    self._end_session()
                    self._close_sources()

    def _status(self, text: str) -> None:
        """Report a status line; the same line again only after ``STATUS_REPEAT_S``, so a failure that repeats
        on every chunk cannot flood the receiver with ~50 messages a second."""
        now = time.monotonic()
        last, at = self._last_status
        if text == last and now - at < STATUS_REPEAT_S:
            return
        self._last_status = (text, now)
        log.info("Status: %s", text)
        self._sink.status_message(text)

    def _report(self, exc: Exception) -> None:
        log.error("Error in the caption pipeline", exc_info=exc)
        self._status(f"Internal error in the caption thread: {type(exc).__name__}: {exc}")

    def _set_state(self, state: PipelineState) -> None:
        if state is not self._state:
            self._state = state
            log.info("Captioning state: %s", state.value)
            self._sink.state_changed(state)

    # -- commands ------------------------------------------------------------------------------------
    def _load(self, request: ModelRequest) -> None:
        try:
            model = self._loader(request)
        except CaptionerError as exc:
            log.warning("Model refused: %s", exc)
            self._sink.model_failed(str(exc))
            return
        except Exception as exc:
            log.exception("Loading %s failed", request.model_dir)
            self._sink.model_failed(f"The model could not be loaded: {type(exc).__name__}: {exc}")
            return
        self._flush_all()  # commit what the old model decoded before swapping
        self._model = model
        for channel in self._channels:
            channel.attach(model)
        log.info("Model loaded: %s (%.2f s)", model.info.summary(), model.info.load_s)
        self._sink.model_loaded(model.info)

    def _open(self, requests: tuple[SourceRequest, ...]) -> bool:
        """Replace the open sources; True if at least one opened."""
        was_in_session = self._state.in_session
        self._flush_all()
        self._close_channels()
        for request in requests:
            try:
                source = request.factory()
                source.open()
            except CaptionerError as exc:
                log.warning("Source %r failed to open: %s", request.label, exc)
                self._sink.input_failed(str(exc), request.label)
                continue
            log.info("Source opened: %s (%s, %.0f Hz)", request.label or "(only)", source.label, source.sample_rate)
            self._channels.append(SourceChannel(request, source, self._model))
        self._configure_echo()
        if not self._channels:
            self._set_state(PipelineState.IDLE)
            return False
        self._set_state(PipelineState.RUNNING if was_in_session else PipelineState.MONITORING)
        return True

    def _configure_echo(self) -> None:
        preferred = next((c.label for c in self._channels if c.preferred_on_echo), None)
        self._echo.reset(preferred if len(self._channels) > 1 else None)

    def _start(self, fresh_input: bool, started_at: float | None) -> None:
        if not self._channels:
            self._sink.input_failed("No audio source is open: pick one in the main window.", "")
            return
        if self._model is None:
            self._sink.model_failed("No model is loaded: choose a model folder in Settings.")
            return
        if self._state is PipelineState.PAUSED:
            for channel in self._channels:
                channel.restart()
            self._set_state(PipelineState.RUNNING)
            return
        if self._state is PipelineState.RUNNING:
            return
        self._echo.dropped = 0
        for channel in self._channels:
            channel.t = 0.0
            channel.skipped_s = 0.0
            channel.clock_origin = started_at
            if not fresh_input:  # audio heard before Start only fed the level meter: never caption it
                channel.bind_ring()  # (a replaced ring still being drained holds only such audio too)
                channel.ring.skip(channel.ring.available())
                channel.ring.take_missing()
            channel.restart()
        self._set_state(PipelineState.RUNNING)

    def _end_session(self) -> None:
        if self._state.in_session:
            self._flush_all()
            self._next_stats = 0.0
            self._maybe_stats()  # the session's final figures, not ones up to half a second old
            self._set_state(PipelineState.MONITORING if self._channels else PipelineState.IDLE)

    def _close_sources(self) -> None:
        self._close_channels()
        self._set_state(PipelineState.IDLE)

    def _close_channels(self) -> None:
        for channel in self._channels:
            channel.input.close()
        self._channels.clear()

    def _flush(self, channel: SourceChannel) -> None:
        """Commit every word of one source decoded so far: the stream's tail, then the segmenter's open line.

        If the stream fails on the tail, that tail is lost but the words before it are still committed, the
        command that flushed (pause, model switch, skip) still completes, and the stream is restarted: a
        finished stream refuses every later chunk, so captions would stop.
        """
        stream, segmenter = channel.stream, channel.segmenter
        if stream is None or segmenter is None or not self._state.in_session:
            return
        try:
            tokens: list[Token] = []
            try:
                if stream.audio_seconds > 0:  # nothing fed: nothing to flush
                    tokens = stream.finish()
            except Exception as exc:
                self._report(exc)
            update = segmenter.push(tokens, channel.decoded_s)
            self._publish(channel, update.committed + segmenter.flush(), "", tokens)
        finally:
            channel.restart()

    def _flush_all(self) -> None:
        for channel in self._channels:
            self._flush(channel)
        for segment in self._echo.flush():
            self._sink.segment_committed(segment)

    # -- the loop body -------------------------------------------------------------------------------
    def _step(self) -> bool:
        worked = False
        for channel in list(self._channels):
            try:
                worked = self._step_source(channel) or worked
            except Exception as exc:  # one failing source must not stop the others
                self._report(exc)
                with contextlib.suppress(Exception):
                    channel.restart()
        self._release_echoes()
        self._maybe_stats()
        return worked

    def _step_source(self, channel: SourceChannel) -> bool:
        src = channel.input
        message = src.poll()
        if message:
            self._status(message)
        if src.ring is not channel.ring and channel.ring.available() == 0:
            # The input now writes to a new ring (another device or format). The old one was read to the end
            # first (it gets no more audio), so switching devices loses no words.
            self._flush(channel)
            channel.bind_ring()
            channel.restart()
        ring, rate = channel.ring, channel.ring_rate
        if self._state in (PipelineState.MONITORING, PipelineState.PAUSED):
            block = ring.read()
            missing = ring.take_missing()
            if self._state is PipelineState.PAUSED:  # the session clock runs on through a pause, holes included
                channel.t += (len(block) + missing) / rate
            self._level(channel, block)
            return False
        stream, segmenter = channel.stream, channel.segmenter
        if self._state is not PipelineState.RUNNING or stream is None or segmenter is None:
            return False
        available = ring.available()
        if self._catch_up and available / rate > MAX_BEHIND_S:
            skip = available - int(KEEP_AFTER_SKIP_S * rate)
            if ring.holes:  # overruns that made it fall behind sit at the end: one gap covers them too
                skip = max(skip, ring.holes[-1][0] - ring.frames_read)
            self._skip_ahead(channel, skip)
        hole = ring.next_hole()
        if hole is not None and hole <= ring.frames_read:  # reached audio that never arrived
            self._skip_ahead(channel, 0)
            hole = ring.next_hole()
        limit = int(MAX_CHUNK_S * rate)
        if hole is not None:
            limit = min(limit, hole - ring.frames_read)  # stop at the hole; the next step marks it
        block = ring.read(limit)
        if len(block) == 0:
            if src.finished:
                self._finish_source(channel)
            return False
        arrival = ring.last_write_monotonic - ring.available() / rate  # of the block's last frame
        if channel.clock_origin is not None:  # the source's first audio: its clock started at Start
            # (max: time already counted before it, a hole or a pause, is part of that wait)
            channel.t = max(channel.t, arrival - len(block) / rate - channel.clock_origin)
            channel.clock_origin = None
            channel.restart()
        samples = to_model_rate(block, channel.resampler)
        if self.audio_tap is not None:
            self.audio_tap(samples)
        self._level(channel, block)
        started = time.perf_counter()
        resets, bad_samples, lost = stream.stream_resets, stream.nonfinite_samples, stream.lost_seconds
        tokens = stream.accept(samples)
        compute = time.perf_counter() - started
        if stream.nonfinite_samples > bad_samples:
            log.warning("%d invalid samples (NaN or infinity) from %s replaced by silence",
                        stream.nonfinite_samples - bad_samples, channel.label or "the source")
            self._status("The audio held invalid samples (NaN or infinity); they were replaced by silence.")
        if stream.stream_resets > resets:
            log.warning("The model's output was not finite; the stream of %s was restarted (%.1f s lost)",
                        channel.label or "the source", stream.lost_seconds - lost)
            end = channel.decoded_s
            gap = Segment("[captions lost: the model produced invalid values and was restarted]",
                          max(0.0, end - (stream.lost_seconds - lost)), end, gap=True, source=channel.label)
            self._publish(channel, [*segmenter.flush(), gap], "", [])
        seconds = len(samples) / stream.sample_rate
        channel.t += seconds
        channel.timeline.append((channel.t, arrival))
        self._compute.append((compute, seconds))
        update = segmenter.push(tokens, channel.decoded_s)
        self._publish(channel, update.committed, update.tentative, tokens)
        return True

    def _finish_source(self, channel: SourceChannel) -> None:
        """A file source delivered everything: commit its words and close it; the session ends with the last."""
        self._flush(channel)
        problem = getattr(channel.input, "problem", None) or ""
        channel.input.close()
        self._channels.remove(channel)
        if not self._channels:
            for segment in self._echo.flush():
                self._sink.segment_committed(segment)
            self._set_state(PipelineState.IDLE)
        self._sink.input_finished(problem, channel.label)

    def _skip_ahead(self, channel: SourceChannel, frames: int) -> None:
        """Drop ``frames`` of backlog; commit what was decoded and a gap segment marking the hole.

        The holes reached on the way (audio dropped or never delivered) are part of the gap: the source's
        clock moves past them as well, so the captions after it keep wall-clock times.
        """
        assert channel.segmenter is not None
        self._flush(channel)
        start = channel.t
        ring, rate = channel.ring, channel.ring_rate
        skipped = ring.skip(frames) / rate
        missing = ring.take_missing() / rate
        channel.t += skipped + missing
        channel.skipped_s += skipped
        committed = channel.segmenter.mark_gap(start, channel.t)
        if not skipped:  # nothing was skipped to catch up: audio is missing (device outage, overrun)
            committed[-1] = dataclasses.replace(committed[-1], text=f"[{missing:.1f} s of audio missing]")
        log.info("Gap in %s: %s", channel.label or "the source", committed[-1].text)
        self._publish(channel, committed, "", [])
        channel.restart()

    def _publish(self, channel: SourceChannel, committed: list[Segment], tentative: str, tokens: list[Token]) -> None:
        for segment in committed:
            for shown in self._echo.push(segment):
                self._sink.segment_committed(shown)
        if tentative != channel.tentative or committed:
            channel.tentative = tentative
            self._sink.tentative_changed(tentative, channel.label)
        if tokens:
            arrival = channel.arrival_of(max(t.start_s for t in tokens))
            if arrival is not None:
                self._latency = time.monotonic() - arrival
                self._sink.caption_timed(arrival)

    def _release_echoes(self) -> None:
        if self._echo.preferred is None:
            return
        preferred = next((c for c in self._channels if c.label == self._echo.preferred), None)
        listening = preferred is not None and self._state is PipelineState.RUNNING and preferred.stream is not None
        decoded = preferred.decoded_s if listening and preferred is not None else None
        open_since = preferred.segmenter.open_since_s if listening and preferred and preferred.segmenter else None
        for segment in self._echo.release(decoded, open_since):
            self._sink.segment_committed(segment)

    def _level(self, channel: SourceChannel, block: np.ndarray) -> None:
        now = time.monotonic()
        if now < channel.next_level or block.size == 0:
            return
        channel.next_level = now + LEVEL_EVERY_S
        peak = float(np.max(np.abs(block)))
        self._sink.level_changed(20 * math.log10(peak) if peak > 1e-9 else SILENCE_DB, channel.label)

    def _maybe_stats(self) -> None:
        now = time.monotonic()
        if now < self._next_stats:
            return
        self._next_stats = now + STATS_EVERY_S
        compute = sum(c for c, _ in self._compute)
        audio = sum(a for _, a in self._compute)
        channels = self._channels
        # Sources play at the same time: one second of real time brings a second of audio from each, so the
        # load that must stay under 1 is the compute over the audio of one source, not of all of them.
        audio_per_source = audio / max(1, len(channels))
        self._sink.stats_updated(Stats(
            rtf=compute / audio_per_source if audio_per_source else 0.0,
            latency_s=self._latency,
            provider=self._model.info.provider if self._model is not None else "",
            dropped_s=sum(c.lost_s() for c in channels),
            behind_s=max((c.behind_s() for c in channels), default=0.0),
            audio_s=max((c.t for c in channels), default=0.0),
            device_overflows=sum(int(getattr(c.input, "device_overflows", 0)) for c in channels),
            sources=len(channels),
            echoes_dropped=self._echo.dropped,
        ))
