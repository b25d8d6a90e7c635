"""NeMo's log-mel featurizer (nemo-toolkit >= 2.5 semantics), computed incrementally in numpy.

Why not librosa: importing it pulls numba and scipy (seconds of start-up, hundreds of MB in the
installer). The Slaney mel filterbank below reproduces ``librosa.filters.mel`` and a test proves
it; nothing on the live path imports librosa.

Why incremental: frame ``i`` depends only on samples ``[hop*i - n_fft/2, hop*i + n_fft/2)``, so a
live stream can emit every frame as soon as its samples exist and produce exactly the frames a
whole-file computation would, holding back only those that touch the unknown end.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from captioner.asr.spec import PreprocessorSpec

FloatArray = npt.NDArray[np.float32]


def _hz_to_mel_slaney(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mels = hz / f_sp
    log_region = hz >= min_log_hz
    mels[log_region] = min_log_mel + np.log(hz[log_region] / min_log_hz) / logstep
    return mels


def _mel_to_hz_slaney(mels: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    hz = f_sp * mels
    log_region = mels >= min_log_mel
    hz[log_region] = min_log_hz * np.exp(logstep * (mels[log_region] - min_log_mel))
    return hz


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None,
    norm: str | None = "slaney",
) -> FloatArray:
    """``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm)`` as float32 ``[n_mels, n_fft//2+1]``."""
    if norm not in (None, "slaney"):
        raise ValueError(f"unsupported mel normalisation {norm!r} (NeMo uses 'slaney' or None)")
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    mel_edges = _mel_to_hz_slaney(
        np.linspace(
            _hz_to_mel_slaney(np.array([fmin], dtype=np.float64))[0],
            _hz_to_mel_slaney(np.array([fmax], dtype=np.float64))[0],
            n_mels + 2,
        )
    )
    fdiff = np.diff(mel_edges)
    ramps = np.subtract.outer(mel_edges, fft_freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    # librosa rounds the triangles to float32 before normalising; doing the same keeps us bit-identical.
    weights = np.maximum(0.0, np.minimum(lower, upper)).astype(np.float32)
    if norm == "slaney":
        enorm = 2.0 / (mel_edges[2 : n_mels + 2] - mel_edges[:n_mels])
        weights = (weights * enorm[:, None]).astype(np.float32)
    return np.asarray(weights, dtype=np.float32)


def analysis_window(spec: PreprocessorSpec) -> npt.NDArray[np.float64]:
    """NeMo's symmetric window of ``win_length`` centred (zero-padded) in ``n_fft``, as torch.stft does."""
    if spec.window not in ("hann", "hanning"):
        raise ValueError(f"unsupported analysis window {spec.window!r}; Captioner supports NeMo's 'hann'")
    window = np.hanning(spec.win_length)
    left = (spec.n_fft - spec.win_length) // 2
    padded = np.zeros(spec.n_fft, dtype=np.float64)
    padded[left : left + spec.win_length] = window
    return padded


class StreamingFeaturizer:
    """Turns 16 kHz samples into NeMo log-mel frames ``[n_mels, T]`` as they arrive.

    ``accept`` returns the frames that are final; ``finish`` returns the rest, padded with zeros
    as ``torch.stft(center=True, pad_mode='constant')`` does, with the last frame set to
    ``pad_value`` as NeMo's length mask does (its valid length is ``samples // hop``).
    """

    def __init__(self, spec: PreprocessorSpec) -> None:
        if spec.normalize not in ("NA", "None", None):
            raise ValueError(
                f"feature normalisation {spec.normalize!r} needs the whole utterance and cannot stream; "
                "cache-aware streaming models use normalize: NA"
            )
        if spec.log_zero_guard_type != "add":
            raise ValueError(f"unsupported log_zero_guard_type {spec.log_zero_guard_type!r}")
        self.spec = spec
        self._window = analysis_window(spec)
        self._mel = mel_filterbank(
            spec.sample_rate, spec.n_fft, spec.n_mels, spec.fmin, spec.fmax, spec.mel_norm
        ).astype(np.float64)
        self._half = spec.n_fft // 2
        self.reset()

    def reset(self) -> None:
        # Pre-emphasised samples, starting with the centre padding; index 0 is padded position _base.
        self._buffer = np.zeros(self._half, dtype=np.float32)
        self._base = 0  # padded-signal position of _buffer[0]
        self._prev_sample: np.float32 | None = None
        self._samples_seen = 0
        self._frames_out = 0

    @property
    def frames_emitted(self) -> int:
        return self._frames_out

    def accept(self, samples: npt.NDArray[np.float32]) -> FloatArray:
        """Add samples; return the newly final frames (possibly zero of them)."""
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size:
            self._buffer = np.concatenate([self._buffer, self._preemphasis(x)])
            self._samples_seen += x.size
        return self._emit(available=self._base + self._buffer.size)

    def finish(self) -> FloatArray:
        """Flush: the frames a whole-file computation has beyond those already emitted."""
        self._buffer = np.concatenate([self._buffer, np.zeros(self._half, dtype=np.float32)])
        total = self._samples_seen // self.spec.hop_length + 1
        frames = self._emit(available=self._base + self._buffer.size, limit=total)
        if frames.shape[1]:
            frames[:, -1] = self.spec.pad_value
        return frames

    def _preemphasis(self, x: FloatArray) -> FloatArray:
        if self.spec.preemph is None:
            return x
        coef = np.float32(self.spec.preemph)
        prev = x[0] if self._prev_sample is None else self._prev_sample
        shifted = np.empty_like(x)
        shifted[0] = prev
        shifted[1:] = x[:-1]
        out = x - coef * shifted
        if self._prev_sample is None:
            out[0] = x[0]
        self._prev_sample = x[-1]
        return out

    def _emit(self, available: int, limit: int | None = None) -> FloatArray:
        hop, n_fft = self.spec.hop_length, self.spec.n_fft
        # Frame i covers padded positions [hop*i, hop*i + n_fft).
        n_ready = max(0, (available - n_fft) // hop + 1 - self._frames_out)
        if limit is not None:
            n_ready = min(n_ready, max(0, limit - self._frames_out))
        if n_ready == 0:
            return np.zeros((self.spec.n_mels, 0), dtype=np.float32)
        start = hop * self._frames_out - self._base
        idx = start + hop * np.arange(n_ready)[:, None] + np.arange(n_fft)[None, :]
        frames = self._buffer[idx].astype(np.float64) * self._window
        spectrum = np.fft.rfft(frames, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        if self.spec.mag_power != 2.0:
            power = np.sqrt(power) ** self.spec.mag_power
        mel = self._mel @ power.T
        if self.spec.log:
            mel = np.log(mel + self.spec.log_zero_guard_value)
        self._frames_out += n_ready
        # Drop samples no future frame needs.
        keep_from = hop * self._frames_out - self._base
        if keep_from > 0:
            self._buffer = self._buffer[keep_from:]
            self._base += keep_from
        return mel.astype(np.float32)


def compute_features(samples: npt.NDArray[np.float32], spec: PreprocessorSpec) -> FloatArray:
    """Whole-utterance features ``[n_mels, 1 + len(samples)//hop]``, computed in one pass.

    Deliberately independent of ``StreamingFeaturizer`` (whole-signal pre-emphasis, padding and
    framing), so tests can prove the incremental path equals it.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if spec.preemph is not None and x.size > 1:
        x = np.concatenate([x[:1], x[1:] - np.float32(spec.preemph) * x[:-1]])
    half, hop = spec.n_fft // 2, spec.hop_length
    padded = np.concatenate([np.zeros(half, np.float32), x, np.zeros(half, np.float32)]).astype(np.float64)
    n_frames = 1 + x.size // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, spec.n_fft)[::hop][:n_frames]
    spectrum = np.fft.rfft(frames * analysis_window(spec), axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    if spec.mag_power != 2.0:
        power = np.sqrt(power) ** spec.mag_power
    mel = mel_filterbank(spec.sample_rate, spec.n_fft, spec.n_mels, spec.fmin, spec.fmax, spec.mel_norm)
    out = mel.astype(np.float64) @ power.T
    if spec.log:
        out = np.log(out + spec.log_zero_guard_value)
    out[:, -1] = spec.pad_value
    return out.astype(np.float32)
