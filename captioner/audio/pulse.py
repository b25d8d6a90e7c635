"""The sound server's sources (PulseAudio/PipeWire): microphones and monitors, found through ``pactl``.

PortAudio only sees the ALSA ``pulse`` device, which records the server's default source. To record
one particular microphone, or what the speakers play (a sink's monitor: the remote side of a
meeting), we list the server's sources with ``pactl`` (also served by pipewire-pulse) and pick one
for a stream through ``PULSE_SOURCE``, which libpulse reads when the ALSA plugin connects.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class MonitorSource:
    name: str  # e.g. "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"
    description: str  # e.g. "Monitor of Built-in Audio Analog Stereo"


@dataclass(frozen=True)
class ServerSource:
    """One source of the sound server, as ``pactl list sources`` describes it."""

    name: str  # e.g. "alsa_input.pci-0000_00_1f.3.analog-stereo"
    description: str  # e.g. "Built-in Audio Analog Stereo"
    monitor: bool  # a sink's monitor (what the speakers play), not a microphone
    channels: int | None = None
    rate: int | None = None
    alsa_card: str | None = None  # the ALSA card and device behind it, where the server says
    alsa_device: str | None = None


def parse_server_sources(text: str) -> list[ServerSource]:
    """Every source in ``LC_ALL=C pactl list sources`` output (stable across pactl versions)."""
    out: list[ServerSource] = []
    fields: dict[str, str] = {}

    def flush() -> None:
        name = fields.get("Name")
        if not name:
            return
        spec = fields.get("Sample Specification", "").split()
        channels = next((int(p[:-2]) for p in spec if p.endswith("ch") and p[:-2].isdigit()), None)
        rate = next((int(p[:-2]) for p in spec if p.endswith("Hz") and p[:-2].isdigit()), None)
        monitor_of = fields.get("Monitor of Sink", "n/a")
        out.append(ServerSource(name, fields.get("Description") or name, monitor_of != "n/a", channels, rate,
                                fields.get("alsa.card"), fields.get("alsa.device")))

    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith("Source #"):
            flush()
            fields = {}
        elif " = " in line:  # a property: alsa.card = "0"
            key, _, value = line.partition(" = ")
            fields.setdefault(key.strip(), value.strip().strip('"'))
        elif ":" in line:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    flush()
    return out


def parse_pactl_sources(text: str) -> list[MonitorSource]:
    """Monitor sources from ``LC_ALL=C pactl list sources`` output."""
    return [MonitorSource(s.name, s.description) for s in parse_server_sources(text) if s.monitor]


def parse_default_source(text: str) -> str | None:
    """The default source's name from ``LC_ALL=C pactl info`` output."""
    for line in text.splitlines():
        if line.startswith("Default Source:"):
            return line.partition(":")[2].strip() or None
    return None


def _pactl(*args: str, timeout_s: float = 2.0) -> str | None:
    """``pactl``'s output in the C locale; ``None`` without ``pactl`` or a running sound server."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return None
    try:
        proc = subprocess.run(
            [pactl, *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def list_monitor_sources(timeout_s: float = 2.0) -> list[MonitorSource]:
    """Monitor sources of the running sound server; empty when there is none (or no ``pactl``)."""
    text = _pactl("list", "sources", timeout_s=timeout_s)
    return parse_pactl_sources(text) if text is not None else []


def list_server_sources(timeout_s: float = 2.0) -> list[ServerSource] | None:
    """Every source of the running sound server; ``None`` when it cannot be asked (no server or ``pactl``)."""
    text = _pactl("list", "sources", timeout_s=timeout_s)
    return parse_server_sources(text) if text is not None else None


def default_source_name(timeout_s: float = 2.0) -> str | None:
    """The name of the source the server records by default (what the ALSA ``pulse`` device opens)."""
    text = _pactl("info", timeout_s=timeout_s)
    return parse_default_source(text) if text is not None else None


def parse_short_source_names(text: str) -> list[str]:
    """Source names from ``pactl list short sources`` (index, name, driver, spec, state per line).

    Only the names: the state column changes whenever a stream starts or stops.
    """
    return [fields[1] for line in text.splitlines() if len(fields := line.split("\t")) >= 2]


def list_source_names(timeout_s: float = 0.5) -> list[str] | None:
    """Every source of the running sound server (inputs and monitors); ``None`` when it cannot be asked."""
    text = _pactl("list", "short", "sources", timeout_s=timeout_s)
    return parse_short_source_names(text) if text is not None else None


@contextmanager
def pulse_source(name: str | None) -> Iterator[None]:
    """Point the next ALSA ``pulse`` stream at ``name`` (``None``: leave the environment alone)."""
    if name is None:
        yield
        return
    old = os.environ.get("PULSE_SOURCE")
    os.environ["PULSE_SOURCE"] = name
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PULSE_SOURCE", None)
        else:
            os.environ["PULSE_SOURCE"] = old
