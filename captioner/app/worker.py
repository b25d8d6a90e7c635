"""The inference thread: ring buffer → downmix/resample → recognizer → segmenter → Qt signals.

One long-lived ``QThread`` owns the audio input and the recognizer, so the GUI thread never waits
on audio or ONNX Runtime. The GUI talks to it only through a command queue and listens to typed
signals (queued across threads by Qt). It never drifts: if it falls more than ``MAX_BEHIND_S``
behind the audio it skips to the newest audio and commits a gap segment saying so. Audio that never
reached it (ring-buffer overruns, a device outage: the ring buffer's holes) is a gap too, and the
stream clock moves past every gap, so caption times stay on wall-clock time.
"""

# ruff: noqa: N815  (Qt signal names are camelCase)

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import queue
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QThread, Signal

from captioner.app.engine import ModelInfo, ModelRequest, load_recognizer
from captioner.asr.errors import CaptionerError
from captioner.asr.recognizer import StreamingRecognizer, Token
from captioner.asr.segmenter import CaptionSegmenter, Segment
from captioner.audio.capture import AudioInput
from captioner.audio.resample import StreamResampler, to_model_rate
from captioner.audio.ringbuffer import RingBuffer

MAX_BEHIND_S = 2.0  # more unprocessed audio than this: skip ahead
KEEP_AFTER_SKIP_S = 0.1
MAX_CHUNK_S = 0.5  # read at most this much per step so commands stay responsive
IDLE_WAIT_S = 0.02
STATS_EVERY_S = 0.5
LEVEL_EVERY_S = 0.05
SILENCE_DB = -90.0
STATUS_REPEAT_S = 5.0  # the same status line at most this often

log = logging.getLogger(__name__)

InputFactory = Callable[[], AudioInput]


@dataclass(frozen=True)
class Stats:
    """Health of the live pipeline, refreshed twice a second."""

    rtf: float  # compute time / audio time over the last few seconds
    latency_s: float | None  # newest caption's audio: time from entering the ring buffer to emission
    provider: str
    dropped_s: float  # audio lost: ring-buffer overruns + catch-up skips
    behind_s: float  # audio waiting in the ring buffer
    audio_s: float  # session stream time
    device_overflows: int = 0


class InferenceWorker(QThread):
    """Owns audio input and recognizer; all methods except ``run`` are called from the GUI thread."""

    tentativeChanged = Signal(str)
    segmentCommitted = Signal(Segment)
    captionTimed = Signal(float)  # monotonic time the newest captioned audio entered the ring buffer
    statsUpdated = Signal(Stats)
    levelChanged = Signal(float)  # peak dBFS of the latest audio
    modelLoaded = Signal(ModelInfo)
    modelFailed = Signal(str)
    stateChanged = Signal(str)  # "idle", "monitoring", "running", "paused"
    statusMessage = Signal(str)
    inputFailed = Signal(str)
    inputFinished = Signal(str)
    """A file input reached its end; the argument says why it stopped early ("" when it did not)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("captioner-inference")
        self._cmds: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._rec: StreamingRecognizer | None = None
        self._info: ModelInfo | None = None
        self._seg: CaptionSegmenter | None = None
        self._input: AudioInput | None = None
        self._ring: RingBuffer | None = None  # the ring being drained (a replaced one until it is empty)
        self._ring_rate = 0.0
        self._resampler: StreamResampler | None = None
        self._state = "idle"
        self._t = 0.0  # session stream time in seconds (16 kHz samples fed + audio skipped)
        self._offset = 0.0  # stream time of the recognizer's last reset
        self._skipped_s = 0.0
        self._clock_origin: float | None = None  # monotonic time of Start until the session's first audio
        self._timeline: deque[tuple[float, float]] = deque(maxlen=256)  # (stream end, arrival) per chunk
        self._compute: deque[tuple[float, float]] = deque(maxlen=200)  # (compute s, audio s) per chunk
        self._latency: float | None = None
        self._next_stats = 0.0
        self._next_level = 0.0
        self._tentative = ""
        self._waiting: tuple[Any, ...] | None = None  # a command taken off the queue while idling
        self._last_status = ("", 0.0)  # (text, monotonic time) of the last status line emitted
        self.audio_tap: Callable[[np.ndarray], None] | None = None
        """Called (in this thread) with every 16 kHz block fed to the recognizer: tests, diagnostics."""

    # -- GUI-thread API -----------------------------------------------------------------------------
    def load_model(self, req: ModelRequest) -> None:
        self._cmds.put(("model", req))

    def open_input(self, factory: InputFactory) -> None:
        """Open a source (closing the previous one); audio only feeds the level meter until ``start``."""
        self._cmds.put(("open", factory))

    def start_captioning(self, factory: InputFactory | None = None, started_at: float | None = None) -> None:
        """Start a session; with ``factory``, first open that input (atomically: no audio is lost).

        ``started_at`` (``time.monotonic()`` when the user asked) puts the session clock's zero there
        rather than at the first audio: a device can take a second to deliver, and caption times are
        read as wall-clock times from the session's start. None (a file): zero is the file's start.
        """
        self._cmds.put(("start", factory, started_at))

    def pause(self) -> None:
        self._cmds.put(("pause",))

    def resume(self) -> None:
        self._cmds.put(("resume",))

    def stop_captioning(self) -> None:
        self._cmds.put(("stop",))

    def close_input(self) -> None:
        self._cmds.put(("close",))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop cleanly (committing open text) and join the thread.

        Returns False if the thread is still running after ``timeout_ms`` (say, busy loading a large
        model): it will still stop and commit its last lines, so callers must not close what those
        lines go to yet.
        """
        self._cmds.put(("quit",))
        if self.wait(timeout_ms):
            return True
        log.warning("The caption thread did not stop within %d ms; it is still finishing its work.", timeout_ms)
        return False

    # -- thread ------------------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            try:
                if not self._handle_commands():
                    break
                worked = self._step()
            except Exception as exc:  # keep the thread alive; a bug must not kill captions silently
                self._report(exc)
                # A stream left mid-chunk or half-finished would fail on every chunk after this one.
                with contextlib.suppress(Exception):
                    self._restart_stream()
                worked = False
            if not worked:
                # Sleep until a command arrives or it is time to look at the audio again.
                with contextlib.suppress(queue.Empty):
                    self._waiting = self._cmds.get(timeout=IDLE_WAIT_S)
        self._end_session()
        self._close_input()

    def _handle_commands(self) -> bool:
        while True:
            cmd, self._waiting = self._waiting, None
            if cmd is None:
                try:
                    cmd = self._cmds.get_nowait()
                except queue.Empty:
                    return True
            name = cmd[0]
            if name == "quit":
                return False
            if name == "model":
                self._do_load(cmd[1])
            elif name == "open":
                self._do_open(cmd[1])
            elif name == "start":
                if cmd[1] is None:
                    self._do_start(fresh_input=False, started_at=cmd[2])
                elif self._do_open(cmd[1]):
                    self._do_start(fresh_input=True, started_at=cmd[2])
            elif name == "pause" and self._state == "running":
                self._flush()
                self._set_state("paused")
            elif name == "resume" and self._state == "paused":
                self._restart_stream()
                self._set_state("running")
            elif name == "stop":
                self._end_session()
            elif name == "close":
                self._end_session()
                self._close_input()

    def _status(self, text: str) -> None:
        """Emit a status line; the same line again only after ``STATUS_REPEAT_S``, so a failure that
        repeats on every chunk cannot flood the GUI thread with ~50 messages a second."""
        now = time.monotonic()
        last, at = self._last_status
        if text == last and now - at < STATUS_REPEAT_S:
            return
        self._last_status = (text, now)
        self.statusMessage.emit(text)

    def _report(self, exc: Exception) -> None:
        self._status(f"Internal error in the caption thread: {type(exc).__name__}: {exc}")

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    # -- commands ----------------------------------------------------------------------------------
    def _do_load(self, req: ModelRequest) -> None:
        try:
            rec, info = load_recognizer(req)
        except CaptionerError as exc:
            self.modelFailed.emit(str(exc))
            return
        except Exception as exc:
            self.modelFailed.emit(f"The model could not be loaded: {type(exc).__name__}: {exc}")
            return
        self._flush()  # commit what the old model decoded before swapping
        self._rec, self._info = rec, info
        self._seg = CaptionSegmenter(rec.tokenizer.decode, rec.frame_s)
        if self._input is not None:
            self._bind_ring()
        self._restart_stream()
        self.modelLoaded.emit(info)

    def _do_open(self, factory: InputFactory) -> bool:
        was_running = self._state in ("running", "paused")
        self._flush()
        self._close_input()
        try:
            source = factory()
            source.open()
        except CaptionerError as exc:
            self.inputFailed.emit(str(exc))
            self._set_state("idle")
            return False
        self._input = source
        self._bind_ring()
        self._restart_stream()
        self._set_state("running" if was_running else "monitoring")
        return True

    def _do_start(self, fresh_input: bool, started_at: float | None) -> None:
        if self._input is None:
            self.inputFailed.emit("No audio source is open: pick one in the main window.")
            return
        if self._rec is None:
            self.modelFailed.emit("No model is loaded: choose a model folder in Settings.")
            return
        if self._state == "paused":
            self._restart_stream()
            self._set_state("running")
            return
        if self._state == "running":
            return
        self._t = 0.0
        self._skipped_s = 0.0
        self._clock_origin = started_at
        if not fresh_input:  # audio heard before Start only fed the level meter: never caption it
            self._bind_ring()  # (a replaced ring still being drained holds only such audio too)
            self._input.ring.skip(self._input.ring.available())
            self._input.ring.take_missing()
        self._restart_stream()
        self._set_state("running")

    def _end_session(self) -> None:
        if self._state in ("running", "paused"):
            self._flush()
            self._set_state("monitoring" if self._input is not None else "idle")

    def _close_input(self) -> None:
        if self._input is not None:
            self._input.close()
            self._input = None
        if self._state != "idle":
            self._state = "idle"
            self.stateChanged.emit("idle")

    def _bind_ring(self) -> None:
        assert self._input is not None
        self._ring = self._input.ring
        self._ring_rate = self._input.sample_rate
        rate = self._rec.sample_rate if self._rec is not None else 16000
        self._resampler = StreamResampler(self._ring_rate, rate)

    def _restart_stream(self) -> None:
        """Start the recognizer afresh at the current stream time (after pause, gap, model switch)."""
        if self._rec is not None:
            self._rec.reset(start_time_s=self._t)
        self._offset = self._t
        if self._resampler is not None:
            self._resampler.reset()
        self._timeline.clear()

    def _flush(self) -> None:
        """Commit every word decoded so far: recognizer tail, then the segmenter's open line.

        If the recognizer fails on the tail, that tail is lost but the words before it are still
        committed, the command that flushed (pause, model switch, skip) still completes, and the
        stream is restarted: a finished stream refuses every later chunk, so captions would stop.
        """
        if self._rec is None or self._seg is None or self._state not in ("running", "paused"):
            return
        try:
            tokens: list[Token] = []
            try:
                if self._rec.audio_seconds > 0:  # nothing fed: nothing to flush
                    tokens = self._rec.finish()
            except Exception as exc:
                self._report(exc)
            update = self._seg.push(tokens, self._offset + self._rec.decoded_seconds)
            self._publish(update.committed + self._seg.flush(), "", tokens)
        finally:
            self._restart_stream()

    # -- the loop body -------------------------------------------------------------------------------
    def _step(self) -> bool:
        src = self._input
        if src is None:
            return False
        message = src.poll()
        if message:
            self._status(message)
        if src.ring is not self._ring and (self._ring is None or self._ring.available() == 0):
            # The input now writes to a new ring (another device or format). The old one was read to
            # the end first (it gets no more audio), so switching devices loses no words.
            self._flush()
            self._bind_ring()
            self._restart_stream()
        ring = self._ring
        rate = self._ring_rate
        assert ring is not None
        if self._state in ("monitoring", "paused"):
            block = ring.read()
            missing = ring.take_missing()
            if self._state == "paused":  # the session clock runs on through a pause, holes included
                self._t += (len(block) + missing) / rate
            self._emit_level(block)
            self._maybe_stats(ring.available() / rate)
            return False
        if self._state != "running" or self._rec is None:
            return False
        available = ring.available()
        if available / rate > MAX_BEHIND_S:
            skip = available - int(KEEP_AFTER_SKIP_S * rate)
            if ring.holes:  # overruns that made it fall behind sit at the end: one gap covers them too
                skip = max(skip, ring.holes[-1][0] - ring.frames_read)
            self._skip_ahead(skip, rate)
        hole = ring.next_hole()
        if hole is not None and hole <= ring.frames_read:  # reached audio that never arrived
            self._skip_ahead(0, rate)
            hole = ring.next_hole()
        limit = int(MAX_CHUNK_S * rate)
        if hole is not None:
            limit = min(limit, hole - ring.frames_read)  # stop at the hole; the next step marks it
        block = ring.read(limit)
        if len(block) == 0:
            if src.finished:
                self._flush()
                self._close_input()
                self.inputFinished.emit(getattr(src, "problem", None) or "")
            self._maybe_stats(0.0)
            return False
        arrival = ring.last_write_monotonic - ring.available() / rate  # of the block's last frame
        if self._clock_origin is not None:  # the session's first audio: its clock started at Start
            # (max: time already counted before it, a hole or a pause, is part of that wait)
            self._t = max(self._t, arrival - len(block) / rate - self._clock_origin)
            self._clock_origin = None
            self._restart_stream()
        assert self._resampler is not None
        samples = to_model_rate(block, self._resampler)
        if self.audio_tap is not None:
            self.audio_tap(samples)
        self._emit_level(block)
        started = time.perf_counter()
        resets, bad_samples, lost = self._rec.stream_resets, self._rec.nonfinite_samples, self._rec.lost_seconds
        tokens = self._rec.accept(samples)
        compute = time.perf_counter() - started
        if self._rec.nonfinite_samples > bad_samples:
            self._status("The audio held invalid samples (NaN or infinity); they were replaced by silence.")
        if self._rec.stream_resets > resets and self._seg is not None:
            end = self._offset + self._rec.decoded_seconds
            gap = Segment("[captions lost: the model produced invalid values and was restarted]",
                          max(0.0, end - (self._rec.lost_seconds - lost)), end, gap=True)
            self._publish([*self._seg.flush(), gap], "", [])
        self._t += len(samples) / self._rec.sample_rate
        self._timeline.append((self._t, arrival))
        self._compute.append((compute, len(samples) / self._rec.sample_rate))
        assert self._seg is not None
        update = self._seg.push(tokens, self._offset + self._rec.decoded_seconds)
        self._publish(update.committed, update.tentative, tokens)
        self._maybe_stats(ring.available() / rate)
        return True

    def _skip_ahead(self, frames: int, rate: float) -> None:
        """Drop ``frames`` of backlog; commit what was decoded and a gap segment marking the hole.

        The holes reached on the way (audio dropped or never delivered) are part of the gap: the
        stream clock moves past them as well, so the captions after it keep wall-clock times.
        """
        assert self._ring is not None and self._seg is not None
        self._flush()
        start = self._t
        ring = self._ring
        skipped = ring.skip(frames) / rate
        missing = ring.take_missing() / rate
        self._t += skipped + missing
        self._skipped_s += skipped
        committed = self._seg.mark_gap(start, self._t)
        if not skipped:  # nothing was skipped to catch up: audio is missing (device outage, overrun)
            committed[-1] = dataclasses.replace(committed[-1], text=f"[{missing:.1f} s of audio missing]")
        self._publish(committed, "", [])
        self._restart_stream()

    def _publish(self, committed: list[Segment], tentative: str, tokens: list[Token]) -> None:
        for segment in committed:
            self.segmentCommitted.emit(segment)
        if tentative != self._tentative or committed:
            self._tentative = tentative
            self.tentativeChanged.emit(tentative)
        if tokens:
            arrival = self._arrival_of(max(t.start_s for t in tokens))
            if arrival is not None:
                self._latency = time.monotonic() - arrival
                self.captionTimed.emit(arrival)

    def _arrival_of(self, stream_s: float) -> float | None:
        """When the audio at ``stream_s`` entered the ring buffer (chunks arrive at real-time rate)."""
        for end, arrival in self._timeline:
            if end >= stream_s:
                return arrival - (end - stream_s)
        return self._timeline[-1][1] if self._timeline else None

    def _emit_level(self, block: np.ndarray) -> None:
        now = time.monotonic()
        if now < self._next_level or block.size == 0:
            return
        self._next_level = now + LEVEL_EVERY_S
        peak = float(np.max(np.abs(block)))
        self.levelChanged.emit(20 * math.log10(peak) if peak > 1e-9 else SILENCE_DB)

    def _maybe_stats(self, behind_s: float) -> None:
        now = time.monotonic()
        if now < self._next_stats:
            return
        self._next_stats = now + STATS_EVERY_S
        compute = sum(c for c, _ in self._compute)
        audio = sum(a for _, a in self._compute)
        src = self._input
        overrun_s = src.ring.overrun_frames / src.sample_rate if src is not None else 0.0
        overflows = int(getattr(src, "device_overflows", 0)) if src is not None else 0
        provider = self._info.provider if self._info is not None else ""
        self.statsUpdated.emit(Stats(compute / audio if audio else 0.0, self._latency, provider,
                                     overrun_s + self._skipped_s, behind_s, self._t, overflows))
