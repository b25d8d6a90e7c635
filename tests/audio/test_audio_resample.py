"""Downmix + streaming resampling: right length, right pitch, no seams between chunks."""

from __future__ import annotations

import numpy as np

from captioner.audio.resample import StreamResampler, downmix, to_model_rate


def _tone(rate: float, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


def test_downmix_averages_channels() -> None:
    block = np.array([[1.0, 0.0], [0.5, 0.5], [-1.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(downmix(block), [0.5, 0.5, 0.0])
    assert downmix(block[:, :1]).flags.c_contiguous


def test_chunked_48k_stereo_to_16k_keeps_pitch_and_length() -> None:
    mono = _tone(48000, 2.0)
    stereo = np.stack([mono, mono], axis=1)
    rs = StreamResampler(48000, 16000)
    pieces = [to_model_rate(stereo[i : i + 441], rs) for i in range(0, len(stereo), 441)]
    pieces.append(rs.process(np.zeros(0, np.float32), last=True))
    out = np.concatenate(pieces)
    assert abs(len(out) - 32000) <= 2
    assert abs(_peak_hz(out[2000:-2000], 16000) - 440.0) < 2.0
    whole = StreamResampler(48000, 16000).process(mono, last=True)
    np.testing.assert_allclose(out[: len(whole)], whole[: len(out)], atol=1e-4)


def test_no_aliasing_of_content_above_8k() -> None:
    hi = _tone(44100, 1.0, hz=12000.0)
    out = StreamResampler(44100, 16000).process(hi, last=True)
    assert np.sqrt(np.mean(out**2)) < 0.01  # a decimator would fold 12 kHz down to 4 kHz


def test_passthrough_at_16k() -> None:
    x = _tone(16000, 0.1)
    np.testing.assert_array_equal(StreamResampler(16000, 16000).process(x), x)
