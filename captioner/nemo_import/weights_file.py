"""One ``weights.bin`` that every imported graph points into, written as the graphs are built.

The importer never holds a second copy of the model in memory: each tensor goes straight from the
checkpoint to the file (64-byte aligned, as ONNX Runtime's memory map prefers), once per distinct
content, and the graphs only carry ``external_data`` references to it — the same layout
``captioner export`` produces with :func:`captioner.export.compact.share_weights`.

With ``half=True`` every tensor marked as a parameter is rounded to float16 and stored in 2 bytes; the
graph reads it through a ``Cast`` back to float32 that ONNX Runtime folds when it opens the session,
exactly like ``captioner export --weights float16``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

WEIGHTS_FILE = "weights.bin"
HALF_SUFFIX = ".f16"
MIN_EXTERNAL_BYTES = 256
"""Smaller tensors stay inside the graph: an external reference would cost more than the bytes."""


class WeightsFile:
    """Appends distinct tensors to ``folder/weights.bin`` and hands out ONNX initializers that point into it."""

    def __init__(self, folder: Path, name: str = WEIGHTS_FILE, *, half: bool = False) -> None:
        self.path = folder / name
        self.name = name
        self.half = half
        self._handle: IO[bytes] | None = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._offsets: dict[tuple[bytes, int], tuple[int, int]] = {}
        self._named: dict[str, Any] = {}
        self.bytes_written = 0
        self.bytes_referenced = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> WeightsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_named(self, name: str, make: Callable[[], npt.NDArray[Any]]) -> Any:
        """Like :meth:`add` for a tensor known by a unique name: made, hashed and written once per import.

        Every encoder graph (two per lookahead) holds the same parameters; without this each would be
        transposed, rounded and hashed again, eight times over for a four-lookahead model.
        """
        if name not in self._named:
            self._named[name] = self.add(name, make())
        from onnx import TensorProto

        tensor = TensorProto()
        tensor.CopyFrom(self._named[name])
        return tensor

    def add(self, name: str, array: npt.NDArray[Any]) -> Any:
        """An ``onnx.TensorProto`` named ``name`` holding ``array``: external when large, inline when small."""
        from onnx import TensorProto, numpy_helper

        data = np.asarray(array, order="C")  # not ascontiguousarray, which turns a scalar into shape [1]
        if data.nbytes < MIN_EXTERNAL_BYTES:
            return numpy_helper.from_array(data, name=name)
        raw = data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()
        key = (hashlib.sha256(raw).digest(), data.dtype.num)
        if key not in self._offsets:
            handle = self._handle
            if handle is None:
                raise ValueError(f"{self.path} is already closed")
            handle.write(b"\0" * (-handle.tell() % 64))
            self._offsets[key] = (handle.tell(), len(raw))
            handle.write(raw)
            self.bytes_written += len(raw)
        self.bytes_referenced += len(raw)
        offset, length = self._offsets[key]
        tensor = TensorProto()
        tensor.name = name
        tensor.data_type = _onnx_dtype(data.dtype)
        tensor.dims.extend(data.shape)
        tensor.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.name), ("offset", str(offset)), ("length", str(length))):
            entry = tensor.external_data.add()
            entry.key, entry.value = k, v
        return tensor


def _onnx_dtype(dtype: np.dtype[Any]) -> int:
    from onnx import helper

    return int(helper.np_dtype_to_tensor_dtype(dtype))
