"""Errors Captioner raises for problems a user can fix, and the base every such error derives from.

Each carries a one-paragraph message that says what is wrong, where, and what to do, so the CLI
and the app can show it as is. Errors of one part live beside it and derive from
:class:`CaptionerError`: model folders in :mod:`captioner.asr.errors`, exports in
:mod:`captioner.export.errors`, downloads and the catalogue in :mod:`captioner.model_manager`.
"""

from __future__ import annotations

from pathlib import Path


class CaptionerError(Exception):
    """A problem with the user's input (model, audio, device) rather than a bug."""


class AudioInputError(CaptionerError):
    """An audio file or stream Captioner cannot read or convert."""


class AudioReadError(AudioInputError):
    """Reading an audio file stopped part-way (a truncated download, a bad sector).

    Everything read before the break has been delivered; ``seconds_read`` says where it broke.
    """

    def __init__(self, path: Path, seconds_read: float, duration_s: float, cause: BaseException) -> None:
        self.path = path
        self.seconds_read = seconds_read
        self.duration_s = duration_s
        self.cause = cause
        super().__init__(self.describe(str(path)))

    def describe(self, name: str) -> str:
        """The message, naming the file ``name`` (the whole path, or only the file's name)."""
        return (f"Reading {name} failed at {self.seconds_read:.1f} s of {self.duration_s:.1f} s ({self.cause}); "
                "the file may be truncated.")
