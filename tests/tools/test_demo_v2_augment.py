"""The v2 augmentations (``tools/demo_model/augment.py``): length, rate, level and the band they leave."""

from __future__ import annotations

import numpy as np
import pytest

from tools.demo_model import augment

SR = 16000


def _speechlike(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Harmonics of a 120 Hz voice up to 7 kHz under a syllable-rate envelope, plus a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * 120 * k * t) / np.sqrt(k) for k in range(1, 58))
    x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) + 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def _band_share(x: np.ndarray, lo: float, hi: float) -> float:
    s = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(s[(f >= lo) & (f < hi)].sum() / s.sum())


def _centroid(x: np.ndarray) -> float:
    s = np.abs(np.fft.rfft(x)) ** 2
    return float((s * np.fft.rfftfreq(len(x), 1 / SR)).sum() / s.sum())


def _energy(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2))


def _formant(hz: float, seconds: float = 2.0) -> np.ndarray:
    """Noise in a 200 Hz band around ``hz``: one formant, whose move a warp must show."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [hz - 100, hz + 100], btype="bandpass", fs=SR, output="sos")
    x = sosfiltfilt(sos, np.random.default_rng(1).standard_normal(int(seconds * SR)))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


@pytest.mark.parametrize("alpha", [0.9, 0.95, 1.05, 1.1])
def test_vtlp_moves_a_formant_by_alpha_and_keeps_length_and_level(alpha: float) -> None:
    x = _formant(1500.0)
    y = augment.vtlp(x, alpha)
    assert y.shape == x.shape and y.dtype == np.float32
    assert _energy(y) == pytest.approx(_energy(x), rel=0.02)
    assert _centroid(y) / _centroid(x) == pytest.approx(alpha, abs=0.02)


def test_vtlp_of_one_is_the_input() -> None:
    x = _speechlike()
    np.testing.assert_array_equal(augment.vtlp(x, 1.0), x)


@pytest.mark.parametrize("mulaw", [False, True])
def test_the_telephone_channel_keeps_300_to_3400_hz(mulaw: bool) -> None:
    x = _speechlike()
    y = augment.telephone(x, mulaw=mulaw)
    assert y.shape == x.shape and y.dtype == np.float32
    assert _band_share(x, 4000, 8000) > 0.05
    assert _band_share(y, 4000, 8000) < 1e-4, "nothing above the 8 kHz rate's Nyquist frequency"
    assert _band_share(y, 0, 200) < 0.01
    assert 0.3 < _energy(y) / _energy(x) < 1.1


def test_mu_law_is_close_but_not_exact() -> None:
    x = _speechlike()
    y = augment.mu_law(x)
    assert not np.array_equal(x, y)
    assert np.max(np.abs(x - y)) < 0.02


def test_opus_at_a_low_bitrate_keeps_length_and_rate_and_loses_detail() -> None:
    x = _speechlike(3.0)
    low = augment.opus(x, compression_level=1.0)
    high = augment.opus(x, compression_level=0.5)
    assert low.shape == x.shape == high.shape and low.dtype == np.float32
    kbit = augment.opus_bytes(x, compression_level=1.0) * 8 / 3.0 / 1000
    assert kbit < 16, f"{kbit:.1f} kbit/s"
    assert augment.opus_bytes(x, compression_level=0.5) > augment.opus_bytes(x, compression_level=1.0)
    err_low, err_high = _energy(low - x) / _energy(x), _energy(high - x) / _energy(x)
    assert err_high < err_low, "the lower bitrate distorts more"
    assert 0.3 < _energy(low) / _energy(x) < 1.5


def test_channel_applies_what_its_settings_ask_and_nothing_when_off() -> None:
    x = _speechlike()
    off = augment.channel(x, np.random.default_rng(0), {})
    np.testing.assert_array_equal(off, x)
    tel = augment.channel(x, np.random.default_rng(0), {"telephone_p": 1.0})
    assert tel.shape == x.shape and _band_share(tel, 4000, 8000) < 1e-4
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    a = augment.channel(x, rng_a, augment.V2_AUGMENT)
    b = augment.channel(x, rng_b, augment.V2_AUGMENT)
    np.testing.assert_array_equal(a, b)
