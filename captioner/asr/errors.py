"""Errors the engine raises for problems a user can fix.

Each carries a one-paragraph message that says what is wrong, where, and what to do, so the CLI
and the settings dialog can show it as is.
"""

from __future__ import annotations


class CaptionerError(Exception):
    """A problem with the user's input (model, audio, device) rather than a bug."""


class ModelFolderError(CaptionerError):
    """The model folder cannot be used; ``str(err)`` is the full explanation including the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} {fix}")


class NemoArchiveError(ModelFolderError):
    """A ``.nemo`` archive, or the checkpoint inside it, that cannot be read safely.

    Raised instead of tar, zip or pickle errors, so a damaged or hostile file always ends in one
    message that says what is wrong and what to do.
    """


CACHELESS_EXPORT_FIX = (
    "This graph was exported without cache support, so it would process every chunk with no context "
    "and caption garbage (such as a repeated \"sh\"). Re-export it with caching turned on: "
    "`captioner export MODEL.nemo OUT_DIR`, or in NeMo call "
    "`model.set_export_config({'cache_support': 'True'})` before `model.export(...)`."
)


class AudioInputError(CaptionerError):
    """An audio file or stream Captioner cannot read or convert."""
