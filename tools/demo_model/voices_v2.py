"""Every English voice installable here (Debian packages and PyPI wheels), their licences, and the v2 split.

The inventory is read from the engines themselves (``espeak-ng --voices``, ``flite -lv``, festival's and
Pico's voice folders, the Piper voices of ``DEMO_TTS_PYTHON``), so a machine with more or fewer packages
gets the voices it has. Unlike v1, whole voices are held out: ``HELD_OUT_VOICES`` are heard only in the
test set, besides held-out rates, pitches and stretches of the training voices.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .voices import TEST_PITCHES, TEST_RATES, TEST_STRETCH, TRAIN_PITCHES, TRAIN_RATES, TRAIN_STRETCH, VoiceSetting

LICENCES = {
    "espeak": "espeak-ng GPL-3.0+ (program and voice data); its speech is not covered",
    "mbrola": "MBROLA databases: non-commercial, non-military use only (Debian non-free); espeak-ng drives them",
    "flite": "flite and CMU voices: BSD-style (free)",
    "festival": "festival and festvox voices: BSD-style / free (kal, ked diphones; CMU ARCTIC slt HTS)",
    "pico": "SVOX Pico (libttspico-utils, Debian non-free for its binary lingware): Apache-2.0",
    "piper": "piper-tts GPL-3.0+ (program); voice data as listed per voice (joe: CC0)",
}
# Whole voices never used for training (engine, voice or espeak-ng variant).
HELD_OUT_VOICES = {("espeak", "en-029"), ("espeak", "en-us-nyc"), ("mbrola", "mb-en1"), ("mbrola", "mb-de4-en"),
                   ("mbrola", "mb-fr4-en"), ("flite", "awb"), ("festival", "voice_ked_diphone"), ("pico", "en-GB")}
# espeak-ng variants are voices too: every sixth (by name) is held out, plus these, which v1 held out.
HELD_OUT_VARIANTS = {"m3", "f3", "klatt3", "robert", "belinda"}
UNUSABLE_VARIANTS = {"fast_test"}
ENGINE_WEIGHTS = {"espeak": 0.30, "mbrola": 0.15, "flite": 0.12, "festival": 0.10, "pico": 0.13, "piper": 0.20}
PICO_RATES, PICO_TEST_RATES = [80, 90, 110, 125, 140], [100, 118]          # Pico <speed level> (percent)
PICO_PITCHES, PICO_TEST_PITCHES = [80, 90, 110, 120], [100, 105]          # Pico <pitch level> (percent)
PIPER_STRETCH, PIPER_TEST_STRETCH = [0.8, 0.9, 1.1, 1.25], [1.0, 1.05]    # Piper length_scale


@dataclass(frozen=True)
class Voice:
    engine: str
    voice: str
    licence: str
    held_out: bool


def parse_espeak_voices(listing: str) -> list[tuple[str, str]]:
    """(language, voice file) rows of ``espeak-ng --voices[=...]``, header skipped."""
    rows = []
    for line in listing.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5 and parts[0].isdigit():
            rows.append((parts[1], parts[4]))
    return rows


def parse_flite_voices(listing: str) -> list[str]:
    """Voice names from ``flite -lv`` ("Voices available: kal awb_time kal16 ..."), the clock voice left out."""
    m = re.search(r"Voices available:(.*)", listing)
    return [v for v in (m.group(1).split() if m else []) if not v.endswith("_time")]


def english_espeak_accents(rows: list[tuple[str, str]]) -> list[str]:
    """espeak-ng's own English accents (``gmw/...`` files), by language name."""
    return sorted({lang for lang, f in rows if lang.startswith("en") and f.startswith("gmw/")})


def english_mbrola(rows: list[tuple[str, str]], have: set[str]) -> list[str]:
    """MBROLA voices that speak English whose database (``/usr/share/mbrola/<db>``) is installed."""
    out = []
    for lang, f in rows:
        name = f.split("/")[-1]  # mb-us1, mb-de1-en
        db = name.removeprefix("mb-").removesuffix("-en")
        if lang.startswith("en") and f.startswith("mb/") and db in have:
            out.append(name)
    return sorted(set(out))


def espeak_variants(rows: list[tuple[str, str]]) -> list[str]:
    """Variant names from ``espeak-ng --voices=variant`` (``!v/NAME``)."""
    return sorted({f.split("/")[-1] for _, f in rows if f.startswith("!v/")} - UNUSABLE_VARIANTS)


def held_out_variant(name: str, ordered: list[str]) -> bool:
    return name in HELD_OUT_VARIANTS or (name in ordered and ordered.index(name) % 6 == 5)


def _run(cmd: list[str]) -> str:
    """A listing command's output (stdout and stderr: flite prints its voices on either); "" if not installed."""
    if shutil.which(cmd[0]) is None:
        return ""
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return p.stdout + p.stderr


def tts_python() -> str:
    """The interpreter with piper-tts: ``DEMO_TTS_PYTHON``, else this one."""
    return os.environ.get("DEMO_TTS_PYTHON", sys.executable)


def piper_voices() -> list[dict[str, str]]:
    out = subprocess.run([tts_python(), "-m", "tools.demo_model.neural_tts", "--list"], capture_output=True,
                         text=True, check=False, cwd=Path(__file__).resolve().parents[2]).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def inventory() -> tuple[list[Voice], list[str]]:
    """(voices, espeak-ng variants) installed here."""
    voices: list[Voice] = []

    def add(engine: str, name: str, licence: str | None = None) -> None:
        voices.append(Voice(engine, name, licence or LICENCES[engine], (engine, name) in HELD_OUT_VOICES))

    rows = parse_espeak_voices(_run(["espeak-ng", "--voices=en"]))
    for accent in english_espeak_accents(rows):
        add("espeak", accent)
    mb_dir = Path("/usr/share/mbrola")
    have = {p.name for p in mb_dir.iterdir()} if mb_dir.is_dir() else set()
    for name in english_mbrola(parse_espeak_voices(_run(["espeak-ng", "--voices=mb"])), have):
        add("mbrola", name)
    for name in parse_flite_voices(_run(["flite", "-lv"])):
        add("flite", name)
    fest = Path("/usr/share/festival/voices")
    if shutil.which("festival") and fest.is_dir():
        for d in sorted(fest.glob("*/*")):
            if d.parent.name in ("english", "us"):
                add("festival", f"voice_{d.name}")
    pico = Path("/usr/share/pico/lang")
    if shutil.which("pico2wave") and pico.is_dir():
        for lang in ("en-US", "en-GB"):
            if (pico / f"{lang}_ta.bin").exists():
                add("pico", lang)
    for v in piper_voices():
        add("piper", v["voice"], f"{LICENCES['piper']}; {v['voice']}: {v['licence']}")
    variants = espeak_variants(parse_espeak_voices(_run(["espeak-ng", "--voices=variant"])))
    return voices, variants


def pick(r: random.Random, voices: list[Voice], variants: list[str], held_out: bool) -> VoiceSetting:
    """A setting for one utterance: training voices and grids, or (``held_out``) held-out voices or settings.

    A held-out utterance uses a held-out voice half of the time and a training voice with held-out settings
    otherwise, so the test set measures both.
    """
    engines = sorted({v.engine for v in voices})
    weights = [ENGINE_WEIGHTS.get(e, 0.1) for e in engines]
    whole = held_out and r.random() < 0.5
    for _ in range(100):
        engine = r.choices(engines, weights)[0]
        pool = [v.voice for v in voices if v.engine == engine and v.held_out == whole]
        if pool:
            break
    else:
        raise RuntimeError("no voice for this split")
    voice = r.choice(pool)
    rates, pitches, stretches = ((TEST_RATES, TEST_PITCHES, TEST_STRETCH) if held_out
                                 else (TRAIN_RATES, TRAIN_PITCHES, TRAIN_STRETCH))
    if engine == "espeak":
        var = [v for v in variants if held_out_variant(v, variants) == held_out] or [""]
        return VoiceSetting("espeak", voice, r.choice(var), r.choice(rates), r.choice(pitches))
    if engine == "mbrola":
        return VoiceSetting("mbrola", voice, "", r.choice(rates), r.choice(pitches))
    if engine == "pico":
        return VoiceSetting("pico", voice, "", r.choice(PICO_TEST_RATES if held_out else PICO_RATES),
                            r.choice(PICO_TEST_PITCHES if held_out else PICO_PITCHES))
    if engine == "piper":
        return VoiceSetting("piper", voice, stretch=r.choice(PIPER_TEST_STRETCH if held_out else PIPER_STRETCH))
    return VoiceSetting(engine, voice, stretch=r.choice(stretches))


def is_training_setting(v: VoiceSetting, voices: list[Voice], variants: list[str]) -> bool:
    """Whether ``v`` could be drawn for training (a test setting never is)."""
    held = {(x.engine, x.voice) for x in voices if x.held_out}
    if (v.engine, v.voice) in held:
        return False
    if v.engine == "espeak":
        return not held_out_variant(v.variant, variants) and v.rate in TRAIN_RATES and v.pitch in TRAIN_PITCHES
    if v.engine == "mbrola":
        return v.rate in TRAIN_RATES and v.pitch in TRAIN_PITCHES
    if v.engine == "pico":
        return v.rate in PICO_RATES and v.pitch in PICO_PITCHES
    if v.engine == "piper":
        return v.stretch in PIPER_STRETCH
    return v.stretch in TRAIN_STRETCH
