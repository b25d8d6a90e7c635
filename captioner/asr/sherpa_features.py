"""sherpa-onnx's features for NeMo transducers (kaldi-native-fbank), computed incrementally in numpy.

sherpa-onnx's ``OnlineRecognizerTransducerNeMoImpl::PostInit`` (``sherpa-onnx/csrc/online-recognizer-transducer-
nemo-impl.h``) sets the kaldi-native-fbank options of its stream to: ``feature_dim`` = the encoder's feature
axis, ``low_freq`` 0, ``high_freq`` 8000, ``is_librosa`` true, ``remove_dc_offset`` false, ``window_type``
"hann", ``dither`` 0; the other ``FeatureExtractorConfig`` defaults stay (``sherpa-onnx/csrc/features.h``):
samples in [-1, 1], 25 ms frames every 10 ms, ``snip_edges`` false, ``preemph_coeff`` 0.97, FFT size rounded up
to 512. ``normalize_type`` is handed to the stream but only offline streams apply it. kaldi-native-fbank then
computes, per frame (``kaldi-native-fbank/csrc/feature-window.cc``, ``feature-fbank.cc``,
``mel-computations.cc``):

1. Frame ``f`` takes samples ``[160 f - 120, 160 f + 280)``, reflected at the ends of the signal (``-1 -> 0``),
   not zero-padded; the last frames exist only once the input is finished, ``(N + 80) // 160`` in all.
2. Pre-emphasis INSIDE the frame: ``y[i] = x[i] - 0.97 x[i-1]``, ``y[0] = x[0] - 0.97 x[0]`` (NeMo filters the
   whole signal once, with ``y[0] = x[0]``).
3. A periodic Hann window of 400 (``0.5 - 0.5 cos(2 pi i / 400)``; NeMo: symmetric), zero-padded to 512.
4. Power spectrum, librosa-style Slaney mel filterbank (slaney scale and norm, 0..8000 Hz) built in float32.
5. ``log(max(mel, FLT_EPSILON))`` (NeMo: ``log(mel + 2**-24)``). No normalisation.

Everything is float32 as in kaldi-native-fbank except the FFT, which numpy computes in float64 (kiss_fft's
float32 rounding cannot be reproduced without reimplementing it; the difference is about 1e-6 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
FLT_EPSILON = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class KaldiFbankSpec:
    """The kaldi-native-fbank options sherpa-onnx uses for NeMo streaming transducers."""

    n_mels: int = 80
    sample_rate: int = 16000
    frame_length: int = 400
    frame_shift: int = 160
    n_fft: int = 512
    low_freq: float = 0.0
    high_freq: float = 8000.0
    preemph: float = 0.97


def _mel_slaney(hz: np.float32) -> np.float32:
    if hz <= 1000:
        return np.float32(hz * np.float32(3) / np.float32(200.0))
    return np.float32(np.float32(15) + np.float32(14.545078505785561) * np.log(np.float32(hz / np.float32(1000))))


def _inverse_mel_slaney(mel: np.float32) -> np.float32:
    if mel <= 15:
        return np.float32(np.float32(np.float32(200.0) / np.float32(3)) * mel)
    return np.float32(np.float32(1000) * np.exp(np.float32((mel - np.float32(15)) * np.float32(0.06875177742094911))))


def knf_librosa_mel_banks(spec: KaldiFbankSpec) -> FloatArray:
    """``MelBanks::InitLibrosaMelBanks`` (slaney scale, slaney norm) as a dense float32 ``[n_mels, n_fft//2+1]``."""
    bins = spec.n_fft // 2
    fft_bin_width = np.float32(spec.sample_rate) / np.float32(spec.n_fft)
    mel_low = _mel_slaney(np.float32(spec.low_freq))
    mel_high = _mel_slaney(np.float32(spec.high_freq))
    delta = np.float32((mel_high - mel_low) / np.float32(spec.n_mels + 1))
    out = np.zeros((spec.n_mels, bins + 1), np.float32)
    for b in range(spec.n_mels):
        left = _inverse_mel_slaney(np.float32(mel_low + np.float32(b) * delta))
        center = _inverse_mel_slaney(np.float32(mel_low + np.float32(b + 1) * delta))
        right = _inverse_mel_slaney(np.float32(mel_low + np.float32(b + 2) * delta))
        norm = np.float32(np.float32(2) / np.float32(right - left))
        for i in range(bins + 1):
            hz = np.float32(fft_bin_width * np.float32(i))
            if left < hz < right:
                if hz <= center:
                    weight = np.float32((hz - left) / np.float32(center - left))
                else:
                    weight = np.float32((right - hz) / np.float32(right - center))
                out[b, i] = np.float32(weight * norm)
    return out


def knf_hann_window(length: int) -> FloatArray:
    """kaldi-native-fbank's "hann": periodic, computed in double and stored as float."""
    i = np.arange(length, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi / length * i)).astype(np.float32)


class SherpaFeaturizer:
    """Turns 16 kHz samples into sherpa-onnx's log-mel frames ``[n_mels, T]`` as they arrive.

    ``accept`` returns the frames whose samples all exist (kaldi's ``NumFrames(flush=false)``); ``finish``
    returns the rest, whose windows reflect at the end of the signal, as ``InputFinished`` does.
    """

    def __init__(self, spec: KaldiFbankSpec) -> None:
        self.spec = spec
        self._window = knf_hann_window(spec.frame_length)
        self._mel = knf_librosa_mel_banks(spec).astype(np.float64)
        self.reset()

    def reset(self) -> None:
        self._samples = np.zeros(0, np.float32)
        self._base = 0  # global index of _samples[0]
        self._total = 0
        self._frames_out = 0

    @property
    def frames_emitted(self) -> int:
        return self._frames_out

    def _first_sample(self, frame: int) -> int:
        shift = self.spec.frame_shift
        return frame * shift + shift // 2 - self.spec.frame_length // 2

    def accept(self, samples: npt.NDArray[np.float32]) -> FloatArray:
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size:
            self._samples = np.concatenate([self._samples, x])
            self._total += x.size
        ready = 0
        while self._first_sample(ready) + self.spec.frame_length <= self._total:
            ready += 1
        return self._emit(ready)

    def finish(self) -> FloatArray:
        shift = self.spec.frame_shift
        return self._emit((self._total + shift // 2) // shift)

    def _emit(self, upto: int) -> FloatArray:
        spec = self.spec
        count = upto - self._frames_out
        if count <= 0 or self._total == 0:
            return np.zeros((spec.n_mels, 0), np.float32)
        starts = np.array([self._first_sample(f) for f in range(self._frames_out, upto)], np.int64)
        idx = starts[:, None] + np.arange(spec.frame_length)[None, :]
        n = self._total
        while True:  # reflect around the ends: -1 -> 0, n -> n - 1 (repeatedly for very short signals)
            low, high = idx < 0, idx >= n
            if not (low.any() or high.any()):
                break
            idx = np.where(low, -idx - 1, idx)
            idx = np.where(high, 2 * n - 1 - idx, idx)
        frames = self._samples[idx - self._base]
        coef = np.float32(spec.preemph)
        emphasised = np.empty_like(frames)
        emphasised[:, 1:] = frames[:, 1:] - coef * frames[:, :-1]
        emphasised[:, 0] = frames[:, 0] - coef * frames[:, 0]
        windowed = emphasised * self._window
        spectrum = np.fft.rfft(windowed.astype(np.float64), n=spec.n_fft, axis=1)
        power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32).astype(np.float64)
        mel = (self._mel @ power.T).astype(np.float32)
        out = np.log(np.maximum(mel, np.float32(FLT_EPSILON)))
        self._frames_out = upto
        keep_from = self._first_sample(upto)
        if self._base > 0 or keep_from > 0:  # frame 0 may reflect around sample 0: keep the start until it is out
            drop = max(0, min(keep_from, self._total) - self._base)
            if drop:
                self._samples = self._samples[drop:]
                self._base += drop
        return np.asarray(out, np.float32)


def compute_sherpa_features(samples: npt.NDArray[np.float32], spec: KaldiFbankSpec) -> FloatArray:
    """Whole-signal features ``[n_mels, (N + 80) // 160]`` (as after ``InputFinished``), in one pass."""
    featurizer = SherpaFeaturizer(spec)
    head = featurizer.accept(samples)
    return np.concatenate([head, featurizer.finish()], axis=1)
