"""Incremental session autosave: every committed line is appended and flushed at once.

Two append-only files per session under the user data directory: ``.txt`` for people
(``[hh:mm:ss] text`` lines) and ``.jsonl`` for tools (one segment per line, plus the open
tentative line at most once a second), so a crash loses at most about a second of captions.

Each line is flushed to the OS at once (an app crash loses nothing written), but ``fsync`` (which
can take tens of milliseconds on a busy disk, and this runs on the GUI thread) happens at most once
per ``SYNC_EVERY_S`` and on ``close``; only a power cut can lose that last second.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TextIO

from PySide6.QtCore import QTimer

from captioner.asr.segmenter import Segment

TENTATIVE_EVERY_S = 1.0
SYNC_EVERY_S = 1.0


def clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class SessionLog:
    """One session's autosave files; ``close`` is safe to call twice."""

    def __init__(self, folder: Path, started: datetime | None = None) -> None:
        started = started or datetime.now()
        folder.mkdir(parents=True, exist_ok=True)
        stem = started.strftime("%Y-%m-%d_%H-%M-%S")
        self.txt_path = folder / f"{stem}.txt"
        self.jsonl_path = folder / f"{stem}.jsonl"
        self._txt: TextIO | None = self.txt_path.open("a", encoding="utf-8")
        self._jsonl: TextIO | None = self.jsonl_path.open("a", encoding="utf-8")
        self._next_tentative = 0.0
        self._sync_timer = QTimer()
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(int(SYNC_EVERY_S * 1000))
        self._sync_timer.timeout.connect(self.sync)
        self._write_json({"session": started.isoformat(timespec="seconds")})

    def add(self, segment: Segment) -> None:
        if self._txt is None:
            return
        self._txt.write(f"[{clock(segment.start_s)}] {segment.text}\n")
        self._txt.flush()
        self._write_json({"start": round(segment.start_s, 3), "end": round(segment.end_s, 3),
                          "text": segment.text, "gap": segment.gap})

    def tentative(self, text: str) -> None:
        now = time.monotonic()
        if text and now >= self._next_tentative:
            self._next_tentative = now + TENTATIVE_EVERY_S
            self._write_json({"tentative": text})

    def _write_json(self, record: dict[str, object]) -> None:
        if self._jsonl is None:
            return
        self._jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._jsonl.flush()
        self._sync_soon()

    def _sync_soon(self) -> None:
        if not self._sync_timer.isActive():
            self._sync_timer.start()

    def sync(self) -> None:
        """Force what was written to disk (both files)."""
        self._sync_timer.stop()
        for f in (self._txt, self._jsonl):
            if f is not None:
                os.fsync(f.fileno())

    def close(self) -> None:
        try:
            self.sync()
        finally:
            for f in (self._txt, self._jsonl):
                if f is not None:
                    f.close()
            self._txt = self._jsonl = None
