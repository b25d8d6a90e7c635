"""The source picker with a real sound server: one "Default microphone", then each microphone of the server.

A private PulseAudio server (tests/pulse_server.py) with a null source as the "real microphone" (a null
sink's monitor is system audio, not a microphone). Skipped where PulseAudio or PortAudio is missing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.main_window import MainWindow
from captioner.app.settings import AppSettings, save_settings
from captioner.audio.capture import DeviceCapture
from captioner.audio.devices import find_source, list_sources
from tests.pulse_server import SINK, PulseServer

MIC = "captest_mic"
MONITOR = f"{SINK}.monitor"


def _add_microphone(pulse: PulseServer, default: str) -> None:
    result = pulse.pactl("load-module", "module-null-source", f"source_name={MIC}", 'description="Desk Microphone"')
    assert result.returncode == 0, result.stderr
    result = pulse.pactl("set-default-source", default)  # loading a source can make it the default
    assert result.returncode == 0, result.stderr


def _recorded_sources(pulse: PulseServer) -> list[str]:
    """The sources the open recording streams read from, by name."""
    names = {line.split("\t")[0]: line.split("\t")[1]
             for line in pulse.pactl("list", "short", "sources").stdout.splitlines()}
    return [names[line.split("\t")[1]] for line in pulse.pactl("list", "short", "source-outputs").stdout.splitlines()]


def test_each_microphone_is_listed_once(qtbot: QtBot, pulse: PulseServer) -> None:
    _add_microphone(pulse, MIC)
    sources = list_sources()
    assert [(s.key, s.label) for s in sources] == [
        ("default", "Default microphone (Desk Microphone)"),
        (f"mic:{MIC}", "Desk Microphone"),
        (f"system:{MONITOR}", "System audio — Monitor of CaptionerTest"),
    ], "no ALSA pulse/default entries beside them"
    window = MainWindow()
    qtbot.addWidget(window)
    window.set_sources(sources, f"system:{MONITOR}")  # beside system audio: any microphone, the default one too
    assert [window.second_source.itemData(i) for i in range(window.second_source.count())] == ["", "default",
                                                                                                f"mic:{MIC}"]


def test_a_microphone_is_opened_through_the_sound_server(qtbot: QtBot, pulse: PulseServer) -> None:
    """The server's default is another source: only PULSE_SOURCE can make the stream read the microphone."""
    _add_microphone(pulse, MONITOR)
    source = find_source(f"mic:{MIC}")
    assert source is not None and source.pulse_source == MIC
    capture = DeviceCapture(source)
    capture.open()
    try:
        qtbot.waitUntil(lambda: _recorded_sources(pulse) == [MIC], timeout=5000)
        qtbot.waitUntil(lambda: capture.ring.frames_written > 0, timeout=5000)
    finally:
        capture.close()
    qtbot.waitUntil(lambda: _recorded_sources(pulse) == [], timeout=5000)


def test_a_saved_input_pulse_key_opens_the_default_microphone(  # type: ignore[no-untyped-def]
        qtbot: QtBot, pulse: PulseServer, controller_factory, settings_file: Path, model_dir: Path) -> None:
    """``input:pulse`` (the ALSA device, listed before) recorded the server's default source: it still does,
    shown as the "Default microphone" entry rather than a source that is "not connected"."""
    _add_microphone(pulse, MIC)
    save_settings(AppSettings(model_dir=str(model_dir), source_key="input:pulse"),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    qtbot.waitUntil(lambda: c.state == "monitoring", timeout=30_000)
    picker = c.window.source
    assert picker.currentData() == "default" and picker.currentText() == "Default microphone (Desk Microphone)"
    assert [picker.itemData(i) for i in range(picker.count())] == [s.key for s in c.sources]
    qtbot.waitUntil(lambda: _recorded_sources(pulse) == [MIC], timeout=5000)
