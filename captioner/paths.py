"""Where Captioner keeps its files: the bundled default model, the user's models, the session logs and its own log."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from captioner.asr.manifest import MANIFEST_NAME

DEFAULT_MODEL_NAME = "captioner-demo-en"
MODEL_ENV = "CAPTIONER_MODEL"
APP_NAME = "Captioner"
LOG_DIR_ENV = "CAPTIONER_LOG_DIR"


def user_data_dir() -> Path:
    """The user's data folder: where Qt's ``AppDataLocation`` is for organisation and application "Captioner".

    Computed without Qt so the command line and the app agree on it (the app sets both names).
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME / APP_NAME


def user_log_dir() -> Path:
    """The user's log folder, where each platform keeps application logs (``$CAPTIONER_LOG_DIR`` if set).

    Linux: ``$XDG_STATE_HOME/Captioner/log`` (``~/.local/state/Captioner/log``); Windows:
    ``%LOCALAPPDATA%\\Captioner\\Logs``; macOS: ``~/Library/Logs/Captioner``. Logs are machine-local
    state, not data to roam or back up, hence not beside ``user_data_dir()``.
    """
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / APP_NAME / "Logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / APP_NAME
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / APP_NAME / "log"


def user_models_dir() -> Path:
    """Where downloaded and imported models live: ``<user data>/models``, one folder per model."""
    return user_data_dir() / "models"


def sessions_dir() -> Path:
    """Where the app autosaves each captioning session: ``<user data>/sessions``."""
    return user_data_dir() / "sessions"


def bundled_models_dirs() -> list[Path]:
    """Candidate ``models/`` folders: a PyInstaller bundle's, then a source checkout's."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "models")
    candidates.append(Path(__file__).resolve().parent.parent / "models")
    return candidates


def is_bundled_demo(path: Path) -> bool:
    """Whether ``path`` is the demo model that ships with Captioner (not a model the user chose)."""
    resolved = path.expanduser().resolve()
    return any(resolved == (models / DEFAULT_MODEL_NAME).resolve() for models in bundled_models_dirs())


def default_model_dir() -> Path | None:
    """``$CAPTIONER_MODEL`` if set, else the bundled demo model, else ``None``."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env).expanduser()
    for models in bundled_models_dirs():
        if (models / DEFAULT_MODEL_NAME / MANIFEST_NAME).is_file():
            return models / DEFAULT_MODEL_NAME
    return None
