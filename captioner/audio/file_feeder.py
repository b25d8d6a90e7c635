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

from captioner.asr.errors import AudioInputError
from captioner.audio.ringbuffer import RingBuffer

BLOCK_S = 0.02


class FileFeeder:
    """A producer thread that writes ``path`` into a ring buffer in 20 ms blocks on a real-time clock."""

    def __init__(self, path: str | Path, speed: float = 1.0, ring_seconds: float = 8.0) -> None:
        self.path = Path(path)
        self.label = f"File: {self.path.name}"
        try:
            data, rate = sf.read(str(self.path), dtype="float32", always_2d=True)
        except Exception as err:
            raise AudioInputError(
                f"Could not read the audio file {self.path}: {err}. Use a WAV, FLAC or OGG file."
            ) from err
        self._data = np.ascontiguousarray(data, dtype=np.float32)
        self.sample_rate = float(rate)
        self.duration_s = len(self._data) / rate
        self.speed = speed
        self.ring = RingBuffer(max(int(ring_seconds * rate), 1), self._data.shape[1])
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
        while pos < len(self._data) and not self._stop.is_set():
            due = t0 + pos / self.sample_rate / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            chunk = self._data[pos : pos + block]
            # A file can wait for the consumer (a device cannot), so no audio is dropped here.
            while self.ring.capacity - self.ring.available() < len(chunk) and not self._stop.is_set():
                time.sleep(0.005)
            self.ring.write(chunk)
            pos += len(chunk)
        self._done.set()
