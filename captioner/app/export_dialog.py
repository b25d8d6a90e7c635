"""Saving the transcript in the formats the CLI writes (the shared ``captioner.formats``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from captioner.asr.segmenter import Segment
from captioner.formats import segments_to_json, to_srt, to_text, to_vtt

FILTERS = {"txt": "Text (*.txt)", "srt": "SubRip subtitles (*.srt)", "vtt": "WebVTT subtitles (*.vtt)",
           "json": "JSON (*.json)"}


def render(segments: Sequence[Segment], fmt: str, model: str | None = None) -> str:
    if fmt == "txt":
        return to_text(segments)
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "vtt":
        return to_vtt(segments)
    if fmt == "json":
        return segments_to_json(segments, model=model)
    raise ValueError(f"unknown export format {fmt!r}")


def export_to(path: Path, segments: Sequence[Segment], fmt: str, model: str | None = None) -> Path:
    path.write_text(render(segments, fmt, model), encoding="utf-8")
    return path


def ask_and_export(parent: QWidget, segments: Sequence[Segment], fmt: str, suggested: Path,
                   model: str | None = None) -> Path | None:
    """Ask where to save, then write; returns the path, or ``None`` when cancelled."""
    name, _ = QFileDialog.getSaveFileName(parent, "Export transcript", str(suggested.with_suffix(f".{fmt}")),
                                          FILTERS[fmt])
    if not name:
        return None
    path = Path(name)
    if not path.suffix:
        path = path.with_suffix(f".{fmt}")
    return export_to(path, segments, fmt, model)
