"""Saving the transcript in the formats the CLI writes (the shared ``captioner.formats``)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from captioner.asr.segmenter import Segment
from captioner.formats import TranscriptFormat, render
from captioner.private_files import new_temporary_beside

FILTERS = {TranscriptFormat.TEXT: "Text (*.txt)", TranscriptFormat.TIMED_TEXT: "Text with times (*.txt)",
           TranscriptFormat.SRT: "SubRip subtitles (*.srt)", TranscriptFormat.VTT: "WebVTT subtitles (*.vtt)",
           TranscriptFormat.JSON: "JSON (*.json)"}


class TranscriptExportError(Exception):
    """The transcript could not be saved; the message says why and what to do."""



def export_to(path: Path, segments: Sequence[Segment], fmt: TranscriptFormat, model: str | None = None) -> Path:
    """Write ``path`` all or nothing: a full disk or a refused folder leaves an existing file as it was.

    Raises ``TranscriptExportError`` with a message for the user.
    """
    text = render(segments, fmt, model=model)
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
        raise TranscriptExportError(f"Could not save {path}: {exc.strerror or exc}. Free some space or choose "
                                    "another folder; the transcript is still here.") from exc
    return path


def ask_and_export(parent: QWidget, segments: Sequence[Segment], fmt: TranscriptFormat, suggested: Path,
                   model: str | None = None) -> Path | None:
    """Ask where to save, then write; returns the path, or ``None`` when cancelled.

    Raises ``TranscriptExportError`` when the file cannot be written.
    """
    name, _ = QFileDialog.getSaveFileName(parent, "Export transcript", str(suggested.with_suffix(fmt.suffix)),
                                          FILTERS[fmt])
    if not name:
        return None
    path = Path(name)
    if not path.suffix:
        path = path.with_suffix(fmt.suffix)
    return export_to(path, segments, fmt, model)
