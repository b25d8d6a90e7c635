"""Single-producer/single-consumer float32 ring buffer between the PortAudio callback and the worker.

The callback must never block or allocate audio memory (a glitch there drops audio for everyone on
the device), so the producer side only copies into preallocated storage and bumps a counter. The
two cursors are plain Python ints owned by one side each; under the GIL a single attribute store is
atomic, and the producer publishes ``_written`` only after the copy, so the consumer never sees a
half-written block. When the consumer falls behind, new frames are dropped and counted rather than
overwriting unread ones, which would need the producer to touch the consumer's cursor.

Where audio is missing from the stream (frames dropped by an overrun, a device outage) the producer
records a *hole* at that frame position, so the consumer can keep its stream clock on wall-clock
time and mark the gap exactly where it happened.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]


class RingBuffer:
    """Preallocated ``(capacity, channels)`` float32 FIFO; ``write`` is the real-time-safe side."""

    def __init__(self, capacity_frames: int, channels: int) -> None:
        if capacity_frames <= 0 or channels <= 0:
            raise ValueError("capacity_frames and channels must be positive")
        self.capacity = capacity_frames
        self.channels = channels
        self._buf: Float32Array = np.zeros((capacity_frames, channels), dtype=np.float32)
        self._written: int = 0  # total frames ever written; producer-owned
        self._read = 0  # total frames ever consumed; consumer-owned
        self.overrun_frames = 0  # producer-owned: frames dropped because the buffer was full
        self.overrun_events = 0
        self.last_write_monotonic = 0.0  # producer-owned: when the newest frame arrived
        self.holes: deque[tuple[int, int]] = deque()
        """(frame position, frames missing there), oldest first: appended by the producer, popped by
        the consumer (``take_missing``). deque append/popleft are thread-safe."""

    # -- producer side (audio callback): copies only, never waits ---------------------------------
    def write(self, block: Float32Array) -> int:
        """Copy ``block`` (``(n, channels)``) in; returns frames stored, dropping (and counting) the rest."""
        n = int(block.shape[0])
        free = self.capacity - (self._written - self._read)
        if n > free:
            self.overrun_frames += n - free
            self.overrun_events += 1
            # The dropped frames come after the stored ones; recorded before those are published,
            # so the consumer never reads past a hole without seeing it.
            self.holes.append((self._written + free, n - free))
            n = free
        if n > 0:
            start = self._written % self.capacity
            first = min(n, self.capacity - start)
            np.copyto(self._buf[start : start + first], block[:first])
            if n > first:
                np.copyto(self._buf[: n - first], block[first:n])
            self._written += n  # publish after the copy
        self.last_write_monotonic = time.monotonic()
        return n

    def add_hole(self, frames: int) -> None:
        """Producer side: record ``frames`` of audio missing before the next frame written (an outage)."""
        if frames > 0:
            self.holes.append((self._written, frames))

    # -- consumer side (worker thread) --------------------------------------------------------------
    @property
    def frames_written(self) -> int:
        """Total frames ever stored (a monotonic position, used to timestamp audio)."""
        return self._written

    @property
    def frames_read(self) -> int:
        return self._read

    def available(self) -> int:
        """Frames written but not yet consumed."""
        return self._written - self._read

    def read(self, max_frames: int | None = None) -> Float32Array:
        """Consume up to ``max_frames`` (all available by default) into a new ``(n, channels)`` array."""
        n = self.available()
        if max_frames is not None:
            n = min(n, max_frames)
        out = np.empty((n, self.channels), dtype=np.float32)
        if n:
            start = self._read % self.capacity
            first = min(n, self.capacity - start)
            out[:first] = self._buf[start : start + first]
            if n > first:
                out[first:] = self._buf[: n - first]
            self._read += n  # release the space only after copying out
        return out

    def next_hole(self) -> int | None:
        """Frame position of the oldest hole not yet taken, or None."""
        holes = self.holes
        return holes[0][0] if holes else None

    def take_missing(self) -> int:
        """Pop the holes the reader has reached (position <= frames read); returns the frames missing."""
        missing = 0
        while self.holes and self.holes[0][0] <= self._read:
            missing += self.holes.popleft()[1]
        return missing

    def skip(self, frames: int) -> int:
        """Drop up to ``frames`` unread frames (skipping ahead, or discarding audio while paused)."""
        n = min(frames, self.available())
        self._read += n
        return n
