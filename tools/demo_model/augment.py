"""Waveform augmentations the v2 recipe adds to train.py's speed, gain, noise, babble, echo and SpecAugment.

Synthetic voices have few vocal tracts and are heard clean and wide-band; real captions come from
laptops, phones and video calls. So: vocal-tract-length perturbation (a warp of the frequency axis that
moves formants, as a longer or shorter vocal tract would), a telephone channel (8 kHz, 300-3400 Hz,
optional G.711 mu-law), and Opus at a low bitrate through libsndfile (soundfile), the codec of video calls.
All keep the sample rate and the length of their input and take numpy float32 mono.
"""

from __future__ import annotations

import io

import numpy as np

SR = 16000


def vtlp(x: np.ndarray, alpha: float, sr: int = SR, f_hi: float = 4800.0, n_fft: int = 512) -> np.ndarray:
    """Vocal-tract-length perturbation: the spectrum warped by ``alpha`` (0.9-1.1) below ``f_hi``.

    The piecewise-linear warp of Jaitly and Hinton (2013): frequency f goes to alpha * f up to a knee, then
    linearly to the Nyquist frequency, so no band is lost. Done on an STFT with 50 % overlapping Hann windows,
    magnitudes and phases interpolated along frequency.
    """
    from scipy.signal import istft, stft

    if alpha == 1.0 or len(x) < n_fft:
        return x.astype(np.float32)
    _, _, z = stft(x, fs=sr, nperseg=n_fft, noverlap=n_fft // 2)
    nyq = sr / 2
    f = np.linspace(0.0, nyq, z.shape[0])
    knee = f_hi * min(alpha, 1.0) / alpha
    warped = np.where(f <= knee, alpha * f,
                      nyq - (nyq - alpha * knee) / (nyq - knee) * (nyq - f))
    # each output bin reads the input at the frequency that maps onto it
    src = np.interp(f, warped, f)
    idx = src / nyq * (z.shape[0] - 1)
    lo = np.clip(np.floor(idx).astype(int), 0, z.shape[0] - 1)
    hi = np.clip(lo + 1, 0, z.shape[0] - 1)
    w = (idx - lo)[:, None]
    mag = (1 - w) * np.abs(z[lo]) + w * np.abs(z[hi])
    phase = np.angle(np.where(w < 0.5, z[lo], z[hi]))
    _, y = istft(mag * np.exp(1j * phase), fs=sr, nperseg=n_fft, noverlap=n_fft // 2)
    y = y[: len(x)]
    if len(y) < len(x):
        y = np.pad(y, (0, len(x) - len(y)))
    # interpolating magnitudes loses some energy; a warp should move formants, not change the level
    y = y * np.sqrt(float(np.mean(x ** 2)) / (float(np.mean(y ** 2)) + 1e-12))
    return y.astype(np.float32)


def mu_law(x: np.ndarray, mu: int = 255) -> np.ndarray:
    """G.711 mu-law coding and decoding (8 bits a sample): the quantisation noise of a phone line."""
    y = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
    q = np.round((y + 1) / 2 * mu) / mu * 2 - 1
    return (np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu).astype(np.float32)


def telephone(x: np.ndarray, sr: int = SR, mulaw: bool = True) -> np.ndarray:
    """A narrow-band phone channel: down to 8 kHz, 300-3400 Hz band-pass, mu-law, back up to ``sr``."""
    from scipy.signal import butter, resample_poly, sosfiltfilt

    y = resample_poly(x, 8000, sr)
    sos = butter(6, [300, 3400], btype="bandpass", fs=8000, output="sos")
    y = sosfiltfilt(sos, y)
    if mulaw:
        y = mu_law(y)
    y = resample_poly(y, sr, 8000)
    y = y[: len(x)]
    if len(y) < len(x):
        y = np.pad(y, (0, len(x) - len(y)))
    return y.astype(np.float32)


def opus(x: np.ndarray, sr: int = SR, compression_level: float = 1.0) -> np.ndarray:
    """Ogg Opus coding and decoding in memory; ``compression_level`` 1.0 is libsndfile's lowest bitrate
    (about 8 kbit/s with the Ogg framing for 16 kHz speech; the training shards use 0.97, about 15 kbit/s)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1, 1), sr, format="OGG", subtype="OPUS", compression_level=compression_level)
    buf.seek(0)
    y, rate = sf.read(buf, dtype="float32")
    if rate != sr:
        raise ValueError(f"Opus came back at {rate} Hz")
    y = y[: len(x)]
    if len(y) < len(x):
        y = np.pad(y, (0, len(x) - len(y)))
    return y.astype(np.float32)


def opus_bytes(x: np.ndarray, sr: int = SR, compression_level: float = 1.0) -> int:
    """Size of ``x`` coded as Ogg Opus: how :func:`opus`'s bitrate is measured."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1, 1), sr, format="OGG", subtype="OPUS", compression_level=compression_level)
    return len(buf.getvalue())


# v2 additions to train.py's augmentation settings (probabilities per utterance, after speed and echo).
V2_AUGMENT = {"vtlp_p": 0.3, "vtlp_alpha": [0.9, 1.1], "telephone_p": 0.08, "opus_p": 0.08,
              "opus_level": [0.95, 1.0]}


def channel(x: np.ndarray, rng: np.random.Generator, cfg: dict[str, object]) -> np.ndarray:
    """The v2 augmentations drawn for one utterance by ``cfg`` (keys of ``V2_AUGMENT``; absent ones off)."""
    if rng.random() < float(cfg.get("vtlp_p", 0.0)):  # type: ignore[arg-type]
        lo, hi = cfg["vtlp_alpha"]  # type: ignore[misc]
        x = vtlp(x, float(rng.uniform(lo, hi)))
    u = rng.random()
    tel, op = float(cfg.get("telephone_p", 0.0)), float(cfg.get("opus_p", 0.0))  # type: ignore[arg-type]
    if u < tel:
        x = telephone(x, mulaw=bool(rng.random() < 0.5))
    elif u < tel + op:
        lo, hi = cfg["opus_level"]  # type: ignore[misc]
        x = opus(x, compression_level=float(rng.uniform(lo, hi)))
    return x
