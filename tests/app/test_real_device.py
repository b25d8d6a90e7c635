"""Real device: PulseAudio null sink ← paplay; the app captures its monitor through sounddevice.

Skipped where PulseAudio or PortAudio is not installed (CI installs pulseaudio, pulseaudio-utils,
libportaudio2 and libasound2-plugins).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.settings import AppSettings, save_settings
from captioner.asr.recognizer import transcribe_samples
from captioner.audio.file_reader import load_audio
from tests.pulse_server import SINK, PulseServer, best_alignment

from .engine_ref import app_recognizer
from .worker_beats import Heartbeat, nowhere, round_trip
from .worker_spy import record_start_times

MONITOR_KEY = f"system:{SINK}.monitor"
DELIVERED_S = 1.5  # after paplay has drained, everything it played reached the capture within this


def test_monitor_is_listed_as_system_audio(pulse: PulseServer) -> None:
    from captioner.audio.devices import list_sources

    labels = {s.key: s.label for s in list_sources()}
    assert MONITOR_KEY in labels, labels
    assert labels[MONITOR_KEY] == "System audio — Monitor of CaptionerTest"


def test_app_captions_what_the_speakers_play(qtbot: QtBot, pulse: PulseServer, controller_factory,  # type: ignore[no-untyped-def]
                                              settings_file: Path, model_dir: Path, speech_wav: Path) -> None:
    save_settings(AppSettings(model_dir=str(model_dir), source_key=MONITOR_KEY, overlay_visible=True),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory("--autostart")
    tapped: list[np.ndarray] = []
    c.worker.audio_tap = tapped.append  # before captioning starts (it waits for the model)
    levels: list[float] = []
    c.worker.levelChanged.connect(lambda dbfs, source: levels.append(dbfs))
    heart = Heartbeat(c.worker)
    qtbot.waitUntil(lambda: c.state == "running", timeout=30_000)
    # The monitor delivers: audio reaches the recognizer before anything is played.
    qtbot.waitUntil(lambda: sum(len(b) for b in list(tapped)) > 0.3 * 16000, timeout=10_000)
    assert c.window.source.currentData() == MONITOR_KEY
    player = pulse.play(speech_wav)
    assert player.wait(timeout=20) == 0
    played = time.monotonic()
    # Everything played has been fed: a stats signal with less audio waiting than the time since then.
    heart.wait(qtbot, where=lambda b: b.emitted - b.stats.behind_s > played + DELIVERED_S,
               timeout=int((DELIVERED_S + 10) * 1000))
    c.stop()
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=10_000)
    heart.settle(qtbot)
    assert max(levels) > -30.0, "the monitor carried the played audio"
    shown = c.window.transcript.segments()
    assert shown, "captions appeared"
    assert c.overlay.committed_text() == c.window.transcript.plain_text()

    # The app captioned exactly what it captured, and what it captured is the file that was played.
    fed = np.concatenate(tapped)
    rec = app_recognizer(model_dir)
    engine_ids = [t.id for t in transcribe_samples(rec, fed)]
    assert [i for s in shown for i in s.token_ids] == engine_ids
    played = load_audio(speech_wav, 16000)
    lag, similarity = best_alignment(fed, played)
    print(f"captured audio matches the played file at lag {lag / 16000:+.3f} s, similarity {similarity:.3f}")
    assert similarity > 0.9


def test_caption_times_count_from_the_start_click(qtbot: QtBot, pulse: PulseServer, controller_factory,  # type: ignore[no-untyped-def]
                                                  settings_file: Path, model_dir: Path) -> None:
    """The worker puts the session clock's zero at ``started_at`` (tests/app/test_worker.py); a
    device session passes the moment of the click, as the session log's start time is."""
    save_settings(AppSettings(model_dir=str(model_dir), source_key=MONITOR_KEY),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=30_000)
    started = record_start_times(c.worker)
    before = time.monotonic()
    c.start()
    after = time.monotonic()
    qtbot.waitUntil(lambda: c.state == "running", timeout=10_000)
    [started_at] = started
    assert started_at is not None and before <= started_at <= after



def test_capture_calls_back_with_20_ms_blocks(pulse: PulseServer, qtbot: QtBot) -> None:
    """With ``latency="low"`` alone PortAudio may run the Python callback every few milliseconds."""
    from captioner.audio.capture import DeviceCapture, block_frames
    from captioner.audio.devices import find_source

    assert (block_frames(48000), block_frames(44100), block_frames(16000)) == (960, 882, 320)
    source = find_source(MONITOR_KEY)
    assert source is not None
    cap = DeviceCapture(source)
    sizes: list[int] = []
    real = cap._callback

    def callback(indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        sizes.append(frames)
        real(indata, frames, time_info, status)  # type: ignore[arg-type]

    cap._callback = callback  # type: ignore[method-assign]
    cap.open()
    try:
        qtbot.waitUntil(lambda: len(sizes) >= 10, timeout=5000)
    finally:
        cap.close()
    assert set(sizes) == {block_frames(cap.sample_rate)}


def _recording_streams(pulse: PulseServer) -> int:
    """Recording streams open on the test server: what lights a desktop's "microphone in use" icon."""
    out = pulse.pactl("list", "short", "source-outputs")
    assert out.returncode == 0, out.stderr
    return len(out.stdout.splitlines())


def test_the_tray_releases_an_idle_microphone(qtbot: QtBot, pulse: PulseServer, controller_factory,  # type: ignore[no-untyped-def]
                                              settings_file: Path, model_dir: Path) -> None:
    save_settings(AppSettings(model_dir=str(model_dir), source_key=MONITOR_KEY),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    c.tray.available = True  # the offscreen platform has no tray; the controller's policy is what is tested
    heart = Heartbeat(c.worker)
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=30_000)
    qtbot.waitUntil(lambda: _recording_streams(pulse) == 1, timeout=5000)  # the window's level meter listens

    c.window.close()  # to the tray, not captioning: the device is closed
    qtbot.waitUntil(lambda: c.state == "idle", timeout=5000)
    qtbot.waitUntil(lambda: _recording_streams(pulse) == 0, timeout=5000)
    assert c.tray.icon is not None and not c.window.isVisible()

    c.show_window()  # back with the window
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=10_000)
    assert _recording_streams(pulse) == 1

    c.start()  # captioning keeps listening in the tray ...
    qtbot.waitUntil(lambda: c.state == "running", timeout=30_000)
    c.window.close()
    heart.settle(qtbot)  # whatever the close asked of the worker is done
    assert c.state == "running" and _recording_streams(pulse) == 1
    c.stop()  # ... until it stops there
    qtbot.waitUntil(lambda: c.state == "idle", timeout=10_000)
    qtbot.waitUntil(lambda: _recording_streams(pulse) == 0, timeout=5000)
    c.start()  # starting from the tray opens the device again
    qtbot.waitUntil(lambda: c.state == "running", timeout=30_000)
    assert _recording_streams(pulse) == 1


def test_tray_requests_in_quick_succession_are_not_undone_by_late_state_signals(  # type: ignore[no-untyped-def]
        qtbot: QtBot, pulse: PulseServer, controller_factory, settings_file: Path, model_dir: Path,
        tmp_path: Path) -> None:
    """The worker's state signals arrive queued; GUI actions faster than them must still end right."""
    save_settings(AppSettings(model_dir=str(model_dir), source_key=MONITOR_KEY),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    c.tray.available = True
    heart = Heartbeat(c.worker)
    qtbot.waitUntil(lambda: c.state == "monitoring" and _recording_streams(pulse) == 1, timeout=30_000)

    states: list[str] = []  # every state the worker reports, in order: the end of each request shows
    c.worker.stateChanged.connect(states.append)
    c.window.close()
    c.show_window()  # before the worker has even reported the device closed
    # Generous bounds: on a loaded 2-core machine PulseAudio can take seconds to close and reopen a stream.
    qtbot.waitUntil(lambda: states == ["idle", "monitoring"] and _recording_streams(pulse) == 1, timeout=30_000)
    heart.settle(qtbot)  # no late request undoes it
    assert c.state == "monitoring" and _recording_streams(pulse) == 1, "the window's meter listens again"

    c.window.close()
    qtbot.waitUntil(lambda: states[-1:] == ["idle"] and _recording_streams(pulse) == 0, timeout=5000)
    states.clear()
    c.start()  # from the tray ...
    c.stop()  # ... and stopped again at once, still in the tray
    # Opened, started, stopped, closed: waiting for "idle" alone could pass before the start is handled.
    qtbot.waitUntil(lambda: states == ["monitoring", "running", "monitoring", "idle"], timeout=30_000)
    qtbot.waitUntil(lambda: _recording_streams(pulse) == 0, timeout=5000)
    round_trip(qtbot, c.worker, nowhere(c, tmp_path))  # no late request reopens it
    assert c.state == "idle" and _recording_streams(pulse) == 0, "hidden and not captioning: the device is closed"
