"""Execution-provider choice and audio-file input (any rate, any channel count)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from captioner.asr.runtime import CPU, CUDA, ProviderError, cuda_driver_present, resolve_providers
from captioner.audio.file_reader import iter_audio_blocks, load_audio
from captioner.errors import AudioInputError


def test_auto_picks_cpu_without_a_gpu_driver() -> None:
    providers = resolve_providers("auto")
    assert providers[-1] == CPU
    assert (providers[0] == CUDA) == cuda_driver_present()


def test_cuda_request_without_driver_says_why() -> None:
    if cuda_driver_present():
        pytest.skip("this machine has an NVIDIA driver; the refusal path cannot happen here")
    with pytest.raises(ProviderError, match=r"NVIDIA driver library|no CUDA provider"):
        resolve_providers("cuda")


def test_unknown_provider() -> None:
    with pytest.raises(ProviderError, match="choose one of auto, cuda, cpu"):
        resolve_providers("tpu")


def _tone(rate: int, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (44100, 2), (48000, 2), (8000, 1), (22050, 6)])
def test_any_rate_and_channels_become_16k_mono(tmp_path: Path, rate: int, channels: int) -> None:
    tone = _tone(rate, 1.3)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    path = tmp_path / "in.wav"
    sf.write(path, data, rate, subtype="FLOAT")
    out = load_audio(path, 16000)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(out.size - int(1.3 * 16000)) <= 2
    expected = _tone(16000, 1.3)[: out.size]
    # A proper band-limited resampler keeps a 440 Hz tone intact (decimation would alias/distort it).
    middle = slice(800, out.size - 800)
    assert np.max(np.abs(out[middle] - expected[middle])) < 2e-3


def test_blocks_stream_in_order(tmp_path: Path) -> None:
    tone = _tone(16000, 2.0)
    sf.write(tmp_path / "a.wav", tone, 16000, subtype="FLOAT")
    blocks = list(iter_audio_blocks(tmp_path / "a.wav", 16000, block_seconds=0.1))
    assert len(blocks) >= 20
    np.testing.assert_array_equal(np.concatenate(blocks), tone)


def test_missing_and_bad_audio(tmp_path: Path) -> None:
    with pytest.raises(AudioInputError, match="does not exist"):
        load_audio(tmp_path / "missing.wav", 16000)
    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    with pytest.raises(AudioInputError, match="not an audio file Captioner can read"):
        load_audio(bad, 16000)
    with pytest.raises(AudioInputError, match="is a folder"):
        load_audio(tmp_path, 16000)
