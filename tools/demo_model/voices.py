"""Every English voice installable from Debian packages, and the split of their settings.

Engines (Debian bookworm packages): espeak-ng (7 English accents x variants), MBROLA through
espeak-ng (mbrola-us1/us2/us3/en1, in contrib/non-free), flite (kal, kal16, awb, rms, slt) and
festival (festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts).

A *setting* is (engine, voice, variant, rate, pitch). Training settings and held-out settings use
disjoint rate and pitch grids (and, for espeak-ng, held-out variants), so no held-out setting is
ever heard in training; every voice itself is heard in training.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

ESPEAK_ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029"]
ESPEAK_TRAIN_VARIANTS = ["", "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f2", "f4", "klatt", "klatt2", "klatt4",
                         "Andy", "Annie", "anika", "benjamin", "david", "edward", "john", "linda", "paul", "steph"]
ESPEAK_TEST_VARIANTS = ["", "m3", "f3", "klatt3", "robert", "belinda"]
MBROLA_VOICES = ["mb-us1", "mb-us2", "mb-us3", "mb-en1"]
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL_VOICES = ["voice_kal_diphone", "voice_ked_diphone", "voice_cmu_us_slt_arctic_hts"]

TRAIN_RATES = [125, 140, 160, 175, 195, 210]      # espeak-ng words per minute
TEST_RATES = [150, 185]
TRAIN_PITCHES = [25, 38, 55, 68, 80]              # espeak-ng pitch 0-99
TEST_PITCHES = [45, 62]
TRAIN_STRETCH = [0.82, 0.9, 1.1, 1.2, 1.3]        # flite/festival duration stretch
TEST_STRETCH = [1.0, 1.05]

# Share of utterances per engine (espeak-ng has by far the most distinct voices).
ENGINE_WEIGHTS = {"espeak": 0.45, "mbrola": 0.25, "flite": 0.17, "festival": 0.13}


@dataclass(frozen=True)
class VoiceSetting:
    engine: str
    voice: str
    variant: str = ""
    rate: int = 0
    pitch: int = -1
    stretch: float = 1.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def pick(r: random.Random, held_out: bool) -> VoiceSetting:
    """A random setting from the training grid, or from the held-out grid."""
    engine = r.choices(list(ENGINE_WEIGHTS), weights=list(ENGINE_WEIGHTS.values()))[0]
    rates, pitches, stretches = ((TEST_RATES, TEST_PITCHES, TEST_STRETCH) if held_out
                                 else (TRAIN_RATES, TRAIN_PITCHES, TRAIN_STRETCH))
    if engine == "espeak":
        variants = ESPEAK_TEST_VARIANTS if held_out else ESPEAK_TRAIN_VARIANTS
        return VoiceSetting("espeak", r.choice(ESPEAK_ACCENTS), r.choice(variants), r.choice(rates), r.choice(pitches))
    if engine == "mbrola":
        return VoiceSetting("mbrola", r.choice(MBROLA_VOICES), "", r.choice(rates), r.choice(pitches))
    if engine == "flite":
        return VoiceSetting("flite", r.choice(FLITE_VOICES), stretch=r.choice(stretches))
    return VoiceSetting("festival", r.choice(FESTIVAL_VOICES), stretch=r.choice(stretches))
