"""Errors about models: a model folder or ``.nemo`` archive Captioner cannot use.

Each carries a one-paragraph message that says what is wrong, where, and what to do, so the CLI
and the settings dialog can show it as is. The base error and the audio errors are in
:mod:`captioner.errors`.
"""

from __future__ import annotations

from captioner.errors import CaptionerError


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
