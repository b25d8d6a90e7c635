"""The engine exactly as the app configures it: the reference the app's captions are compared with."""

from __future__ import annotations

from pathlib import Path

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer
from captioner.live.model_loading import live_default_lookahead


def app_recognizer(model_dir: Path) -> StreamingRecognizer:
    """A recognizer on ``model_dir`` with the app's defaults (decoder, live lookahead), on the CPU."""
    folder = load_model_folder(model_dir)
    return StreamingRecognizer(folder, lookahead_ms=live_default_lookahead(folder.spec.lookaheads_ms()),
                               provider="cpu")
