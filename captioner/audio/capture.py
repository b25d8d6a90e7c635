"""Live capture from a device into the ring buffer, with recovery when the device goes away.

The PortAudio callback does one thing: copy into the preallocated ring buffer. Everything that may
block or allocate (health checks, reopening, telling the UI) happens in ``poll()``, which the
worker thread calls between chunks.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import sounddevice as sd

from captioner.audio.device_watch import DeviceSignature, device_signature
from captioner.audio.devices import DEFAULT_KEY, SourceInfo, find_source, rescan_portaudio
from captioner.audio.pulse import pulse_source
from captioner.audio.ringbuffer import RingBuffer
from captioner.errors import AudioInputError

RING_SECONDS = 8.0
STALL_S = 2.0  # no callback for this long while running means the device is gone
FIRST_CALLBACK_GRACE_S = 5.0  # sound servers can take over a second to deliver the first block
RETRY_S = 2.0
SWITCH_BACK_CHECK_S = 3.0  # on a fallback input: how often to look (cheaply) for the chosen device
MAX_BACKOFF_DOUBLINGS = 4  # fruitless switch attempts (each cuts the audio) space out up to 48 s
BLOCK_S = 0.02  # callback block: with latency="low" alone PortAudio may call back every few ms


def block_frames(sample_rate: float) -> int:
    """Frames per callback at ``sample_rate``: ~20 ms, so the Python callback (and the GIL it takes)
    runs ~50 times a second instead of hundreds, while adding little to the caption latency."""
    return max(1, round(sample_rate * BLOCK_S))


class AudioInput(Protocol):
    """What the worker needs from a source of audio, be it a device or a file."""

    ring: RingBuffer
    sample_rate: float
    label: str

    def open(self) -> None: ...
    def close(self) -> None: ...
    def poll(self) -> str | None:
        """Housekeeping between chunks; returns a user-facing status line when the state changes."""
    @property
    def finished(self) -> bool:
        """True once a finite input (a file) has delivered everything."""


class DeviceCapture:
    """A sounddevice ``InputStream`` on a source at its native rate, reopened after device loss."""

    def __init__(self, source: SourceInfo, ring_seconds: float = RING_SECONDS) -> None:
        self.source = source
        self._wanted_key = source.key  # the user's choice: reopened first, even after a fallback was tried
        self._wanted_label = source.label
        self.label = source.label
        self.sample_rate = source.sample_rate
        self._ring_seconds = ring_seconds
        self.ring = RingBuffer(int(ring_seconds * source.sample_rate), source.channels)
        self.device_overflows = 0
        self._stream: sd.InputStream | None = None
        self._lost_since: float | None = None
        self._next_retry = 0.0
        self._last_callback = 0.0
        self._opened_at = 0.0
        self._last_audio = 0.0  # monotonic time of the newest frame before the device was lost
        self._resuming = False  # reopened after a loss: the first block records the outage
        # On a fallback input: the hardware as last seen (None: not watching), when to look next, how
        # many re-scans found nothing (they back off), and whether a recent change deserves a second look.
        self._signature: DeviceSignature | None = None
        self._next_switch_check = 0.0
        self._fruitless = 0
        self._recheck_due = False

    @property
    def finished(self) -> bool:
        return False

    @property
    def lost(self) -> bool:
        return self._lost_since is not None

    def _callback(self, indata: Any, frames: int, time_info: Any, status: sd.CallbackFlags) -> None:
        # Real-time thread: copy and count (once after a reopen, note the outage), nothing else.
        if status.input_overflow:
            self.device_overflows += 1
        if self._resuming:
            # The outage lasts until this block's first frame, not until the reopen: a sound server
            # can take over a second to deliver audio, and what it did not capture never arrives.
            self._resuming = False
            rate = self.source.sample_rate
            first_frame = time.monotonic() - frames / rate
            self.ring.add_hole(round((first_frame - self._last_audio) * rate))
        self.ring.write(indata)
        self._last_callback = self.ring.last_write_monotonic

    def open(self) -> None:
        """Open and start the stream; raises ``AudioInputError`` with a user-facing message."""
        src = self.source
        try:
            with pulse_source(src.pulse_source):
                stream = sd.InputStream(
                    device=src.device, channels=src.channels, samplerate=src.sample_rate,
                    dtype="float32", callback=self._callback, latency="low",
                    blocksize=block_frames(src.sample_rate),
                )
                stream.start()
        except Exception as err:  # PortAudioError, ValueError for bad devices
            raise AudioInputError(
                f"Could not open the audio source “{src.label}”: {err}. Pick another source in the "
                "main window, or check that the device is plugged in and not used exclusively by "
                "another program."
            ) from err
        self._stream = stream
        self.sample_rate = float(stream.samplerate)
        self._opened_at = time.monotonic()
        self._last_callback = 0.0

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:
                pass

    def poll(self) -> str | None:
        """Detect a vanished device, reopen one when available, and go back to the chosen one."""
        now = time.monotonic()
        if self._lost_since is None:
            stream = self._stream
            if stream is None:
                return None
            if self._last_callback == 0.0:
                stalled = now - self._opened_at > FIRST_CALLBACK_GRACE_S
            else:
                stalled = now - self._last_callback > STALL_S
            if stream.active and not stalled:
                return self._maybe_switch_back(now)
            self.close()
            self._lost_since = now
            self._last_audio = self._last_callback or self._opened_at
            self._next_retry = now + RETRY_S
            return self._lost_message()
        if now < self._next_retry:
            return None
        self._next_retry = now + RETRY_S
        can_fall_back = self._wanted_key != DEFAULT_KEY
        before = device_signature() if can_fall_back else None  # before the scan: later changes show
        rescan_portaudio()
        wanted = find_source(self._wanted_key)
        if wanted is not None and self._reopen(wanted):
            self._lost_since = None
            self._signature = None
            return f"Audio source back: “{self.label}”."
        fallback = find_source(DEFAULT_KEY) if can_fall_back else None
        if before is None or fallback is None or not self._reopen(fallback):
            return None
        self._lost_since = None
        self._fruitless = 0
        self._watch_from(before, now)
        if self._signature is None:
            return (f"“{self._wanted_label}” is gone: captioning from “{self.label}”. Pick "
                    f"“{self._wanted_label}” again in the main window once it is back.")
        return f"“{self._wanted_label}” is gone: captioning from “{self.label}” until it is back."

    def _lost_message(self) -> str:
        waiting = "it" if self.source.key == self._wanted_key else f"“{self._wanted_label}” or “{self.label}”"
        return (f"The audio source “{self.label}” stopped delivering audio (unplugged?). "
                f"Waiting for {waiting} to come back…")

    def _watch_from(self, before: DeviceSignature, now: float) -> None:
        """Start watching for the chosen device after (re)opening a fallback.

        The baseline is read after the fallback is open (opening it may itself change the sources,
        e.g. a Bluetooth headset switching profile); a change between the scan and now gets a look.
        """
        after = device_signature().merged(before)
        self._signature = after if after.readable else None
        self._recheck_due = self._recheck_due or after.changed_since(before)
        delay = SWITCH_BACK_CHECK_S * 2 ** min(self._fruitless, MAX_BACKOFF_DOUBLINGS)
        self._next_switch_check = now + delay

    def _maybe_switch_back(self, now: float) -> str | None:
        """On a fallback input, return to the chosen device once the hardware changed and it is there.

        Re-scanning means closing the running stream (PortAudio enumerates only when initialised), so
        it happens only when :func:`device_signature` changed, plus one second look (a device can
        take a moment to become usable after it shows up); the cut, about a second on a sound
        server, becomes a marked gap. Fruitless re-scans back off.
        """
        if (self.source.key == self._wanted_key or self._signature is None or self._resuming
                or now < self._next_switch_check):
            return None
        current = device_signature()
        changed = current.changed_since(self._signature)
        self._signature = current.merged(self._signature)
        if not changed and not self._recheck_due:
            self._next_switch_check = now + SWITCH_BACK_CHECK_S
            return None
        self._recheck_due = changed
        fallback_key = self.source.key
        self.close()  # returns after the last callback, so the newest frame's time is final
        self._last_audio = self._last_callback or self._opened_at
        rescan_portaudio()
        wanted = find_source(self._wanted_key)
        if wanted is not None and self._reopen(wanted):
            self._signature, self._fruitless, self._recheck_due = None, 0, False
            return f"Audio source back: “{self.label}”."
        self._fruitless += 1
        fallback = find_source(fallback_key)
        if fallback is not None and self._reopen(fallback):
            self._watch_from(self._signature, now)
            return None
        self._lost_since = now  # the fallback went away in the same change: retried like any loss
        self._next_retry = now + RETRY_S
        return self._lost_message()

    def _reopen(self, source: SourceInfo) -> bool:
        """Open ``source`` in place of the closed stream; on failure nothing changes.

        Switch only once the stream is open: a failed attempt (say on the default input while the
        sound server has no source at all) must not replace the source the user chose.
        """
        kept = self.source, self.ring
        self.source = source
        if source.sample_rate != self.sample_rate or source.channels != self.ring.channels:
            # A new ring: the worker reads the old one to its end before it moves to this one.
            self.ring = RingBuffer(int(self._ring_seconds * source.sample_rate), source.channels)
        # The time without audio becomes a hole in the stream where the new audio begins (see
        # _callback), so the worker marks the gap and caption times stay on wall-clock time.
        self._resuming = True
        try:
            self.open()
        except AudioInputError:
            self.source, self.ring = kept
            self._resuming = False
            return False
        self.label = source.label
        return True
