"""Files that hold what was said are the user's alone: 0600 files in 0700 folders, created exclusively.

Transcripts, exports and settings name people and what they said in meetings; the usual 0644/0755 would let
every other account on the machine read them. Creating files exclusively (``O_EXCL``, no following of a
planted symlink) also means two processes never share a file by accident and an attacker's link is never
written through.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700 if it is ours."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    with contextlib.suppress(OSError):  # a folder the user points us at may be theirs to keep as it is
        if os.name == "posix" and path.stat().st_uid == os.getuid():
            path.chmod(FOLDER_MODE)
    return path


def create_exclusive(path: Path) -> int:
    """A new 0600 file at ``path`` opened for appending; ``FileExistsError`` if anything (a link too) is there."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags, FILE_MODE)


def new_temporary_beside(path: Path) -> tuple[int, Path]:
    """A fresh 0600 file with a random name in ``path``'s folder, for writing then renaming over ``path``."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    return fd, Path(name)


def make_private(path: Path) -> None:
    """0600 for an existing file of ours (one a library wrote with the default mode)."""
    with contextlib.suppress(OSError):
        if os.name == "posix" and path.stat().st_uid == os.getuid():
            path.chmod(FILE_MODE)
