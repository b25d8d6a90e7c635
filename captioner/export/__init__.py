"""``captioner export``: turn a NeMo cache-aware streaming ``.nemo`` model into a Captioner model folder.

Accepted: ``EncDecHybridRNNTCTCBPEModel`` (RNNT + CTC), ``EncDecRNNTBPEModel`` (RNNT only) and
``EncDecRNNTBPEModelWithPrompt`` (RNNT with a language prompt; its encoder graphs take ``prompt_index``).

Needs the ``export`` extra (NeMo, PyTorch, ONNX); the rest of Captioner never imports this package.
"""

from __future__ import annotations

from captioner.export.errors import ExportDependencyError, ExportVerificationError, ModelExportError

__all__ = ["ExportDependencyError", "ExportVerificationError", "ModelExportError", "export_model"]


def export_model(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`captioner.export.nemo_export.export_model`."""
    from captioner.export.nemo_export import export_model as _export_model

    return _export_model(*args, **kwargs)
