"""Live capture from a device into the ring buffer, with recovery when the device goes away.

The PortAudio callback does one thing: copy into the preallocated ring buffer. Everything that may
block or allocate (health checks, reopening, telling the UI) happens in ``poll()``, which the
worker thread calls between chunks.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import sounddevice as sd

from captioner.asr.errors import AudioInputError
from captioner.audio.devices import DEFAULT_KEY, SourceInfo, find_source, rescan_portaudio
from captioner.audio.pulse import pulse_source
from captioner.audio.ringbuffer import RingBuffer

RING_SECONDS = 8.0
STALL_S = 2.0  # no callback for this long while running means the device is gone
FIRST_CALLBACK_GRACE_S = 5.0  # sound servers can take over a second to deliver the first block
RETRY_S = 2.0
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
        """Detect a vanished device and bring the stream back once a device is available again."""
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
                return None
            self.close()
            self._lost_since = now
            self._last_audio = self._last_callback or self._opened_at
            self._next_retry = now + RETRY_S
            return (f"The audio source “{self.label}” stopped delivering audio (unplugged?). "
                    "Waiting for it to come back…")
        if now < self._next_retry:
            return None
        self._next_retry = now + RETRY_S
        rescan_portaudio()
        source = find_source(self._wanted_key) or find_source(DEFAULT_KEY)
        if source is None:
            return None
        # Switch only once the stream is open: a failed attempt (say on the default input while the
        # sound server has no source at all) must not replace the source the user chose.
        kept = self.source, self.ring
        self.source = source
        if source.sample_rate != self.sample_rate or source.channels != self.ring.channels:
            self.ring = RingBuffer(int(self._ring_seconds * source.sample_rate), source.channels)
        # The outage becomes a hole in the stream where the new audio begins (see _callback), so the
        # worker marks the gap and caption times stay on wall-clock time.
        self._resuming = True
        try:
            self.open()
        except AudioInputError:
            self.source, self.ring = kept
            self._resuming = False
            return None
        self.label = source.label
        self._lost_since = None
        return f"Audio source back: “{self.label}”."
