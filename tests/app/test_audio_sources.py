"""Monitor-source parsing and the file feeder's real-time pacing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from captioner.audio.file_feeder import FileFeeder
from captioner.audio.pulse import parse_pactl_sources, parse_short_source_names, pulse_source

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
