"""Feed a sound file through the same ring buffer as a device, at real-time speed.

Used for demos and end-to-end tests: everything downstream of the ring buffer (resampler, worker,
captions) runs exactly as it would with a microphone.
"""

from __future__ import annotations

import threading
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from captioner.audio.file_reader import AudioFile
from captioner.audio.ringbuffer import RingBuffer
from captioner.errors import AudioReadError

BLOCK_S = 0.02


class FileFeeder:
    """A producer thread that reads ``path`` block by block into a ring buffer on a real-time clock.

    Blocks come from :class:`~captioner.audio.file_reader.AudioFile`, the reader ``captioner transcribe``
    uses, at the file's own rate and channel count (the worker downmixes and resamples them as it does a
    device's).

    The file is streamed, never loaded whole (an hour of 48 kHz stereo would be 1.4 GB). A file that breaks
    part-way (a truncated download, a bad sector) keeps everything before the break: the feeder stops there,
    and ``problem`` says where and why.
    """

    def __init__(self, path: str | Path, speed: float = 1.0, ring_seconds: float = 8.0) -> None:
        self.path = Path(path)
        self.label = f"File: {self.path.name}"
        self._file = AudioFile(self.path)
        self.sample_rate = float(self._file.sample_rate)
        self.channels = self._file.channels
        self.duration_s = self._file.duration_s
        self.speed = speed
        self.ring = RingBuffer(self._file.frames(ring_seconds), self.channels)
        self.problem: str | None = None
        """Set when reading stopped before the end of the file: where, and why."""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def open(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="captioner-file-feeder", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def poll(self) -> str | None:
        return None

    def _run(self) -> None:
        t0 = time.monotonic()
        pos = 0
        try:
            with closing(self._file.blocks(self._file.frames(BLOCK_S))) as blocks:
                for chunk in blocks:
                    if self._stop.is_set() or len(chunk) == 0:
                        break
                    delay = t0 + pos / self.sample_rate / self.speed - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    # A file can wait for the consumer (a device cannot), so no audio is dropped here.
                    while self.ring.capacity - self.ring.available() < len(chunk) and not self._stop.is_set():
                        time.sleep(0.005)
                    self.ring.write(np.ascontiguousarray(chunk))
                    pos += len(chunk)
        except AudioReadError as exc:
            self.problem = f"{exc.describe(self.path.name)} Everything before that point was captioned."
        finally:
            self._done.set()
