"""Sound-server source parsing, the source list with and without a sound server, and the file feeder's
real-time pacing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from captioner.audio import devices
from captioner.audio.file_feeder import FileFeeder
from captioner.audio.pulse import (
    parse_default_source,
    parse_pactl_sources,
    parse_server_sources,
    parse_short_source_names,
    pulse_source,
)

PACTL = """Source #0
\tState: SUSPENDED
\tName: alsa_output.pci.analog-stereo.monitor
\tDescription: Monitor of Built-in Audio
\tMonitor of Sink: alsa_output.pci.analog-stereo
Source #1
\tState: RUNNING
\tName: alsa_input.pci.analog-stereo
\tDescription: Built-in Audio Analog Stereo
\tMonitor of Sink: n/a
"""


def test_parse_pactl_lists_only_monitors() -> None:
    [mon] = parse_pactl_sources(PACTL)
    assert mon.name == "alsa_output.pci.analog-stereo.monitor"
    assert mon.description == "Monitor of Built-in Audio"


def test_pulse_source_env_is_restored() -> None:
    os.environ.pop("PULSE_SOURCE", None)
    with pulse_source("x.monitor"):
        assert os.environ["PULSE_SOURCE"] == "x.monitor"
    assert "PULSE_SOURCE" not in os.environ


def test_file_feeder_delivers_everything_in_real_time(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    data = np.random.default_rng(0).uniform(-0.5, 0.5, (22050 // 2, 2)).astype(np.float32)
    sf.write(path, data, 22050, subtype="FLOAT")
    feeder = FileFeeder(path)
    t0 = time.monotonic()
    feeder.open()
    got = []
    while not (feeder.finished and feeder.ring.available() == 0):
        got.append(feeder.ring.read())
        time.sleep(0.01)
    elapsed = time.monotonic() - t0
    feeder.close()
    np.testing.assert_array_equal(np.concatenate(got), data)
    assert 0.4 < elapsed < 1.5


def test_short_source_listing_gives_names_only() -> None:
    """``pactl list short sources`` carries a state column that changes whenever a stream starts;
    the device signature must only see the names."""
    text = ("0\talsa_output.pci-0000_00_1f.3.analog-stereo.monitor\tmodule-alsa-card.c\ts16le 2ch 48000Hz\tSUSPENDED\n"
            "1\talsa_input.usb-Logitech_Headset-00.mono-fallback\tmodule-alsa-card.c\ts16le 1ch 48000Hz\tRUNNING\n")
    assert parse_short_source_names(text) == ["alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
                                              "alsa_input.usb-Logitech_Headset-00.mono-fallback"]
    assert parse_short_source_names("") == []


SERVER = PACTL.replace("\tMonitor of Sink: n/a\n", """\tMonitor of Sink: n/a
\tProperties:
\t\talsa.card = "0"
\t\talsa.device = "0"
""") + """Source #2
\tState: SUSPENDED
\tName: alsa_input.usb-Logitech_Headset-00.mono-fallback
\tDescription: Logitech Headset Mono
\tDriver: module-alsa-card.c
\tSample Specification: s16le 1ch 16000Hz
\tMonitor of Sink: n/a
\tProperties:
\t\talsa.card = "1"
\t\talsa.device = "0"
\t\tdevice.description = "Logitech Headset Mono"
"""
PORTAUDIO = [  # what PortAudio lists on a desktop with a sound server: cards, then ALSA's plugin devices
    {"index": 0, "name": "HDA Intel PCH: ALC892 Analog (hw:0,0)", "max_input_channels": 2,
     "default_samplerate": 44100.0},
    {"index": 1, "name": "USB Headset: Audio (hw:1,0)", "max_input_channels": 1, "default_samplerate": 48000.0},
    {"index": 2, "name": "HDMI capture: USB (hw:3,0)", "max_input_channels": 2, "default_samplerate": 48000.0},
    {"index": 3, "name": "sysdefault", "max_input_channels": 128, "default_samplerate": 48000.0},
    {"index": 4, "name": "pulse", "max_input_channels": 32, "default_samplerate": 44100.0},
    {"index": 5, "name": "default", "max_input_channels": 32, "default_samplerate": 44100.0},
]


def test_parse_server_sources_keeps_microphones_with_their_card() -> None:
    sources = parse_server_sources(SERVER)
    assert [(s.name, s.monitor) for s in sources] == [("alsa_output.pci.analog-stereo.monitor", True),
                                                      ("alsa_input.pci.analog-stereo", False),
                                                      ("alsa_input.usb-Logitech_Headset-00.mono-fallback", False)]
    headset = sources[2]
    assert (headset.description, headset.channels, headset.rate) == ("Logitech Headset Mono", 1, 16000)
    assert (headset.alsa_card, headset.alsa_device) == ("1", "0")
    assert parse_default_source("Server Name: pulseaudio\nDefault Sink: x\nDefault Source: mic.a\n") == "mic.a"


def _with_server(monkeypatch: pytest.MonkeyPatch, server: str | None) -> None:
    monkeypatch.setattr(devices, "_inputs", lambda: [dict(d) for d in PORTAUDIO])
    monkeypatch.setattr(devices, "_default_input_index", lambda: 5)
    monkeypatch.setattr(devices, "list_server_sources",
                        lambda: parse_server_sources(server) if server is not None else None)
    monkeypatch.setattr(devices, "default_source_name", lambda: "alsa_input.pci.analog-stereo")


def test_with_a_sound_server_the_default_microphone_is_listed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "Default microphone", "Sound server input" and "System default input" for one microphone."""
    _with_server(monkeypatch, SERVER)
    sources = devices.list_sources()
    assert [(s.key, s.label) for s in sources] == [
        ("default", "Default microphone (Built-in Audio Analog Stereo)"),
        ("mic:alsa_input.pci.analog-stereo", "Built-in Audio Analog Stereo"),
        ("mic:alsa_input.usb-Logitech_Headset-00.mono-fallback", "Logitech Headset Mono"),
        ("input:HDMI capture: USB (hw:3,0)", "HDMI capture: USB (hw:3,0)"),  # a card the server does not offer
        ("system:alsa_output.pci.analog-stereo.monitor", "System audio — Monitor of Built-in Audio"),
    ]
    default, built_in, headset = sources[:3]
    assert (default.device, default.pulse_source) == (5, None)  # ALSA "default": the server's default source
    assert (headset.device, headset.pulse_source, headset.channels, headset.sample_rate) == (
        4, "alsa_input.usb-Logitech_Headset-00.mono-fallback", 1, 16000.0)  # the "pulse" device, PULSE_SOURCE
    # Keys saved from the entries no longer listed still open what they recorded.
    for old, now in (("input:pulse", default), ("input:default", default), ("input:sysdefault", default),
                     ("input:USB Headset: Audio (hw:1,0)", headset),
                     ("input:HDA Intel PCH: ALC892 Analog (hw:0,0)", built_in)):
        assert devices.canonical_key(old, sources) == now.key
        assert devices.find_source(old, sources) == now
    assert devices.canonical_key("input:Unplugged (hw:7,0)", sources) == "input:Unplugged (hw:7,0)"
    assert devices.find_source("input:Unplugged (hw:7,0)", sources) is None
    assert [s.key for s in devices.list_sources(include_system=False)][-1] == "input:HDMI capture: USB (hw:3,0)"


def test_without_a_sound_server_portaudio_lists_the_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_server(monkeypatch, None)
    sources = devices.list_sources()
    assert sources[0].key == "default" and sources[0].device == 5
    assert [s.key for s in sources[1:]] == [f"input:{d['name']}" for d in PORTAUDIO]
    assert devices.canonical_key("input:pulse", sources) == "input:pulse"
