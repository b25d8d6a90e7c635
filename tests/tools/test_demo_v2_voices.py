"""The v2 voice inventory (``tools/demo_model/voices_v2.py``): parsing the engines' listings, the held-out split."""

from __future__ import annotations

import random

from tools.demo_model import voices_v2
from tools.demo_model.voices_v2 import Voice

ESPEAK_EN = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 3  en-uk           --/M      english-mb-en1     mb/mb-en1            (en-gb 3)(en 2)
 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  en-us           --/F      us-mbrola-1        mb/mb-us1            (en 8)
 9  en              --/F      en-german-1        mb/mb-de1-en
 5  en-029          --/M      English_(Caribbean) gmw/en-029
 7  fr-fr           --/M      french-mbrola-1    mb/mb-fr1            (fr 7)
"""
ESPEAK_VARIANTS = """Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  variant         --/M      Adam               !v/adam
 5  variant         --/F      Alicia             !v/Alicia
 5  variant         --/M      fast_test          !v/fast_test
"""


def test_espeak_listing_gives_accents_mbrola_voices_and_variants() -> None:
    rows = voices_v2.parse_espeak_voices(ESPEAK_EN)
    assert ("en-gb", "gmw/en") in rows and len(rows) == 7
    assert voices_v2.english_espeak_accents(rows) == ["en-029", "en-gb", "en-us"]
    assert voices_v2.english_mbrola(rows, {"us1", "de1", "fr1"}) == ["mb-de1-en", "mb-us1"]
    assert voices_v2.english_mbrola(rows, set()) == []
    assert voices_v2.espeak_variants(voices_v2.parse_espeak_voices(ESPEAK_VARIANTS)) == ["Alicia", "adam"]


def test_flite_listing_without_the_clock_voice() -> None:
    assert voices_v2.parse_flite_voices("Voices available: kal awb_time kal16 awb rms slt \n") == \
        ["kal", "kal16", "awb", "rms", "slt"]
    assert voices_v2.parse_flite_voices("flite: command not found") == []


def _inventory() -> tuple[list[Voice], list[str]]:
    voices = [Voice(e, n, "x", (e, n) in voices_v2.HELD_OUT_VOICES) for e, n in [
        ("espeak", "en-us"), ("espeak", "en-029"), ("flite", "kal"), ("flite", "awb"), ("pico", "en-US"),
        ("pico", "en-GB"), ("piper", "en_US-joe-medium"), ("festival", "voice_kal_diphone")]]
    variants = sorted(["adam", "Alicia", "m3", "f1", "klatt", "klatt3", "Andy", "steph", "zac", "Tweaky", "max"])
    return voices, variants


def test_training_never_draws_a_held_out_voice_or_setting_and_tests_draw_both_kinds() -> None:
    voices, variants = _inventory()
    r = random.Random(0)
    train = [voices_v2.pick(r, voices, variants, False) for _ in range(3000)]
    test = [voices_v2.pick(r, voices, variants, True) for _ in range(1000)]
    held = {(v.engine, v.voice) for v in voices if v.held_out}
    assert all(voices_v2.is_training_setting(v, voices, variants) for v in train)
    assert not any(voices_v2.is_training_setting(v, voices, variants) for v in test)
    assert not {(v.engine, v.voice) for v in train} & held
    assert {(v.engine, v.voice) for v in test} & held, "whole held-out voices are tested"
    assert {v.engine for v in test if (v.engine, v.voice) not in held} >= {"espeak", "piper"}, \
        "training voices with held-out settings are tested too"
    assert not {v.variant for v in train} & voices_v2.HELD_OUT_VARIANTS
