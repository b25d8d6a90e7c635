"""A cheap signature of the audio hardware, to notice a device being plugged in while a stream runs.

PortAudio only enumerates devices when it is initialised, and re-initialising it kills every open
stream. So while the capture runs on a fallback input, it cannot simply ask PortAudio whether the
chosen device is back every few seconds: each look would cut the audio. Instead it compares this
signature, read without touching PortAudio, and re-scans only when something actually changed.

On Linux the signature is the ALSA card list (a USB headset adds a card) and the sound server's
source names (Bluetooth headsets, virtual and monitor sources exist only there). Where neither is
readable (Windows, macOS without ``pactl``) there is none, and the capture stays on the fallback
until the user picks the device again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from captioner.audio.pulse import list_source_names

ALSA_CARDS = Path("/proc/asound/cards")


@dataclass(frozen=True)
class DeviceSignature:
    """What could be read of the hardware now; ``None`` parts could not be read this time."""

    alsa_cards: str | None
    server_sources: tuple[str, ...] | None

    @property
    def readable(self) -> bool:
        return self.alsa_cards is not None or self.server_sources is not None

    def changed_since(self, before: DeviceSignature) -> bool:
        """A part read both times differs. A part that failed once (``pactl`` timing out on a busy
        machine) is no change: it would cut the stream twice for nothing."""
        pairs = ((self.alsa_cards, before.alsa_cards), (self.server_sources, before.server_sources))
        return any(now is not None and then is not None and now != then for now, then in pairs)

    def merged(self, before: DeviceSignature) -> DeviceSignature:
        """This signature, keeping ``before``'s parts where this one could not read them."""
        return DeviceSignature(self.alsa_cards if self.alsa_cards is not None else before.alsa_cards,
                               self.server_sources if self.server_sources is not None else before.server_sources)


def device_signature() -> DeviceSignature:
    """Read the ALSA card list and the sound server's source names (a few ms: one ``pactl`` call)."""
    cards = None
    with contextlib.suppress(OSError):  # no ALSA (not Linux, or a container without sound)
        cards = ALSA_CARDS.read_text(encoding="utf-8", errors="replace")
    names = list_source_names()
    return DeviceSignature(cards, tuple(sorted(names)) if names is not None else None)
