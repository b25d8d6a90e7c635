"""Device loss mid-meeting: reported in the UI, and captions resume once the device is back.

The app captures the monitor of the private PulseAudio server's null sink through its real capture
path (sounddevice → ALSA ``pulse`` plugin). The test unloads the sink mid-stream, as unplugging a
headset removes its sink, checks the banner the user sees, loads a sink with the same name again and
plays speech into it: the same app instance (same worker, same session) must caption it, with the
outage marked as a gap and caption times still on wall-clock time.

Skipped where PulseAudio or PortAudio is not installed, like test_real_device.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from captioner.app.settings import AppSettings, save_settings
from captioner.asr.recognizer import transcribe_samples
from captioner.audio.file_reader import load_audio
from tests.pulse_server import SINK, PulseServer, best_alignment

from .engine_ref import app_recognizer
from .worker_beats import Beat, Heartbeat
from .worker_spy import record_start_times

if TYPE_CHECKING:
    from captioner.app.controller import CaptionerController

MONITOR_KEY = f"system:{SINK}.monitor"
LABEL = "System audio — Monitor of CaptionerTest"
LOST = f"The audio source “{LABEL}” stopped delivering audio (unplugged?). Waiting for it to come back…"
BACK = f"Audio source back: “{LABEL}”."
DELIVERED_S = 1.5  # after paplay has drained, everything it played reached the capture within this


def test_capture_recovers_when_the_device_comes_back(qtbot: QtBot, pulse: PulseServer, controller_factory,  # type: ignore[no-untyped-def]
                                                     settings_file: Path, model_dir: Path, speech_wav: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    capture = _capture_module()
    from captioner.audio.devices import rescan_portaudio

    began = time.monotonic()
    retries: list[float] = []  # each reopen attempt starts with a PortAudio rescan: count them

    def rescan() -> None:
        retries.append(time.monotonic())
        rescan_portaudio()

    monkeypatch.setattr(capture, "rescan_portaudio", rescan)
    save_settings(AppSettings(model_dir=str(model_dir), source_key=MONITOR_KEY, overlay_visible=True),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory("--autostart")
    tapped: list[np.ndarray] = []
    tapped_at: list[float] = []  # when each block reached the recognizer
    first_fed: list[float] = []  # when the first audio of the session reached the recognizer

    def tap(block: np.ndarray) -> None:  # runs in the worker thread; list.append is atomic
        if not first_fed:
            first_fed.append(time.monotonic() - len(block) / 16000)
        tapped_at.append(time.monotonic())
        tapped.append(block)

    c.worker.audio_tap = tap
    started = record_start_times(c.worker)  # the session clock's zero: Start (autostart: once the model is loaded)
    messages: list[str] = []
    c.worker.statusMessage.connect(messages.append)
    states: list[str] = []
    c.worker.stateChanged.connect(states.append)
    worker_thread = c.worker

    def fed_s() -> float:
        return sum(len(b) for b in list(tapped)) / 16000

    # What the worker had fed and how many reopen attempts had started, read in its thread at each stats signal.
    heart = Heartbeat(c.worker, probe=lambda: (fed_s(), len(tapped), len(retries)))

    # 1. Capturing the monitor: audio (the idle sink's silence) flows into the recognizer.
    qtbot.waitUntil(lambda: c.state == "running", timeout=20_000)
    qtbot.waitUntil(lambda: fed_s() > 0.3, timeout=int(capture.FIRST_CALLBACK_GRACE_S * 1000))
    assert c.window.source.currentData() == MONITOR_KEY

    # 2. The device disappears mid-stream: the loss is reported in the banner, the session stays on.
    removed_at = time.monotonic()
    pulse.remove_sink()
    qtbot.waitUntil(lambda: LOST in messages, timeout=int((capture.STALL_S + 3) * 1000))
    lost_seen = time.monotonic()
    qtbot.waitUntil(lambda: c.window.banner.text() == LOST and not c.window.banner.isHidden(), timeout=2000)
    # The worker has drained what the ring buffer held before the loss: nothing left in it after LOST.
    drained = heart.wait(qtbot, after=lost_seen, where=lambda b: b.stats.behind_s == 0)
    lost_at, lost_blocks, _ = drained.probe
    assert c.state == "running", "the session is not ended by a lost device"
    # Stay unplugged across two reopen attempts (RETRY_S apart), which find no device at all: a stats
    # signal after the second attempt began comes after it failed (both happen in the worker's loop).
    heart.wait(qtbot, where=lambda b: b.probe[2] >= 2, timeout=int((3 * capture.RETRY_S + 2) * 1000))
    assert BACK not in messages, messages
    assert fed_s() == lost_at, "no audio arrives while the device is gone"

    # 3. A device with the same name comes back: the app reopens it by itself (retries every RETRY_S).
    added_at = time.monotonic()
    pulse.add_sink()

    def back() -> None:
        assert BACK in messages, f"the chosen source is reopened, not a fallback: {messages}"

    qtbot.waitUntil(back, timeout=int((2 * capture.RETRY_S + 4) * 1000))
    qtbot.waitUntil(lambda: c.window.banner.text() == BACK, timeout=2000)
    assert c.window.source.currentData() == MONITOR_KEY
    qtbot.waitUntil(lambda: fed_s() > lost_at + 0.2, timeout=int(capture.FIRST_CALLBACK_GRACE_S * 1000))
    resumed_at = len(tapped)

    # 4. Speech played into it is captioned by the same app instance.
    levels: list[float] = []
    c.worker.levelChanged.connect(lambda dbfs, source: levels.append(dbfs))
    player = pulse.play(speech_wav)
    assert player.wait(timeout=15) == 0
    played = time.monotonic()
    qtbot.waitUntil(lambda: c.window.transcript.segments() != [], timeout=5000)
    last = _all_played_is_fed(qtbot, heart, played)
    # The stream clock counted the outage: session time is wall-clock time since Start.
    [zero] = started
    assert zero is not None and zero <= first_fed[0] + 0.05
    clock_error = last.stats.audio_s + last.stats.behind_s - (last.emitted - zero)
    assert abs(clock_error) < 0.5, (last, last.emitted - zero, first_fed[0] - zero)
    c.stop()
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=10_000)
    heart.settle(qtbot)  # nothing else follows the stop (no "idle": the input stays open)

    assert c.worker is worker_thread and c.worker.isRunning(), "no restart of the caption thread"
    assert "idle" not in states, f"the input was never closed: {states}"
    assert max(levels) > -30.0, "the replugged monitor carried the played audio"
    shown = c.window.transcript.segments()
    assert any(not s.gap for s in shown), "captions appeared after the device came back"
    gaps = [s for s in shown if s.gap]
    assert len(gaps) == 1 and gaps[0].text.endswith("s of audio missing]"), gaps
    # The gap runs from the last audio before the loss to the first audio after it, which a sound server
    # may deliver a while after the device is back: no later than it reached the recognizer.
    first_back_fed = tapped_at[lost_blocks]
    assert added_at - removed_at - 0.5 < gaps[0].end_s - gaps[0].start_s < first_back_fed - removed_at + 0.5
    assert c.overlay.committed_text() == c.window.transcript.plain_text()

    # The app captioned exactly what it captured (a stream before the loss and one after the gap:
    # the words before the loss are committed), and what it captured after the device came back is
    # the file that was played.
    rec = app_recognizer(model_dir)
    engine_ids = [t.id for t in transcribe_samples(rec, np.concatenate(tapped[:lost_blocks]))]
    rec.reset()
    engine_ids += [t.id for t in transcribe_samples(rec, np.concatenate(tapped[lost_blocks:]))]
    assert [i for s in shown for i in s.token_ids] == engine_ids
    lag, similarity = best_alignment(np.concatenate(tapped[resumed_at:]), load_audio(speech_wav, 16000))
    print(f"after recovery the captured audio matches the played file at lag {lag / 16000:+.3f} s, "
          f"similarity {similarity:.3f}; session clock off wall-clock time by {clock_error:+.3f} s; "
          f"whole test {time.monotonic() - began:.1f} s")
    assert similarity > 0.9



def test_default_input_stands_in_until_the_chosen_source_is_back(qtbot: QtBot, pulse: PulseServer,  # type: ignore[no-untyped-def]
                                                                controller_factory, settings_file: Path,
                                                                model_dir: Path, speech_wav: Path) -> None:
    """Unplugging the chosen source mid-meeting switches the app to the default input (captions go on);
    plugging it back in switches back by itself, with the short cut marked, and the user's choice in
    the source picker never changes. Real PulseAudio server, real capture path. (The other device
    appears after the unplug: present before, PulseAudio itself would have moved the stream to it.)"""
    capture = _capture_module()
    save_settings(AppSettings(model_dir=str(model_dir), source_key=MONITOR_KEY, overlay_visible=True),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory("--autostart")
    messages: list[str] = []
    c.worker.statusMessage.connect(messages.append)
    tapped: list[np.ndarray] = []
    c.worker.audio_tap = tapped.append
    heart = Heartbeat(c.worker)

    def fed_s() -> float:
        return sum(len(b) for b in list(tapped)) / 16000

    def captions() -> list[str]:
        return [s.text for s in c.window.transcript.segments() if not s.gap]

    def gap_count() -> int:
        return sum(s.gap for s in c.window.transcript.segments())

    qtbot.waitUntil(lambda: c.state == "running", timeout=20_000)
    qtbot.waitUntil(lambda: fed_s() > 0.3, timeout=int(capture.FIRST_CALLBACK_GRACE_S * 1000))

    pulse.remove_sink()
    qtbot.waitUntil(lambda: LOST in messages, timeout=int((capture.STALL_S + 3) * 1000))
    pulse.add_default_source("capother", "Other device")  # e.g. the laptop's own microphone
    fallback = f"“{LABEL}” is gone: captioning from “Default microphone"
    qtbot.waitUntil(lambda: any(m.startswith(fallback) and m.endswith("until it is back.") for m in messages),
                    timeout=int((capture.STALL_S + capture.RETRY_S + 4) * 1000))
    assert c.window.source.currentData() == MONITOR_KEY, "the user's choice is kept"
    fed = fed_s()
    assert pulse.play(speech_wav, sink="capother").wait(timeout=15) == 0
    qtbot.waitUntil(lambda: captions() != [], timeout=5000)  # the stand-in input is captioned
    assert fed_s() > fed + 2.5

    switch_started = time.monotonic()
    pulse.add_sink()
    qtbot.waitUntil(lambda: BACK in messages, timeout=int((2 * capture.SWITCH_BACK_CHECK_S + 4) * 1000))
    switched_after = time.monotonic() - switch_started
    qtbot.waitUntil(lambda: c.window.banner.text() == BACK, timeout=2000)
    shown = len(captions())
    back_at = len(tapped)
    # The chosen source's first audio reached the recognizer: the cut before it is marked (the second gap).
    qtbot.waitUntil(lambda: gap_count() >= 2, timeout=int(capture.FIRST_CALLBACK_GRACE_S * 1000))
    assert pulse.play(speech_wav).wait(timeout=15) == 0
    played = time.monotonic()
    qtbot.waitUntil(lambda: len(captions()) > shown, timeout=5000)  # the chosen source is captioned again
    _all_played_is_fed(qtbot, heart, played)
    lag, similarity = best_alignment(np.concatenate(tapped[back_at:]), load_audio(speech_wav, 16000))
    c.stop()
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=10_000)
    gaps = [s for s in c.window.transcript.segments() if s.gap]
    assert len(gaps) == 2, gaps  # the outage, then the cut while switching back
    assert gaps[1].end_s - gaps[1].start_s < 2.0, gaps[1]  # the sound server takes ~1 s to deliver a new stream
    assert c.window.source.currentData() == MONITOR_KEY
    print(f"switched back {switched_after:.1f} s after the device came back, cut "
          f"{gaps[1].end_s - gaps[1].start_s:.2f} s; played file found at {lag / 16000:+.2f} s, "
          f"similarity {similarity:.3f}")
    assert similarity > 0.9


def _all_played_is_fed(qtbot: QtBot, heart: Heartbeat, played: float) -> Beat:
    """Wait until the recognizer has been fed the audio captured until ``DELIVERED_S`` after ``played``
    (paplay exited): a stats signal emitted with less audio waiting than the time since then."""
    return heart.wait(qtbot, where=lambda b: b.emitted - b.stats.behind_s > played + DELIVERED_S,
                      timeout=int((DELIVERED_S + 10) * 1000))


def _capture_module() -> ModuleType:
    try:
        from captioner.audio import capture
    except OSError:  # sounddevice raises this when the PortAudio library is missing
        pytest.skip("PortAudio (libportaudio2) not installed")
    return capture


class _Clock:
    """``time`` for the capture and its ring buffer: an outage lasts exactly as long as the test says,
    however long a loaded machine takes to run it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _fake_clock(capture: ModuleType, monkeypatch: pytest.MonkeyPatch) -> _Clock:
    from captioner.audio import ringbuffer

    clock = _Clock()
    monkeypatch.setattr(capture, "time", clock)
    monkeypatch.setattr(ringbuffer, "time", clock)
    return clock


class _FakeStream:
    """Stands in for ``sd.InputStream``: opens only while its device is "plugged in"."""

    present: ClassVar[set[str | None]] = set()
    opened: ClassVar[list[str | None]] = []

    def __init__(self, device: int | None, samplerate: float, **_: Any) -> None:
        self.device, self.samplerate, self.active = device, samplerate, False

    def start(self) -> None:
        name = os.environ.get("PULSE_SOURCE")
        if name not in self.present:
            raise RuntimeError("No such entity")
        self.opened.append(name)
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        pass


def test_failed_fallback_attempt_keeps_the_chosen_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hermetic version of the bug the test above found: while *no* device exists, an attempt on the
    default input fails; the chosen source must still be the one reopened when it comes back (it used
    to be replaced by the default input for good)."""
    capture = _capture_module()
    from captioner.audio.devices import SourceInfo

    monitor = SourceInfo(MONITOR_KEY, LABEL, "system", 3, f"{SINK}.monitor", 2, 48000.0)
    default = SourceInfo("default", "Default microphone", "default", 1, None, 2, 44100.0)
    listed: list[SourceInfo] = []
    monkeypatch.setattr(capture, "find_source", lambda key: next((s for s in listed if s.key == key), None))
    monkeypatch.setattr(capture, "rescan_portaudio", lambda: None)
    monkeypatch.setattr(capture.sd, "InputStream", _FakeStream)
    monkeypatch.setattr(_FakeStream, "present", {f"{SINK}.monitor"})
    monkeypatch.setattr(_FakeStream, "opened", [])
    monkeypatch.setattr(capture, "RETRY_S", 0.0)  # every poll while lost is a reopen attempt

    cap = capture.DeviceCapture(monitor)
    cap.open()
    ring = cap.ring
    _FakeStream.present = set()  # the sink and its monitor vanish; the stream dies
    assert cap._stream is not None
    cap._stream.active = False
    assert cap.poll() == LOST
    listed[:] = [default]  # only the default input is listed, and it cannot be opened either
    assert cap.poll() is None
    assert cap.lost and cap.label == LABEL and cap.ring is ring
    _FakeStream.present = {f"{SINK}.monitor", None}  # the monitor is back (and the default works again)
    listed[:] = [default, monitor]
    assert cap.poll() == BACK
    assert not cap.lost and cap.source == monitor and cap.ring is ring
    assert _FakeStream.opened == [f"{SINK}.monitor", f"{SINK}.monitor"]
    cap.close()


def test_outage_leaves_a_hole_as_long_as_the_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    """The time without audio becomes a hole in the ring buffer right where the new audio starts, so
    the worker can mark the gap and keep caption times on wall-clock time. It lasts until the first
    new frame: the sound server may deliver the reopened stream's first block only a second later."""
    capture = _capture_module()
    from captioner.audio.devices import SourceInfo

    monitor = SourceInfo(MONITOR_KEY, LABEL, "system", 3, f"{SINK}.monitor", 2, 48000.0)
    monkeypatch.setattr(capture, "find_source", lambda key: monitor if key == MONITOR_KEY else None)
    monkeypatch.setattr(capture, "rescan_portaudio", lambda: None)
    monkeypatch.setattr(capture.sd, "InputStream", _FakeStream)
    monkeypatch.setattr(_FakeStream, "present", {f"{SINK}.monitor"})
    monkeypatch.setattr(_FakeStream, "opened", [])
    monkeypatch.setattr(capture, "RETRY_S", 0.0)
    clock = _fake_clock(capture, monkeypatch)

    cap = capture.DeviceCapture(monitor)
    cap.open()
    block = np.zeros((960, 2), np.float32)
    for _ in range(5):  # 100 ms heard
        cap._callback(block, 960, None, capture.sd.CallbackFlags())
    heard = cap.ring.frames_written
    assert cap._stream is not None
    cap._stream.active = False
    assert cap.poll() == LOST
    clock.advance(0.3)
    assert cap.poll() == BACK
    clock.advance(0.2)  # the reopened stream delivers its first block only now
    assert not cap.ring.holes
    cap._callback(block, 960, None, capture.sd.CallbackFlags())  # the first block after the outage
    assert len(cap.ring.holes) == 1
    position, frames = cap.ring.holes[0]
    assert position == heard
    assert frames == round((0.5 - 960 / 48000) * 48000)  # from the last frame heard to this block's first
    cap.close()


def _cards(n: int) -> object:
    from captioner.audio.device_watch import DeviceSignature

    return DeviceSignature(f"{n} cards", ("source",))


def test_fallback_input_is_left_for_the_chosen_one_once_it_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chosen source goes, the default input takes over, and the capture returns to the chosen one
    when it is plugged in again. PortAudio is re-scanned (which cuts the running stream) only when the
    device signature changed, plus one second look; fruitless re-scans back off; each cut is a hole."""
    capture = _capture_module()
    from captioner.audio.devices import SourceInfo

    monitor = SourceInfo(MONITOR_KEY, LABEL, "system", 3, f"{SINK}.monitor", 2, 48000.0)
    default = SourceInfo("default", "Default microphone", "default", 1, None, 1, 44100.0)
    listed: list[SourceInfo] = []
    signature = [_cards(1)]
    rescans: list[int] = []
    monkeypatch.setattr(capture, "find_source", lambda key: next((s for s in listed if s.key == key), None))
    monkeypatch.setattr(capture, "rescan_portaudio", lambda: rescans.append(1))
    monkeypatch.setattr(capture, "device_signature", lambda: signature[0])
    monkeypatch.setattr(capture.sd, "InputStream", _FakeStream)
    monkeypatch.setattr(_FakeStream, "present", {f"{SINK}.monitor", None})
    monkeypatch.setattr(_FakeStream, "opened", [])
    monkeypatch.setattr(capture, "RETRY_S", 0.0)
    monkeypatch.setattr(capture, "SWITCH_BACK_CHECK_S", 0.0)
    clock = _fake_clock(capture, monkeypatch)
    block = np.zeros((441, 1), np.float32)

    def hole_s() -> float:
        return cap.ring.holes[-1][1] / cap.sample_rate

    cap = capture.DeviceCapture(monitor)
    cap.open()
    cap._callback(np.zeros((960, 2), np.float32), 960, None, capture.sd.CallbackFlags())
    listed[:] = [default]
    _FakeStream.present = {None}  # unplugged: only the default input is left
    assert cap._stream is not None
    cap._stream.active = False
    assert cap.poll() == LOST
    assert cap.poll() == f"“{LABEL}” is gone: captioning from “Default microphone” until it is back."
    assert cap.source == default and cap.ring.channels == 1 and not cap.lost
    assert cap.poll() is None, "no switch attempt before the fallback delivered its first block"
    clock.advance(0.05)
    cap._callback(block, 441, None, capture.sd.CallbackFlags())  # the fallback delivers audio
    assert len(cap.ring.holes) == 1 and hole_s() == pytest.approx(0.05 - 0.01)  # the outage, to this block

    for _ in range(3):  # nothing changed: the running stream is left alone
        assert cap.poll() is None
    assert len(rescans) == 1 and _FakeStream.opened == [f"{SINK}.monitor", None]

    signature[0] = _cards(2)  # something else was plugged in: a short cut, back on the fallback
    assert cap.poll() is None
    assert cap.source == default and _FakeStream.opened == [f"{SINK}.monitor", None, None] and len(rescans) == 2
    clock.advance(0.05)
    cap._callback(block, 441, None, capture.sd.CallbackFlags())
    assert len(cap.ring.holes) == 2 and hole_s() == pytest.approx(0.05 - 0.01)  # the cut is marked too
    assert cap.poll() is None and len(rescans) == 3, "a change gets a second look"
    cap._callback(block, 441, None, capture.sd.CallbackFlags())
    for _ in range(3):
        assert cap.poll() is None
    assert len(rescans) == 3, "then no more re-scans without a change"

    monkeypatch.setattr(capture, "SWITCH_BACK_CHECK_S", 60.0)
    cap._next_switch_check = 0.0
    assert cap.poll() is None  # a look: unchanged; the next one is due in a minute
    signature[0] = _cards(3)
    assert cap.poll() is None and len(rescans) == 3, "looks are spaced by SWITCH_BACK_CHECK_S"
    cap._next_switch_check = 0.0

    listed[:] = [default, monitor]  # the chosen source is back
    _FakeStream.present = {f"{SINK}.monitor", None}
    assert cap.poll() == BACK
    assert cap.source == monitor and cap.label == LABEL and cap.ring.channels == 2 and cap.sample_rate == 48000.0
    assert _FakeStream.opened[-1] == f"{SINK}.monitor"
    signature[0] = _cards(4)  # on the chosen source, device changes are none of its business
    cap._next_switch_check = 0.0
    assert cap.poll() is None and len(rescans) == 4
    cap.close()


def test_fruitless_switch_attempts_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature that keeps changing without the chosen source coming back (a headset flipping
    profiles when recorded from) must not cut the audio every few seconds."""
    capture = _capture_module()
    from captioner.audio.devices import SourceInfo

    monitor = SourceInfo(MONITOR_KEY, LABEL, "system", 3, f"{SINK}.monitor", 2, 48000.0)
    default = SourceInfo("default", "Default microphone", "default", 1, None, 1, 44100.0)
    listed = [default]
    count = [0]

    def changing() -> object:
        count[0] += 1
        return _cards(count[0])

    monkeypatch.setattr(capture, "find_source", lambda key: next((s for s in listed if s.key == key), None))
    monkeypatch.setattr(capture, "rescan_portaudio", lambda: None)
    monkeypatch.setattr(capture, "device_signature", changing)
    monkeypatch.setattr(capture.sd, "InputStream", _FakeStream)
    monkeypatch.setattr(_FakeStream, "present", {None})
    monkeypatch.setattr(_FakeStream, "opened", [])
    monkeypatch.setattr(capture, "RETRY_S", 0.0)
    cap = capture.DeviceCapture(monitor)
    with pytest.raises(capture.AudioInputError):
        cap.open()
    cap._lost_since = 0.0  # as if it had been lost
    assert cap.poll() is not None and cap.source == default
    delays = []
    for _ in range(6):
        cap._resuming = False
        due = cap._next_switch_check
        delays.append(round(due - time.monotonic()))
        cap._next_switch_check = 0.0
        assert cap.poll() is None
    assert delays == [3, 6, 12, 24, 48, 48]
    cap.close()


def test_without_a_device_signature_the_fallback_says_to_pick_the_source_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where device changes cannot be seen without cutting the stream (no ALSA, no sound server), the
    capture stays on the fallback and tells the user how to get back."""
    capture = _capture_module()
    from captioner.audio.device_watch import DeviceSignature
    from captioner.audio.devices import SourceInfo

    monitor = SourceInfo(MONITOR_KEY, LABEL, "system", 3, f"{SINK}.monitor", 2, 48000.0)
    default = SourceInfo("default", "Default microphone", "default", 1, None, 1, 44100.0)
    listed = [default]
    rescans: list[int] = []
    monkeypatch.setattr(capture, "find_source", lambda key: next((s for s in listed if s.key == key), None))
    monkeypatch.setattr(capture, "rescan_portaudio", lambda: rescans.append(1))
    monkeypatch.setattr(capture, "device_signature", lambda: DeviceSignature(None, None))
    monkeypatch.setattr(capture.sd, "InputStream", _FakeStream)
    monkeypatch.setattr(_FakeStream, "present", {f"{SINK}.monitor", None})
    monkeypatch.setattr(_FakeStream, "opened", [])
    monkeypatch.setattr(capture, "RETRY_S", 0.0)
    monkeypatch.setattr(capture, "SWITCH_BACK_CHECK_S", 0.0)

    cap = capture.DeviceCapture(monitor)
    cap.open()
    assert cap._stream is not None
    cap._stream.active = False
    assert cap.poll() == LOST
    assert cap.poll() == (f"“{LABEL}” is gone: captioning from “Default microphone”. Pick “{LABEL}” again "
                          "in the main window once it is back.")
    listed.append(monitor)
    cap._resuming = False
    for _ in range(3):
        assert cap.poll() is None
    assert cap.source == default and len(rescans) == 1
    cap.close()


def test_a_part_that_cannot_be_read_once_is_no_change() -> None:
    from captioner.audio.device_watch import DeviceSignature

    base = DeviceSignature("1 card", ("mic", "monitor"))
    pactl_failed = DeviceSignature("1 card", None)
    assert not pactl_failed.changed_since(base)
    assert pactl_failed.merged(base) == base
    assert DeviceSignature("1 card", ("mic", "monitor", "headset")).changed_since(base)
    assert DeviceSignature("2 cards", None).changed_since(base)
    assert not DeviceSignature(None, None).readable and base.readable


def test_device_signature_sees_a_new_sound_server_source(pulse: PulseServer, speech_wav: Path, qtbot: QtBot) -> None:
    """The signature changes when a source appears on the real sound server (a headset's microphone, a
    monitor), and not when a stream merely plays on an existing one (pactl's state column changes)."""
    from captioner.audio.device_watch import device_signature

    before = device_signature()
    assert before.server_sources is not None and f"{SINK}.monitor" in before.server_sources
    player = pulse.play(speech_wav)
    qtbot.waitUntil(lambda: pulse.pactl("list", "short", "sink-inputs").stdout.strip() != "", timeout=10_000)
    playing = device_signature()  # while the stream plays
    assert player.wait(timeout=10) == 0
    assert playing == before and not playing.changed_since(before)
    pulse.add_default_source("capother", "Other device")
    after = device_signature()
    assert after.changed_since(before) and "capother.monitor" in (after.server_sources or ())


def _input(c: CaptionerController) -> object:
    """The worker's open input (None while it is being reopened)."""
    channels = c.worker.pipeline.channels
    return channels[0].input if channels else None


def test_picking_the_current_source_again_reconnects_it(qtbot: QtBot, pulse: PulseServer,  # type: ignore[no-untyped-def]
                                                        controller_factory, settings_file: Path, model_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the fallback message tells users without a device signature: picking the source again in
    the main window re-scans PortAudio (finding a device plugged in since) and reopens it."""
    _capture_module()
    from captioner.app import controller as controller_module
    from captioner.audio.devices import rescan_portaudio

    rescans: list[float] = []

    def rescan() -> None:
        rescans.append(time.monotonic())
        rescan_portaudio()

    monkeypatch.setattr(controller_module, "rescan_portaudio", rescan)
    save_settings(AppSettings(model_dir=str(model_dir), source_key=MONITOR_KEY),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=30_000)
    first = _input(c)
    assert rescans == []
    c.window.source.activated.emit(c.window.source.currentIndex())  # the user picks the same entry
    # the worker clears _input while it reopens: wait for the new input, not just for the old one to go
    qtbot.waitUntil(lambda: _input(c) not in (None, first) and c.state == "monitoring", timeout=10_000)
    assert len(rescans) == 1 and c.settings.source_key == MONITOR_KEY
    assert _input(c).source.key == MONITOR_KEY  # type: ignore[union-attr]
