"""The inference thread: typed signals, skip-ahead with a gap marker, pause/stop/model switch."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pytestqt.qtbot import QtBot

from captioner.app.worker import InferenceWorker, Stats
from captioner.asr.recognizer import StreamingRecognizer
from captioner.asr.segmenter import Segment
from captioner.audio.ringbuffer import RingBuffer
from captioner.live.model_loading import ModelInfo, ModelRequest

from .engine_ref import app_recognizer
from .worker_beats import Heartbeat


class FakeInput:
    """An input whose ring buffer the test fills by hand (a device that delivered a burst)."""

    def __init__(self, rate: float = 48000.0, channels: int = 2, seconds: float = 8.0) -> None:
        self.ring = RingBuffer(int(rate * seconds), channels)
        self.sample_rate = rate
        self.label = "fake"
        self.finished = False
        self.opened = self.closed = False

    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True

    def poll(self) -> str | None:
        return None


@pytest.fixture
def worker(qtbot: QtBot, model_dir: Path):
    w = InferenceWorker()
    w.start()
    with qtbot.waitSignal(w.modelLoaded, timeout=30_000) as sig:
        w.load_model(ModelRequest(str(model_dir)))
    assert isinstance(sig.args[0], ModelInfo)
    yield w
    w.shutdown()


def _speech(path: Path, rate: int = 48000) -> np.ndarray:
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    from captioner.audio.resample import StreamResampler

    mono = StreamResampler(sr, rate).process(data[:, 0], last=True)
    return np.stack([mono, mono], axis=1)


def test_model_info_describes_what_runs(worker: InferenceWorker, model_dir: Path, qtbot: QtBot) -> None:
    with qtbot.waitSignal(worker.modelLoaded, timeout=30_000) as sig:
        worker.load_model(ModelRequest(str(model_dir), decoder="ctc", lookahead_ms=999_999, provider="cpu"))
    info: ModelInfo = sig.args[0]
    assert info.provider == "CPUExecutionProvider"
    assert info.lookahead_ms == 480 and 480 in info.lookaheads_ms  # unknown lookahead: the live default
    assert info.decoder in info.decoders


@pytest.mark.parametrize(("lookaheads", "chosen"), [
    ((1040, 480, 80, 0), 480),  # NVIDIA's multi-lookahead models
    ((1040, 80), 80),           # nearest to 480 ms
    ((1040,), 1040),            # the only one
    ((0, 960), 0),              # a tie goes to the shorter delay
])
def test_live_default_lookahead_is_the_closest_to_480_ms(lookaheads: tuple[int, ...], chosen: int) -> None:
    from captioner.live.model_loading import live_default_lookahead

    assert live_default_lookahead(lookaheads) == chosen


def test_bad_model_keeps_the_old_one(worker: InferenceWorker, tmp_path: Path, qtbot: QtBot) -> None:
    with qtbot.waitSignal(worker.modelFailed, timeout=10_000) as sig:
        worker.load_model(ModelRequest(str(tmp_path / "nope")))
    assert str(tmp_path / "nope") in sig.args[0]
    assert worker.pipeline.model is not None


def test_falling_behind_skips_ahead_and_marks_gap(worker: InferenceWorker, speech_wav: Path, qtbot: QtBot) -> None:
    src = FakeInput()
    segments: list[Segment] = []
    worker.segmentCommitted.connect(segments.append)
    stats: list[Stats] = []
    worker.statsUpdated.connect(stats.append)
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    # Not qtbot.waitSignal: stateChanged fires twice ("monitoring", "running"), and the second, queued
    # emission reached the blocker's method after it was freed (a segfault or AttributeError).
    worker.start_captioning(lambda: src)
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)
    audio = _speech(speech_wav)
    burst = np.concatenate([audio, audio])[: int(4.0 * 48000)]  # 4 s arrive at once: >2 s behind
    src.ring.write(burst)
    qtbot.waitUntil(lambda: any(s.gap for s in segments), timeout=10_000)
    gap = next(s for s in segments if s.gap)
    assert 3.5 < gap.end_s - gap.start_s < 4.0
    assert "skipped" in gap.text
    qtbot.waitUntil(lambda: bool(stats) and stats[-1].dropped_s > 3.5, timeout=5000)


def test_pause_drops_audio_and_stop_commits(worker: InferenceWorker, speech_wav: Path, qtbot: QtBot) -> None:
    src = FakeInput()
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    segments: list[Segment] = []
    worker.segmentCommitted.connect(segments.append)
    heart = Heartbeat(worker)
    worker.start_captioning(lambda: src)
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)
    audio = _speech(speech_wav)
    _feed(src, audio, qtbot)  # in 100 ms blocks
    worker.pause()
    qtbot.waitUntil(lambda: states[-1:] == ["paused"], timeout=5000)
    committed_at_pause = list(segments)
    assert committed_at_pause, "pausing commits the open line"
    src.ring.write(audio)  # spoken while paused: must never be captioned
    qtbot.waitUntil(lambda: src.ring.available() == 0, timeout=5000)
    worker.resume()
    worker.stop_captioning()
    qtbot.waitUntil(lambda: states[-1:] == ["monitoring"], timeout=5000)
    heart.settle(qtbot)  # nothing is committed after the stop either
    assert segments == committed_at_pause
    assert all(not s.gap for s in segments)


def test_model_switch_commits_old_text_first(worker: InferenceWorker, other_model_dir: Path, speech_wav: Path,
                                            qtbot: QtBot) -> None:
    src = FakeInput()
    tentative: list[str] = []
    worker.tentativeChanged.connect(lambda text, source: tentative.append(text))
    segments: list[Segment] = []
    worker.segmentCommitted.connect(segments.append)
    worker.start_captioning(lambda: src)
    audio = _speech(speech_wav)
    src.ring.write(audio[: len(audio) // 2])
    qtbot.waitUntil(lambda: src.ring.available() == 0, timeout=5000)
    # No wait for the chunk being decoded: the worker takes commands between chunks, so the switch follows it.
    with qtbot.waitSignal(worker.modelLoaded, timeout=30_000):
        worker.load_model(ModelRequest(str(other_model_dir)))
    assert segments, "text decoded by the old model is committed before the switch"
    assert tentative[-1] == ""


def test_level_signal_follows_the_audio(worker: InferenceWorker, qtbot: QtBot) -> None:
    src = FakeInput(rate=16000, channels=1)
    levels: list[float] = []
    worker.levelChanged.connect(lambda dbfs, source: levels.append(dbfs))
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    worker.open_input(lambda: src)
    qtbot.waitUntil(lambda: states == ["monitoring"], timeout=5000)
    src.ring.write(np.full((1600, 1), 0.5, np.float32))
    qtbot.waitUntil(lambda: any(abs(v - (-6.02)) < 0.1 for v in levels), timeout=3000)


def test_format_change_on_reconnect_commits_decoded_words(worker: InferenceWorker, model_dir: Path,
                                                          speech_wav: Path, qtbot: QtBot) -> None:
    """A device that comes back at another rate/channel count: every word heard before is committed."""

    src = FakeInput()
    heard: list[np.ndarray] = []
    worker.audio_tap = heard.append
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    segments: list[Segment] = []
    worker.segmentCommitted.connect(segments.append)
    heart = Heartbeat(worker)
    worker.start_captioning(lambda: src)
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)
    audio = _speech(speech_wav)
    _feed(src, audio[: len(audio) // 2], qtbot)
    heart.wait(qtbot)  # the step that read the last block has ended: ``heard`` holds all of it
    src.sample_rate = 44100.0
    src.ring = RingBuffer(44100 * 4, 1)  # the device reappeared as 44.1 kHz mono
    engine = app_recognizer(model_dir)
    expected = [t.id for t in engine.accept(np.concatenate(heard))] + [t.id for t in engine.finish()]
    assert expected, "the fixture model emits tokens for this audio"
    qtbot.waitUntil(lambda: sum(len(s.token_ids) for s in segments) >= len(expected), timeout=5000)
    assert [i for s in segments for i in s.token_ids] == expected


def _stream(worker: InferenceWorker) -> StreamingRecognizer:
    """The recognizer stream of the worker's one source (read once the session runs)."""
    stream = worker.pipeline.channels[0].stream
    assert stream is not None
    return stream


def _fail_once(rec: object, when_final: bool, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Make the recognizer's next step with ``final == when_final`` raise, as ONNX Runtime might."""
    real = rec._run  # type: ignore[attr-defined]
    failed: list[bool] = []

    def run(final: bool) -> object:
        if final == when_final and not failed:
            failed.append(True)
            raise RuntimeError("ONNX Runtime failed")
        return real(final)

    monkeypatch.setattr(rec, "_run", run)
    return failed


def _feed(src: FakeInput, audio: np.ndarray, qtbot: QtBot, block: int = 4800) -> None:
    """Deliver ``audio`` block by block, each once the worker has read the one before: faster than real
    time, yet never so far ahead that it skips audio to catch up, however slow the machine."""
    for i in range(0, len(audio), block):
        src.ring.write(audio[i : i + block])
        qtbot.waitUntil(lambda: src.ring.available() == 0, timeout=10_000)


def test_failed_flush_restarts_the_stream(worker: InferenceWorker, speech_wav: Path, qtbot: QtBot,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``finish`` failing on pause used to leave a finished stream: the pause never happened, every
    later chunk failed ("stream has finished") and an error line was emitted ~50 times a second."""
    src = FakeInput()
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    segments: list[Segment] = []
    worker.segmentCommitted.connect(segments.append)
    messages: list[str] = []
    worker.statusMessage.connect(messages.append)
    heart = Heartbeat(worker)
    worker.start_captioning(lambda: src)
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)
    failed = _fail_once(_stream(worker), True, monkeypatch)
    audio = _speech(speech_wav)
    _feed(src, audio, qtbot)
    worker.pause()
    qtbot.waitUntil(lambda: states[-1:] == ["paused"], timeout=5000)
    assert failed, "the tail really failed"
    worker.resume()
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)
    before = len(segments)
    _feed(src, audio, qtbot)
    worker.stop_captioning()
    qtbot.waitUntil(lambda: states[-1:] == ["monitoring"], timeout=5000)
    heart.settle(qtbot)  # no error line comes late
    assert any(s.text and not s.gap for s in segments[before:]), "captions go on after the failure"
    assert [m for m in messages if "RuntimeError" in m] == [
        "Internal error in the caption thread: RuntimeError: ONNX Runtime failed"]


def test_repeated_error_is_reported_at_most_every_few_seconds(worker: InferenceWorker, speech_wav: Path,
                                                              qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    src = FakeInput()
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    messages: list[str] = []
    worker.statusMessage.connect(messages.append)
    heart = Heartbeat(worker)
    worker.start_captioning(lambda: src)
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)

    def broken(final: bool) -> object:
        raise RuntimeError("no GPU memory")

    monkeypatch.setattr(_stream(worker), "_run", broken)  # every chunk fails
    _feed(src, _speech(speech_wav)[: 48000], qtbot, block=2400)  # 1 s in 20 blocks, each one failing
    heart.wait(qtbot)  # the step that read the last block (and failed) has ended
    assert messages == ["Internal error in the caption thread: RuntimeError: no GPU memory"]


@pytest.mark.parametrize("cause", ["overrun", "outage"])
def test_missing_audio_moves_the_stream_clock(worker: InferenceWorker, model_dir: Path, speech_wav: Path,
                                              qtbot: QtBot, cause: str) -> None:
    """Audio dropped by a ring-buffer overrun, or never delivered during a device outage, is a gap:
    the captions after it are timed as if that audio had been heard (wall-clock time)."""
    from captioner.audio.resample import StreamResampler

    rate = 16000
    src = FakeInput(rate=rate, channels=1, seconds=8.0)
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    segments: list[Segment] = []
    worker.segmentCommitted.connect(segments.append)
    heart = Heartbeat(worker)
    worker.start_captioning(lambda: src)
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)
    src.ring.write(np.zeros((rate // 2, 1), np.float32))  # 0.5 s heard
    qtbot.waitUntil(lambda: src.ring.available() == 0, timeout=5000)
    if cause == "overrun":  # the worker stalled while 11 s arrived: 8 s fit, 3 s are dropped
        assert src.ring.write(np.zeros((11 * rate, 1), np.float32)) == 8 * rate
    else:  # the device was gone for 11 s
        src.ring.add_hole(11 * rate)
    qtbot.waitUntil(lambda: any(s.gap for s in segments), timeout=5000)  # before more audio is dropped
    data, sr = sf.read(str(speech_wav), dtype="float32", always_2d=True)
    speech = StreamResampler(sr, rate).process(data[:, 0], last=True)
    _feed(src, speech[:, None], qtbot, block=1600)
    worker.stop_captioning()
    qtbot.waitUntil(lambda: states[-1:] == ["monitoring"], timeout=5000)
    heart.settle(qtbot)  # no second gap comes late

    gaps = [s for s in segments if s.gap]
    assert len(gaps) == 1
    assert gaps[0].start_s == pytest.approx(0.5, abs=0.01) and gaps[0].end_s == pytest.approx(11.5, abs=0.01)
    assert gaps[0].text == ("[11.0 s skipped to catch up]" if cause == "overrun" else "[11.0 s of audio missing]")
    spoken = [s for s in segments if not s.gap and s.start_s >= gaps[0].end_s]
    engine = app_recognizer(model_dir)
    tokens = engine.accept(speech) + engine.finish()
    assert spoken and tokens
    assert [i for s in spoken for i in s.token_ids] == [t.id for t in tokens]
    assert spoken[0].start_s == pytest.approx(11.5 + tokens[0].start_s, abs=0.01)


def test_session_clock_starts_when_the_user_pressed_start(worker: InferenceWorker, model_dir: Path,
                                                          speech_wav: Path, qtbot: QtBot) -> None:
    """A device that takes a while to deliver must not pull every caption time earlier: times count
    from Start (as the session log's start time does), not from the first audio block."""
    from captioner.audio.resample import StreamResampler

    rate, block = 16000, 1600
    src = FakeInput(rate=rate, channels=1, seconds=8.0)
    states: list[str] = []
    worker.stateChanged.connect(states.append)
    segments: list[Segment] = []
    worker.segmentCommitted.connect(segments.append)
    heart = Heartbeat(worker)
    started_at = time.monotonic()
    worker.start_captioning(lambda: src, started_at=started_at)
    qtbot.waitUntil(lambda: states[-1:] == ["running"], timeout=5000)
    qtbot.wait(max(0, int((started_at + 0.8 - time.monotonic()) * 1000)))  # the "device" is silent 0.8 s
    data, sr = sf.read(str(speech_wav), dtype="float32", always_2d=True)
    speech = StreamResampler(sr, rate).process(data[:, 0], last=True)
    first_write = time.monotonic()
    src.ring.write(speech[:block, None])  # read alone: _feed delivers faster than real time
    qtbot.waitUntil(lambda: src.ring.available() == 0, timeout=5000)
    _feed(src, speech[block:, None], qtbot, block=block)
    worker.stop_captioning()
    qtbot.waitUntil(lambda: states[-1:] == ["monitoring"], timeout=5000)
    heart.settle(qtbot)

    engine = app_recognizer(model_dir)
    tokens = engine.accept(speech) + engine.finish()
    assert segments and tokens and not any(s.gap for s in segments)
    assert [i for s in segments for i in s.token_ids] == [t.id for t in tokens], "the words are unchanged"
    # the first block was captured during the 0.1 s before it was delivered
    lead = first_write - block / rate - started_at
    assert lead > 0.6
    assert segments[0].start_s == pytest.approx(lead + tokens[0].start_s, abs=0.05)
