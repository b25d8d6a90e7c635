"""The audio sources a user can pick: the default input, each microphone, and system audio.

Sources are identified by a stable ``key`` (names, not PortAudio indices, which change when devices
come and go) so the choice survives restarts and unplug/replug.

With a sound server (PulseAudio or PipeWire) the microphones are the server's own sources, each
opened through the ALSA ``pulse`` device with ``PULSE_SOURCE`` as system audio is. PortAudio's ALSA
list is not shown then: its ``pulse``, ``default`` and similar entries all record the server's
default source (three picker entries for one microphone), and its ``hw:`` entries are cards the
server already holds. Keys saved from those entries still open something: each listed source
carries the older keys that record what it records (``aliases``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import sounddevice as sd

from captioner.audio.pulse import ServerSource, default_source_name, list_server_sources

DEFAULT_KEY = "default"
SourceKind = Literal["default", "input", "system"]
_HW = re.compile(r"\(hw:(\d+),(\d+)\)$")  # how PortAudio names an ALSA card's device: "... (hw:1,0)"


@dataclass(frozen=True)
class SourceInfo:
    key: str  # "default", "input:<device name>", "mic:<sound server source>" or "system:<sound server source>"
    label: str  # what the source picker shows
    kind: SourceKind
    device: int | None  # PortAudio device index to open (None: PortAudio's default input)
    pulse_source: str | None = None  # set PULSE_SOURCE to this while opening
    channels: int = 1
    sample_rate: float = 48000.0
    aliases: tuple[str, ...] = ()
    """Keys of entries no longer listed that record the same thing (an ALSA ``input:pulse`` saved earlier)."""


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


def _channels(d: dict[str, Any]) -> int:
    return min(2, int(d["max_input_channels"]))


def list_sources(include_system: bool = True) -> list[SourceInfo]:
    """Every source, default input first; system audio only where a PulseAudio/PipeWire server runs."""
    inputs = _inputs()
    pulse = next((d for d in inputs if d["name"] == "pulse"), None)
    server = list_server_sources() if pulse is not None else None
    if pulse is not None and server is not None:
        return _server_sources(inputs, pulse, server, include_system)
    out: list[SourceInfo] = []
    default_index = _default_input_index()
    by_index = {int(d["index"]): d for d in inputs}
    if default_index in by_index:
        d = by_index[default_index]
        out.append(SourceInfo(
            DEFAULT_KEY, "Default microphone" + ("" if d["name"] == "default" else f" ({_label(str(d['name']))})"),
            "default", default_index, None, _channels(d), float(d["default_samplerate"]),
        ))
    for d in inputs:
        out.append(SourceInfo(f"input:{d['name']}", _label(str(d["name"])), "input", int(d["index"]),
                              None, _channels(d), float(d["default_samplerate"])))
    return out


def _server_sources(inputs: list[dict[str, Any]], pulse: dict[str, Any], server: list[ServerSource],
                    include_system: bool) -> list[SourceInfo]:
    """The sources with a sound server: its default microphone, its microphones, then its monitors."""
    pulse_index, pulse_rate = int(pulse["index"]), float(pulse["default_samplerate"])
    mics = [s for s in server if not s.monitor]
    by_card = {(s.alsa_card, s.alsa_device): s.name for s in mics if s.alsa_card is not None}
    aliases: dict[str, list[str]] = {DEFAULT_KEY: [], **{s.name: [] for s in mics}}
    kept: list[dict[str, Any]] = []  # ALSA cards the server does not offer: still listed as themselves
    for d in inputs:
        name = str(d["name"])
        hw = _HW.search(name)
        if hw is None:
            aliases[DEFAULT_KEY].append(f"input:{name}")  # "pulse", "default", "sysdefault": the server's default
        elif (hw.group(1), hw.group(2)) in by_card:
            aliases[by_card[hw.group(1), hw.group(2)]].append(f"input:{name}")
        else:
            kept.append(d)
    default_name = default_source_name()
    default = next((s for s in server if s.name == default_name), None)
    default_index = _default_input_index()
    by_index = {int(d["index"]): d for d in inputs}
    # PortAudio's default input where it goes through the server (ALSA "default" does), else "pulse".
    opened = by_index.get(default_index) if default_index is not None else None
    if opened is None or opened["name"] not in ("default", "pulse", "pipewire"):
        opened = pulse
    out = [SourceInfo(DEFAULT_KEY, "Default microphone" + (f" ({default.description})" if default else ""),
                      "default", int(opened["index"]), None, _channels(opened), float(opened["default_samplerate"]),
                      tuple(aliases[DEFAULT_KEY]))]
    for s in mics:
        out.append(SourceInfo(f"mic:{s.name}", s.description, "input", pulse_index, s.name,
                              min(2, s.channels or 2), float(s.rate or pulse_rate), tuple(aliases[s.name])))
    for d in kept:
        out.append(SourceInfo(f"input:{d['name']}", _label(str(d["name"])), "input", int(d["index"]),
                              None, _channels(d), float(d["default_samplerate"])))
    if include_system:
        for s in server:
            if s.monitor:
                out.append(SourceInfo(f"system:{s.name}", f"System audio — {s.description}", "system", pulse_index,
                                      s.name, 2, pulse_rate))
    return out


def canonical_key(key: str, sources: list[SourceInfo]) -> str:
    """The listed key for ``key``: itself, or the source that now records what an older key recorded."""
    if any(s.key == key for s in sources):
        return key
    return next((s.key for s in sources if key in s.aliases), key)


def find_source(key: str, sources: list[SourceInfo] | None = None) -> SourceInfo | None:
    """The source with ``key`` among those present now (for an older key, the one recording the same
    thing: see ``SourceInfo.aliases``), or ``None`` when it is gone."""
    listed = sources if sources is not None else list_sources(include_system=is_system_audio(key))
    wanted = canonical_key(key, listed)
    return next((s for s in listed if s.key == wanted), None)


def rescan_portaudio() -> None:
    """Make PortAudio enumerate devices again (it only does on initialisation); no stream may be open."""
    try:
        sd._terminate()
        sd._initialize()
    except Exception:
        pass
