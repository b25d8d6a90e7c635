"""Incremental session autosave: every committed line is appended and flushed at once.

Two append-only files per session under the user data directory: ``.txt`` for people
(``[hh:mm:ss] text`` lines) and ``.jsonl`` for tools (one segment per line, plus the open
tentative line at most once a second), so a crash loses at most about a second of captions.

Each line is flushed to the OS at once (an app crash loses nothing written), but ``fsync`` (which
can take tens of milliseconds on a busy disk, and this runs on the GUI thread) happens at most once
per ``SYNC_EVERY_S`` and on ``close``; only a power cut can lose that last second.

A full disk pauses autosave instead of losing lines: what the disk refuses waits in memory, is retried
every ``RETRY_EVERY_S`` and with each new line, and goes to the files in order, exactly once, when
there is room again; the window says when autosave pauses and resumes.
"""

from __future__ import annotations

import errno
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from PySide6.QtCore import QTimer

from captioner.asr.segmenter import Segment
from captioner.formats import clock, labelled, segment_record
from captioner.private_files import create_exclusive, private_folder

TENTATIVE_EVERY_S = 1.0
SYNC_EVERY_S = 1.0
RETRY_EVERY_S = 5.0


class _AppendFile:
    """An append-only file written with unbuffered ``write`` calls, keeping what the disk refused.

    Bytes the kernel did not take (``ENOSPC``, a removed USB drive, a quota) stay in ``pending`` and
    go first on the next ``drain``, so a full disk delays lines without losing or duplicating one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw: BinaryIO | None = open(create_exclusive(path), "ab", buffering=0)  # noqa: SIM115 - close()
        self.pending = bytearray()

    def append(self, text: str) -> None:
        self.pending += text.encode("utf-8")

    def drain(self) -> None:
        """Write what is pending; raises ``OSError`` with the rest still pending."""
        while self.pending and self._raw is not None:
            written = self._raw.write(self.pending)
            if not written:
                raise OSError(errno.EIO, "the file took no bytes")
            del self.pending[:written]

    def fsync(self) -> None:
        if self._raw is not None:
            os.fsync(self._raw.fileno())

    def fileno(self) -> int:
        assert self._raw is not None
        return self._raw.fileno()

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None


class SessionLog:
    """One session's autosave files; ``close`` is safe to call twice.

    ``on_problem(message)`` is told, once per episode, when the disk refuses a write (autosave pauses;
    the lines wait in memory) and when it takes them again (``resumed=True``): the window shows it.
    """

    def __init__(self, folder: Path, started: datetime | None = None,
                 on_problem: Callable[[str, bool], None] | None = None) -> None:
        started = started or datetime.now()
        private_folder(folder)
        self._files: list[_AppendFile] = self._create(folder, started.strftime("%Y-%m-%d_%H-%M-%S"))
        self.txt_path, self.jsonl_path = (f.path for f in self._files)
        self.session_id = uuid.uuid4().hex[:12]
        """In every JSONL record: lines of two sessions can never be mistaken for one."""
        self._txt, self._jsonl = self._files
        self._on_problem = on_problem
        self.failing: str | None = None
        """The error that paused autosave, while it lasts."""
        self._open = True
        self._next_tentative = 0.0
        self._sync_timer = QTimer()
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(int(SYNC_EVERY_S * 1000))
        self._sync_timer.timeout.connect(self.sync)
        self._retry_timer = QTimer()
        self._retry_timer.setInterval(int(RETRY_EVERY_S * 1000))
        self._retry_timer.timeout.connect(self._flush)
        self._write_json({"session": started.isoformat(timespec="seconds")})

    @staticmethod
    def _create(folder: Path, stem: str) -> list[_AppendFile]:
        """Both files of a new session, created exclusively: a second Captioner gets ``-2``, never these."""
        for n in range(1, 1000):
            name = stem if n == 1 else f"{stem}-{n}"
            try:
                txt = _AppendFile(folder / f"{name}.txt")
            except FileExistsError:
                continue
            try:
                return [txt, _AppendFile(folder / f"{name}.jsonl")]
            except FileExistsError:
                txt.close()
                txt.path.unlink()
        raise OSError(errno.EEXIST, f"no free session file name for {stem} in {folder}")

    @property
    def closed(self) -> bool:
        return not self._open

    @property
    def pending_bytes(self) -> int:
        """What the disk has not taken yet (0 unless autosave is paused)."""
        return sum(len(f.pending) for f in self._files)

    def add(self, segment: Segment) -> None:
        if not self._open:
            return
        self._txt.append(f"[{clock(segment.start_s)}] {labelled(segment)}\n")
        self._write_json(segment_record(segment))

    def tentative(self, text: str, source: str = "") -> None:
        now = time.monotonic()
        if text and now >= self._next_tentative and self.failing is None:
            self._next_tentative = now + TENTATIVE_EVERY_S
            self._write_json({"tentative": text, "source": source} if source else {"tentative": text})

    def _write_json(self, record: dict[str, object]) -> None:
        if not self._open:
            return
        self._jsonl.append(json.dumps({**record, "session_id": self.session_id}, ensure_ascii=False) + "\n")
        self._flush()

    def _flush(self) -> bool:
        """Hand everything pending to the OS; on failure keep it, say so once and retry on a timer."""
        try:
            for f in self._files:
                f.drain()
        except OSError as exc:
            if self.failing is None:
                self.failing = exc.strerror or str(exc)
                self._retry_timer.start()
                self._tell(f"Autosave paused: {self.failing} ({self.txt_path.parent}). Captions are kept and "
                           "written as soon as the disk takes them again; free some space or use Export.", False)
            return False
        if self.failing is not None:
            self.failing = None
            self._retry_timer.stop()
            self._tell(f"Autosave resumed: {self.txt_path.name} is complete again.", True)
        if not self._sync_timer.isActive():
            self._sync_timer.start()
        return True

    def _tell(self, message: str, resumed: bool) -> None:
        if self._on_problem is not None:
            self._on_problem(message, resumed)

    def sync(self) -> None:
        """Force what was written to disk (both files)."""
        self._sync_timer.stop()
        if self.failing is not None:
            return
        try:
            for f in self._files:
                f.fsync()
        except OSError as exc:  # like a refused write: said once, retried until the disk works again
            self.failing = exc.strerror or str(exc)
            self._retry_timer.start()
            self._tell(f"Autosave paused: the disk refused to sync ({self.failing}). Captions are kept; "
                       "use Export if it does not resume.", False)

    def close(self) -> None:
        """Write and sync what is left; if the disk still refuses, say what is lost from the file."""
        if not self._open:
            return
        self._write_json({"ended": datetime.now().isoformat(timespec="seconds")})  # a clean end, for recovery
        self._open = False
        self._retry_timer.stop()
        try:
            if self._flush():
                self.sync()
            elif self.pending_bytes:
                self._tell(f"Autosave could not finish {self.txt_path.name}: {self.failing}. Use Export to save "
                           "this session's transcript (the window still has all of it).", False)
        finally:
            self._sync_timer.stop()
            for f in self._files:
                f.close()


@dataclass(frozen=True)
class InterruptedSession:
    """A session whose log has no clean end: the app was killed, crashed or lost power during it."""

    txt_path: Path
    jsonl_path: Path
    started: str
    lines: int


def find_interrupted(folder: Path) -> InterruptedSession | None:
    """The newest session without its ``ended`` record (and not yet acknowledged), if any."""
    logs = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    for jsonl in logs[:1]:
        try:
            records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, ValueError):
            continue  # a torn last line is what a power cut leaves: the .txt still has the text
        if any("ended" in r or "recovered" in r for r in records):
            return None
        started = next((str(r["session"]) for r in records if "session" in r), jsonl.stem)
        lines = sum(1 for r in records if "text" in r)
        return InterruptedSession(jsonl.with_suffix(".txt"), jsonl, started, lines)
    return None


def acknowledge(session: InterruptedSession) -> None:
    """Mark an interrupted session as seen, so the next start does not offer it again."""
    with open(session.jsonl_path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"recovered": datetime.now().isoformat(timespec="seconds")}) + "\n")
