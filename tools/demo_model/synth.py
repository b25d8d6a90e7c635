"""Synthesise sentences with the Debian TTS engines into 16 kHz float32 audio.

espeak-ng (and MBROLA through it) and flite run one process per utterance (a few ms each);
festival starts slowly, so it gets one Scheme script per batch of utterances.
Everything is resampled to 16 kHz with soxr and trimmed to 0.15 s of silence at each end.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .voices import VoiceSetting

SR = 16000
_PAD_S = 0.15


def _read_wav(path: Path) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = soxr.resample(x, sr, SR, quality="HQ").astype(np.float32)
    return x


def _trim(x: np.ndarray) -> np.ndarray:
    """Cut leading/trailing silence down to ``_PAD_S`` and normalise the peak to 0.5."""
    if x.size == 0 or float(np.max(np.abs(x))) < 1e-4:
        return x
    loud = np.flatnonzero(np.abs(x) > 0.02 * float(np.max(np.abs(x))))
    pad = int(_PAD_S * SR)
    x = x[max(0, loud[0] - pad): loud[-1] + pad]
    return (x * (0.5 / float(np.max(np.abs(x))))).astype(np.float32)


def _espeak(text: str, v: VoiceSetting, wav: Path) -> None:
    voice = v.voice + (f"+{v.variant}" if v.variant else "")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(v.rate), "-p", str(v.pitch), "-w", str(wav), text],
                   check=True, capture_output=True)


def _flite(text: str, v: VoiceSetting, wav: Path) -> None:
    subprocess.run(["flite", "-voice", v.voice, "--setf", f"duration_stretch={v.stretch}", "-t", text,
                    "-o", str(wav)], check=True, capture_output=True)


def synth_one(text: str, v: VoiceSetting, tmp: Path) -> np.ndarray:
    """One utterance with an espeak-ng, MBROLA or flite setting."""
    wav = tmp / "u.wav"
    if v.engine in ("espeak", "mbrola"):
        _espeak(text, v, wav)
    elif v.engine == "flite":
        _flite(text, v, wav)
    else:
        return synth_festival([(text, v)], tmp)[0]
    return _trim(_read_wav(wav))


def synth_festival(items: list[tuple[str, VoiceSetting]], tmp: Path) -> list[np.ndarray]:
    """Many festival utterances in one festival process."""
    lines = []
    for i, (text, v) in enumerate(items):
        safe = text.replace("\\", " ").replace('"', " ")
        lines.append(f"({v.voice})")
        lines.append(f"(Parameter.set 'Duration_Stretch {v.stretch})")
        lines.append(f'(utt.save.wave (SynthText "{safe}") "{tmp / f"f{i}.wav"}" \'riff)')
    script = tmp / "batch.scm"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run(["festival", "-b", str(script)], check=True, capture_output=True)
    return [_trim(_read_wav(tmp / f"f{i}.wav")) for i in range(len(items))]


def synth_many(items: list[tuple[str, VoiceSetting]]) -> list[np.ndarray]:
    """Synthesise ``items`` in order (festival ones batched)."""
    out: list[np.ndarray | None] = [None] * len(items)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        fest = [i for i, (_, v) in enumerate(items) if v.engine == "festival"]
        for i, x in zip(fest, synth_festival([items[i] for i in fest], tmp) if fest else [], strict=True):
            out[i] = x
        for i, (text, v) in enumerate(items):
            if v.engine != "festival":
                out[i] = synth_one(text, v, tmp)
    return [x if x is not None else np.zeros(0, np.float32) for x in out]
