"""Downmix to mono and resample, streaming, from a device's native rate to the model's 16 kHz.

Done on the consumer side so the audio callback stays trivial. soxr keeps filter state between
chunks, so chunk boundaries leave no clicks or aliasing (plain decimation would alias speech
energy above 8 kHz into the band the model listens to).
"""

from __future__ import annotations

import numpy as np
import soxr

from captioner.audio.ringbuffer import Float32Array


def downmix(block: Float32Array) -> Float32Array:
    """Average the channels of ``(n, channels)`` audio into a contiguous mono float32 vector."""
    if block.ndim == 1:
        return np.ascontiguousarray(block, dtype=np.float32)
    if block.shape[1] == 1:
        return np.ascontiguousarray(block[:, 0])
    return np.ascontiguousarray(block.mean(axis=1, dtype=np.float32))


class StreamResampler:
    """Stateful mono resampler; a pass-through when the rates already match."""

    def __init__(self, in_rate: float, out_rate: int, quality: str = "HQ") -> None:
        self.in_rate = float(in_rate)
        self.out_rate = out_rate
        self._stream = None if self.in_rate == out_rate else soxr.ResampleStream(
            self.in_rate, out_rate, 1, dtype="float32", quality=quality
        )

    def process(self, mono: Float32Array, last: bool = False) -> Float32Array:
        """Resample the next chunk; ``last=True`` flushes the filter tail at end of stream."""
        if self._stream is None:
            return mono
        out: Float32Array = self._stream.resample_chunk(mono, last=last)
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def reset(self) -> None:
        """Forget filter state (after a gap, so old audio does not leak into new)."""
        if self._stream is not None:
            self._stream.clear()


def to_model_rate(block: Float32Array, resampler: StreamResampler, last: bool = False) -> Float32Array:
    """Downmix a captured block and resample it; the one call the worker makes per chunk."""
    return resampler.process(downmix(block), last=last)
