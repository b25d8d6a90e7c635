"""PulseAudio/PipeWire monitor sources ("system audio"), found through ``pactl``.

PortAudio only sees the ALSA ``pulse`` device, which records the server's default source. To record
what the speakers play (the remote side of a meeting) we list the sinks' monitor sources with
``pactl`` (also served by pipewire-pulse) and pick one for a stream through ``PULSE_SOURCE``, which
libpulse reads when the ALSA plugin connects.
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


def parse_pactl_sources(text: str) -> list[MonitorSource]:
    """Monitor sources from ``LC_ALL=C pactl list sources`` output (stable across pactl versions)."""
    out: list[MonitorSource] = []
    name = description = monitor_of = None

    def flush() -> None:
        if name and monitor_of and monitor_of != "n/a":
            out.append(MonitorSource(name, description or name))

    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith("Source #"):
            flush()
            name = description = monitor_of = None
        elif line.startswith("Name:"):
            name = line.partition(":")[2].strip()
        elif line.startswith("Description:"):
            description = line.partition(":")[2].strip()
        elif line.startswith("Monitor of Sink:"):
            monitor_of = line.partition(":")[2].strip()
    flush()
    return out


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
