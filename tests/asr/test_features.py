"""The featurizer: librosa-identical mel matrix, incremental == whole file, and no librosa on the live path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from captioner.asr.features import StreamingFeaturizer, compute_features, mel_filterbank
from captioner.asr.spec import PreprocessorSpec


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "fmin", "fmax"),
    [(16000, 512, 80, 0.0, None), (16000, 512, 64, 0.0, None), (16000, 512, 128, 0.0, 8000.0),
     (8000, 256, 40, 20.0, 3800.0), (22050, 1024, 80, 0.0, None)],
)
def test_mel_filterbank_equals_librosa(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> None:
    librosa = pytest.importorskip("librosa", reason="librosa is a dev dependency; it is the definition checked")
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, "slaney")
    theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, norm="slaney")
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_mel_filterbank_without_norm_equals_librosa() -> None:
    librosa = pytest.importorskip("librosa")
    np.testing.assert_array_equal(mel_filterbank(16000, 512, 80, norm=None),
                                  librosa.filters.mel(sr=16000, n_fft=512, n_mels=80, norm=None))


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (tone + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_incremental_features_equal_whole_file(seed: int) -> None:
    spec = PreprocessorSpec()
    audio = _speechlike(2.37, seed)
    whole = compute_features(audio, spec)
    rng = np.random.default_rng(seed)
    featurizer = StreamingFeaturizer(spec)
    parts, pos = [], 0
    while pos < audio.size:
        n = int(rng.integers(1, 4000))
        parts.append(featurizer.accept(audio[pos : pos + n]))
        pos += n
    parts.append(featurizer.finish())
    streamed = np.concatenate(parts, axis=1)
    assert streamed.shape == whole.shape == (80, 1 + audio.size // 160)
    np.testing.assert_allclose(streamed, whole, atol=1e-5, rtol=0)


@pytest.mark.parametrize("length", [0, 1, 159, 160, 161, 399, 400, 960, 1601])
def test_edge_lengths(length: int) -> None:
    spec = PreprocessorSpec()
    audio = _speechlike(0.2)[:length]
    whole = compute_features(audio, spec)
    featurizer = StreamingFeaturizer(spec)
    streamed = np.concatenate([featurizer.accept(audio), featurizer.finish()], axis=1)
    assert whole.shape[1] == 1 + length // 160
    np.testing.assert_allclose(streamed, whole, atol=1e-5, rtol=0)
    assert np.all(whole[:, -1] == 0.0), "NeMo masks the last frame (valid length is samples // hop)"


def test_frames_emitted_as_soon_as_their_samples_exist() -> None:
    """Frame i needs samples up to 160*i + 255: latency is bounded, not deferred to finish()."""
    featurizer = StreamingFeaturizer(PreprocessorSpec())
    assert featurizer.accept(np.zeros(255, np.float32)).shape[1] == 0
    assert featurizer.accept(np.zeros(1, np.float32)).shape[1] == 1
    assert featurizer.accept(np.zeros(16000, np.float32)).shape[1] == 100


def test_silence_is_log_guard() -> None:
    feats = compute_features(np.zeros(3200, np.float32), PreprocessorSpec())
    np.testing.assert_allclose(feats[:, :-1], np.log(2.0**-24), rtol=1e-6)


def test_nonstreamable_normalisation_refused() -> None:
    with pytest.raises(ValueError, match="cannot stream"):
        StreamingFeaturizer(PreprocessorSpec(normalize="per_feature"))


def test_live_path_does_not_import_librosa() -> None:
    code = (
        "import sys, numpy as np\n"
        "from captioner.asr.recognizer import StreamingRecognizer\n"
        "from captioner.asr.features import compute_features\n"
        "from captioner.asr.spec import PreprocessorSpec\n"
        "compute_features(np.zeros(1600, np.float32), PreprocessorSpec())\n"
        "bad = sorted(m for m in ('librosa', 'numba', 'scipy', 'llvmlite', 'torch') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"live path imported {out}"
