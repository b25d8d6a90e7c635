"""Feed a sound file through the same ring buffer as a device, at real-time speed.

Used for demos and end-to-end tests: everything downstream of the ring buffer (resampler, worker,
captions) runs exactly as it would with a microphone.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from captioner.audio.ringbuffer import RingBuffer
from captioner.audiofile import describe_audio

BLOCK_S = 0.02


class FileFeeder:
    """A producer thread that reads ``path`` block by block into a ring buffer on a real-time clock.

    The file is streamed, never loaded whole (an hour of 48 kHz stereo would be 1.4 GB). A file that breaks
    part-way (a truncated download, a bad sector) keeps everything before the break: the feeder stops there,
    and ``problem`` says where and why.
    """

    def __init__(self, path: str | Path, speed: float = 1.0, ring_seconds: float = 8.0) -> None:
        self.path = Path(path)
        self.label = f"File: {self.path.name}"
        info = describe_audio(self.path)
        self.sample_rate = float(info.samplerate)
        self.channels = int(info.channels)
        self.duration_s = float(info.duration)
        self.speed = speed
        self.ring = RingBuffer(max(int(ring_seconds * info.samplerate), 1), self.channels)
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
        block = max(1, int(BLOCK_S * self.sample_rate))
        t0 = time.monotonic()
        pos = 0
        try:
            with sf.SoundFile(str(self.path)) as handle:
                while not self._stop.is_set():
                    due = t0 + pos / self.sample_rate / self.speed
                    delay = due - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    chunk = handle.read(block, dtype="float32", always_2d=True)
                    if len(chunk) == 0:
                        break
                    # A file can wait for the consumer (a device cannot), so no audio is dropped here.
                    while self.ring.capacity - self.ring.available() < len(chunk) and not self._stop.is_set():
                        time.sleep(0.005)
                    self.ring.write(np.ascontiguousarray(chunk))
                    pos += len(chunk)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            self.problem = (f"Reading {self.path.name} failed at {pos / self.sample_rate:.1f} s of "
                            f"{self.duration_s:.1f} s ({exc}); the file may be truncated. Everything before that "
                            "point was captioned.")
        finally:
            self._done.set()
