"""Synthesis for the v2 recipe: v1's engines (``synth.py``) plus SVOX Pico and Piper.

Pico runs one ``pico2wave`` per utterance, with its own speed and pitch markup. Piper runs in
``DEMO_TTS_PYTHON`` (``neural_tts.py``), one process per batch so that each voice loads once.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from . import synth
from .voices import VoiceSetting
from .voices_v2 import tts_python

PIPER_NOISE = (0.667, 0.8)  # Piper's defaults for noise_scale and noise_w


def _pico(text: str, v: VoiceSetting, tmp: Path) -> np.ndarray:
    wav = tmp / "p.wav"
    markup = f"<speed level='{v.rate}'><pitch level='{v.pitch}'>{text}</pitch></speed>"
    subprocess.run(["pico2wave", "-l", v.voice, "-w", str(wav), markup], check=True, capture_output=True)
    return synth._trim(synth._read_wav(wav))


def _piper(items: list[tuple[str, VoiceSetting]], tmp: Path) -> list[np.ndarray]:
    jobs = tmp / "piper.jsonl"
    jobs.write_text("".join(json.dumps({"name": f"n{i}", "text": t, "voice": v.voice, "length_scale": v.stretch,
                                        "noise_scale": PIPER_NOISE[0], "noise_w": PIPER_NOISE[1]}) + "\n"
                            for i, (t, v) in enumerate(items)), encoding="utf-8")
    subprocess.run([tts_python(), "-m", "tools.demo_model.neural_tts", str(jobs), str(tmp / "piper")], check=True,
                   capture_output=True, cwd=Path(__file__).resolve().parents[2])
    return [synth._trim(synth._read_wav(tmp / "piper" / f"n{i}.wav")) for i in range(len(items))]


def synth_many(items: list[tuple[str, VoiceSetting]]) -> list[np.ndarray]:
    """16 kHz float32 audio of (voice text, setting) ``items``, in order."""
    out: list[np.ndarray | None] = [None] * len(items)
    old = [i for i, (_, v) in enumerate(items) if v.engine not in ("pico", "piper")]
    for i, x in zip(old, synth.synth_many([items[i] for i in old]) if old else [], strict=True):
        out[i] = x
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        piper = [i for i, (_, v) in enumerate(items) if v.engine == "piper"]
        for i, x in zip(piper, _piper([items[i] for i in piper], tmp) if piper else [], strict=True):
            out[i] = x
        for i, (text, v) in enumerate(items):
            if v.engine == "pico":
                out[i] = _pico(text, v, tmp)
    return [x if x is not None else np.zeros(0, np.float32) for x in out]
