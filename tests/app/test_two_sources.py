"""A microphone and system audio captioned at once, in a real sound server started by the test.

Two null sinks: the monitor of one is the server's default source (the "microphone"), the monitor of the
other is system audio. espeak-ng speaks a different sentence into each; the app must caption both, each
with its label, and show a sentence heard on both once.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.settings import AppSettings, EchoHandling, save_settings
from captioner.live.echo import words
from captioner.paths import default_model_dir
from tests.pulse_server import SINK, PulseServer

MIC_SINK = "capmic"
SYSTEM_KEY = f"system:{SINK}.monitor"
MIC_SENTENCE = "good morning sarah how are you"
SYSTEM_SENTENCE = "please send the budget report to maria by friday"


def speak(text: str, path: Path) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return path


@pytest.fixture
def demo_model() -> Path:
    found = default_model_dir()
    if found is None:
        pytest.skip("the bundled demo model is missing")
    return found


def two_source_app(pulse: PulseServer, settings_file: Path, model: Path, controller_factory,  # type: ignore[no-untyped-def]
                   echo: EchoHandling) -> CaptionerController:
    pulse.add_default_source(MIC_SINK, "CaptionerMic")
    save_settings(AppSettings(model_dir=str(model), lookahead_ms=480, source_key="default",
                              second_source_key=SYSTEM_KEY, echo=echo),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory("--autostart")
    return c


def said_by(c: CaptionerController, label: str) -> list[str]:
    return [w for s in c.window.transcript.segments() if s.source == label and not s.gap for w in words(s.text)]


def finish(c: CaptionerController, qtbot: QtBot, players: list[subprocess.Popen[bytes]]) -> None:
    for player in players:
        assert player.wait(timeout=30) == 0
    stats = []
    c.worker.statsUpdated.connect(stats.append)
    # Everything played has been decoded once the session clock has passed it and nothing waits in the rings.
    audio_at_end = max(c.worker.pipeline.channels[0].t, 0.0)
    qtbot.waitUntil(lambda: bool(stats) and stats[-1].audio_s > audio_at_end + 1.5 and stats[-1].behind_s < 0.2,
                    timeout=30_000)
    c.stop()
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=10_000)


def test_microphone_and_system_audio_are_captioned_with_their_labels(  # type: ignore[no-untyped-def]
        qtbot: QtBot, pulse: PulseServer, controller_factory, settings_file: Path, demo_model: Path,
        tmp_path: Path) -> None:
    c = two_source_app(pulse, settings_file, demo_model, controller_factory, EchoHandling.KEEP_SYSTEM_AUDIO)
    qtbot.waitUntil(lambda: c.state == "running" and len(c.worker.pipeline.channels) == 2, timeout=30_000)
    assert c.window.second_source.currentData() == SYSTEM_KEY
    mic = pulse.play(speak(MIC_SENTENCE, tmp_path / "mic.wav"), MIC_SINK)
    system = pulse.play(speak(SYSTEM_SENTENCE, tmp_path / "system.wav"), SINK)
    finish(c, qtbot, [mic, system])
    you, others = said_by(c, "You"), said_by(c, "Others")
    assert {"morning", "sarah"} <= set(you), you
    assert {"budget", "friday"} <= set(others), others
    assert not {"budget", "friday"} & set(you) and not {"morning", "sarah"} & set(others)
    assert "You: " in c.overlay.committed_text() and "Others: " in c.overlay.committed_text()


def test_a_sentence_heard_on_both_sources_is_shown_once(  # type: ignore[no-untyped-def]
        qtbot: QtBot, pulse: PulseServer, controller_factory, settings_file: Path, demo_model: Path,
        tmp_path: Path) -> None:
    c = two_source_app(pulse, settings_file, demo_model, controller_factory, EchoHandling.KEEP_SYSTEM_AUDIO)
    qtbot.waitUntil(lambda: c.state == "running" and len(c.worker.pipeline.channels) == 2, timeout=30_000)
    sentence = speak(SYSTEM_SENTENCE, tmp_path / "both.wav")
    # One player into a sink that feeds both: the same sound reaches the speakers and the microphone at once,
    # as in a room (two players would start at different moments on a loaded machine).
    loaded = pulse.pactl("load-module", "module-combine-sink", "sink_name=capboth", f"slaves={MIC_SINK},{SINK}")
    assert loaded.returncode == 0, loaded.stderr
    finish(c, qtbot, [pulse.play(sentence, "capboth")])
    assert {"budget", "friday"} <= set(said_by(c, "Others"))
    mic = said_by(c, "You")
    # The microphone's copy is dropped as an echo. Its two captures can hear the sentence's end differently on a
    # loaded machine, and a last short line the model heard otherwise ("by fry day") is not recognised as the
    # same words: at most such a two-word tail remains, never the sentence.
    assert "budget" not in mic and len(mic) <= 2, f"the microphone's copy was an echo: {mic}"
    assert c.worker.pipeline.echoes_dropped >= 1
