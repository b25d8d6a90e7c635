"""Where Captioner finds its bundled default model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from captioner.asr.manifest import MANIFEST_NAME

DEFAULT_MODEL_NAME = "captioner-demo-en"
MODEL_ENV = "CAPTIONER_MODEL"


def bundled_models_dirs() -> list[Path]:
    """Candidate ``models/`` folders: a PyInstaller bundle's, then a source checkout's."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "models")
    candidates.append(Path(__file__).resolve().parent.parent / "models")
    return candidates


def default_model_dir() -> Path | None:
    """``$CAPTIONER_MODEL`` if set, else the bundled demo model, else ``None``."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env).expanduser()
    for models in bundled_models_dirs():
        if (models / DEFAULT_MODEL_NAME / MANIFEST_NAME).is_file():
            return models / DEFAULT_MODEL_NAME
    return None
