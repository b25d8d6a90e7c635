"""Hours of audio must cost the memory of seconds: the recognizer holds no growing state."""

from __future__ import annotations

import tracemalloc

import numpy as np

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer
from tests.conftest import FIXTURES, clip


def test_memory_flat_over_a_long_stream() -> None:
    rec = StreamingRecognizer(load_model_folder(FIXTURES / "models" / "tiny-b"), lookahead_ms=160, provider="cpu")
    speech = np.concatenate([clip("speech_8s"), clip("tone_noise_3s"), clip("silence_2s")])
    block = 1600
    tokens = 0

    def feed(seconds: float) -> None:
        nonlocal tokens
        for _ in range(int(seconds / speech.size * 16000) + 1):
            for start in range(0, speech.size, block):
                tokens += len(rec.accept(speech[start : start + block]))

    feed(60)
    tracemalloc.start()
    feed(60)
    after_warmup, _ = tracemalloc.get_traced_memory()
    feed(600)  # ten more minutes
    after_long, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rec.audio_seconds > 700 and tokens > 1000
    assert rec._feats.shape[1] <= rec.streaming.pre_encode_cache_size + rec.streaming.chunk_frames[1] + 16
    assert after_long - after_warmup < 256 * 1024, f"grew {after_long - after_warmup} bytes over 10 minutes"
    assert len(rec.step_seconds) <= rec.step_seconds.maxlen  # type: ignore[operator]
