"""Saving the transcript in the formats the CLI writes (the shared ``captioner.formats``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from captioner.asr.segmenter import Segment
from captioner.formats import segments_to_json, to_srt, to_text, to_vtt
from captioner.private_files import new_temporary_beside

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


class ExportError(Exception):
    """The transcript could not be saved; the message says why and what to do."""


def export_to(path: Path, segments: Sequence[Segment], fmt: str, model: str | None = None) -> Path:
    """Write ``path`` all or nothing: a full disk or a refused folder leaves an existing file as it was.

    Raises ``ExportError`` with a message for the user.
    """
    text = render(segments, fmt, model)
    partial: Path | None = None
    try:
        fd, partial = new_temporary_beside(path)  # random name, created exclusively, 0600: no planted link
        with open(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError as exc:
        if partial is not None:
            with contextlib.suppress(OSError):
                partial.unlink()
        raise ExportError(f"Could not save {path}: {exc.strerror or exc}. Free some space or choose another "
                           "folder; the transcript is still here.") from exc
    return path


def ask_and_export(parent: QWidget, segments: Sequence[Segment], fmt: str, suggested: Path,
                   model: str | None = None) -> Path | None:
    """Ask where to save, then write; returns the path, or ``None`` when cancelled (``ExportError`` on errors)."""
    name, _ = QFileDialog.getSaveFileName(parent, "Export transcript", str(suggested.with_suffix(f".{fmt}")),
                                          FILTERS[fmt])
    if not name:
        return None
    path = Path(name)
    if not path.suffix:
        path = path.with_suffix(f".{fmt}")
    return export_to(path, segments, fmt, model)
