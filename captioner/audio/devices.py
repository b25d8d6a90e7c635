"""The audio sources a user can pick: the default input, each input device, and system audio.

Sources are identified by a stable ``key`` (names, not PortAudio indices, which change when devices
come and go) so the choice survives restarts and unplug/replug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sounddevice as sd

from captioner.audio.pulse import list_monitor_sources

DEFAULT_KEY = "default"
SourceKind = Literal["default", "input", "system"]


@dataclass(frozen=True)
class SourceInfo:
    key: str  # "default", "input:<device name>" or "system:<pulse source name>"
    label: str  # what the source picker shows
    kind: SourceKind
    device: int | None  # PortAudio device index to open (None: PortAudio's default input)
    pulse_source: str | None = None  # set PULSE_SOURCE to this while opening
    channels: int = 1
    sample_rate: float = 48000.0


def is_system_audio(key: str) -> bool:
    """Whether a source key names system audio (what the speakers play) rather than a microphone."""
    return key.startswith("system:")


def _inputs() -> list[dict[str, Any]]:
    try:
        devices = sd.query_devices()
    except Exception:  # PortAudio missing or broken: no device sources, the file input still works
        return []
    return [dict(d) for d in devices if int(d["max_input_channels"]) > 0]


def _default_input_index() -> int | None:
    try:
        index = sd.default.device[0]
        return int(index) if index is not None and int(index) >= 0 else None
    except Exception:
        return None


FRIENDLY_NAMES = {"pulse": "Sound server input (PulseAudio/PipeWire)", "pipewire": "PipeWire input",
                  "default": "System default input"}


def _label(name: str) -> str:
    return FRIENDLY_NAMES.get(name, name)


def list_sources(include_system: bool = True) -> list[SourceInfo]:
    """Every source, default input first; system audio only where a PulseAudio/PipeWire server runs."""
    inputs = _inputs()
    out: list[SourceInfo] = []
    default_index = _default_input_index()
    by_index = {int(d["index"]): d for d in inputs}
    if default_index in by_index:
        d = by_index[default_index]
        out.append(SourceInfo(
            DEFAULT_KEY, "Default microphone" + ("" if d["name"] == "default" else f" ({_label(str(d['name']))})"),
            "default", default_index,
            None, min(2, int(d["max_input_channels"])), float(d["default_samplerate"]),
        ))
    for d in inputs:
        out.append(SourceInfo(
            f"input:{d['name']}", _label(str(d["name"])), "input", int(d["index"]),
            None, min(2, int(d["max_input_channels"])), float(d["default_samplerate"]),
        ))
    pulse = next((d for d in inputs if d["name"] == "pulse"), None)
    if include_system and pulse is not None:
        for mon in list_monitor_sources():
            out.append(SourceInfo(
                f"system:{mon.name}", f"System audio — {mon.description}", "system", int(pulse["index"]),
                mon.name, 2, float(pulse["default_samplerate"]),
            ))
    return out


def find_source(key: str, sources: list[SourceInfo] | None = None) -> SourceInfo | None:
    """The source with ``key`` among those present now, or ``None`` when it is gone."""
    for s in sources if sources is not None else list_sources(include_system=key.startswith("system:")):
        if s.key == key:
            return s
    return None


def rescan_portaudio() -> None:
    """Make PortAudio enumerate devices again (it only does on initialisation); no stream may be open."""
    try:
        sd._terminate()
        sd._initialize()
    except Exception:
        pass
