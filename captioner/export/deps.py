"""Import the packages only exporting needs, or raise ``ExportDependencyError`` naming the extra to install."""

from __future__ import annotations

from typing import Any

from captioner.export.errors import ExportDependencyError


def require_onnx() -> tuple[Any, Any]:
    """``(onnx, onnxruntime)``: graph surgery needs the onnx package, which the app itself never imports."""
    try:
        import onnx
    except Exception as exc:
        raise ExportDependencyError("the onnx package", exc) from exc
    try:
        import onnxruntime
    except Exception as exc:
        raise ExportDependencyError("onnxruntime", exc) from exc
    return onnx, onnxruntime
