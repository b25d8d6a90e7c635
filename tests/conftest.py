"""Shared paths to the committed fixtures (made by tools/make_fixtures.py with NeMo; CI never needs NeMo)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

FIXTURES = Path(__file__).parent / "fixtures"


@cache
def cases_index() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "reference" / "cases.json").read_text())
    return data


@cache
def reference(npz: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / npz) as data:
        return {k: data[k] for k in data.files}


def clip(name: str) -> np.ndarray:
    audio, rate = sf.read(FIXTURES / "audio" / f"{name}.wav", dtype="float32")
    assert rate == 16000
    return np.asarray(audio, dtype=np.float32)
