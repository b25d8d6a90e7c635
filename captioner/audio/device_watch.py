"""A cheap signature of the audio hardware, to notice a device being plugged in while a stream runs.

PortAudio only enumerates devices when it is initialised, and re-initialising it kills every open
stream. So while the capture runs on a fallback input, it cannot simply ask PortAudio whether the
chosen device is back every few seconds: each look would cut the audio. Instead it compares this
signature, read without touching PortAudio, and re-scans only when something actually changed.

On Linux the signature is the ALSA card list (a USB headset adds a card) and the sound server's
source names (Bluetooth headsets, virtual and monitor sources exist only there). Where neither is
readable (Windows, macOS without ``pactl``) there is no signature, and the capture stays on the
fallback until the user picks the device again.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from captioner.audio.pulse import list_source_names

ALSA_CARDS = Path("/proc/asound/cards")


def device_signature() -> str | None:
    """A string that changes when an input device appears or goes; ``None`` when none can be read."""
    parts: list[str] = []
    with contextlib.suppress(OSError):  # no ALSA (not Linux, or a container without sound)
        parts.append(ALSA_CARDS.read_text(encoding="utf-8", errors="replace"))
    names = list_source_names()
    if names is not None:
        parts.append("\n".join(sorted(names)))
    return "\n--\n".join(parts) if parts else None
