"""Shared paths to the committed fixtures (made by tools/make_fixtures.py with NeMo; CI never needs NeMo)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _test_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The app and the commands that tests run log to a temporary folder, never to the developer's log."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("logs")
        mp.setenv("CAPTIONER_LOG_DIR", str(folder))
        yield folder


@cache
def cases_index() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "reference" / "cases.json").read_text())
    return data


@cache
def reference(npz: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / npz) as data:
        return {k: data[k] for k in data.files}


def clip(name: str) -> np.ndarray:
    audio, rate = sf.read(FIXTURES / "audio" / f"{name}.wav", dtype="float32")
    assert rate == 16000
    return np.asarray(audio, dtype=np.float32)


def assert_same_tokens(reference_dir: Path, other_dir: Path, audio: np.ndarray,
                       lookaheads: list[int] | tuple[int, ...], decoders: tuple[str, ...] = ("rnnt", "ctc")) -> None:
    """``other_dir`` emits exactly the token ids and frames of ``reference_dir`` at every lookahead and decoder."""
    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples

    for lookahead in lookaheads:
        for decoder in decoders:
            ref, got = (StreamingRecognizer(load_model_folder(d), lookahead_ms=lookahead, decoder=decoder,
                                            provider="cpu") for d in (reference_dir, other_dir))
            expected = [(t.id, t.frame) for t in transcribe_samples(ref, audio)]
            assert expected, "the reference must emit tokens for the comparison to mean something"
            assert [(t.id, t.frame) for t in transcribe_samples(got, audio)] == expected, (lookahead, decoder)


def encoder_feeds(spec: Any, streaming: Any, frames: int, seed: int) -> dict[str, np.ndarray]:
    """Random features and caches, with a half-full attention cache so that cached positions matter."""
    from captioner.asr.spec import AttentionCache

    rng = np.random.default_rng(seed)
    enc = spec.encoder
    cache = streaming.last_channel_cache_size
    width = 2 * enc.d_model if spec.attention_cache is AttentionCache.PROJECTED_KV else enc.d_model
    return {
        "audio_signal": rng.standard_normal((1, enc.feat_in, frames)).astype(np.float32),
        "length": np.array([frames], np.int64),
        "cache_last_channel": rng.standard_normal((1, enc.n_layers, cache, width)).astype(np.float32),
        "cache_last_time": rng.standard_normal((1, enc.n_layers, enc.d_model, enc.conv_cache_size)).astype(np.float32),
        "cache_last_channel_len": np.array([cache // 2], np.int64),
    }
