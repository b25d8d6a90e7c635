"""Errors raised by ``captioner export``."""

from __future__ import annotations

from captioner.errors import CaptionerError

EXPORT_EXTRA_FIX = "Install the export extra into this environment: pip install 'captioner[export]'"


class ModelExportError(CaptionerError):
    """Exporting a ``.nemo`` model failed for a reason the user can act on."""


class ExportDependencyError(ModelExportError):
    """NeMo, PyTorch or ONNX is not installed (they are only needed to export, never to caption)."""

    def __init__(self, missing: str, cause: BaseException | None = None) -> None:
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        super().__init__(
            f"Exporting a .nemo model needs {missing}, which could not be imported{detail}. "
            f"{EXPORT_EXTRA_FIX} (captioning an already exported folder does not need it)."
        )


class ExportVerificationError(ModelExportError):
    """The exported ONNX folder does not reproduce NeMo's own streaming output."""
