"""A small helper for writing ONNX graphs by hand: named parameters, constants and auto-named nodes.

Parameters go to the shared :class:`~captioner.nemo_import.weights_file.WeightsFile` (rounded to float16
behind a ``Cast`` in a half-precision import); computed constants stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from captioner.nemo_import.weights_file import HALF_SUFFIX, WeightsFile

OPSET = 17


def _half_if_float(value: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return value.astype(np.float16) if value.dtype == np.float32 else value


class GraphBuilder:
    """Collects nodes and initializers of one graph; tensor names are returned as plain strings."""

    def __init__(self, weights: WeightsFile) -> None:
        self._weights = weights
        self.half = weights.half
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._known: dict[str, str] = {}
        self._count = 0

    def _fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def param(self, name: str, array: npt.NDArray[Any] | Callable[[], npt.NDArray[Any]]) -> str:
        """A model parameter under a name unique in the import (float16 storage in a half-precision import).

        ``array`` may be a function making it (a transpose, say), called only the first time the name is seen.
        """
        if name in self._known:
            return self._known[name]
        from onnx import TensorProto, helper

        def value() -> npt.NDArray[Any]:
            return np.asarray(array() if callable(array) else array)

        if self._weights.half:
            stored = self._weights.add_named(name + HALF_SUFFIX, lambda: _half_if_float(value()))
            if stored.data_type == TensorProto.FLOAT16:
                self.initializers.append(stored)
                self.nodes.append(helper.make_node("Cast", [stored.name], [name], to=TensorProto.FLOAT,
                                                   name="to_float32" + HALF_SUFFIX + "/" + name))
                self._known[name] = name
                return name
            stored.name = name
            self.initializers.append(stored)
        else:
            self.initializers.append(self._weights.add_named(name, value))
        self._known[name] = name
        return name

    def const(self, array: npt.ArrayLike, hint: str = "const") -> str:
        """A computed constant, stored exactly (never rounded)."""
        name = self._fresh(hint)
        self.initializers.append(self._weights.add(name, np.asarray(array)))
        return name

    def i64(self, values: Sequence[int] | int, hint: str = "i64") -> str:
        return self.const(np.asarray(values, dtype=np.int64), hint)

    def f32(self, value: float, hint: str = "f32") -> str:
        return self.const(np.asarray(value, dtype=np.float32), hint)

    def op(self, op_type: str, inputs: Sequence[str], hint: str | None = None, **attrs: Any) -> str:
        return self.op_n(op_type, inputs, 1, hint, **attrs)[0]

    def op_n(self, op_type: str, inputs: Sequence[str], outputs: int, hint: str | None = None,
             **attrs: Any) -> list[str]:
        from onnx import helper

        names = [self._fresh(hint or op_type) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=names[0], **attrs))
        return names

    def rename(self, tensor: str, name: str) -> None:
        """Give ``tensor`` a graph-output name (an Identity node, which ONNX Runtime removes)."""
        from onnx import helper

        self.nodes.append(helper.make_node("Identity", [tensor], [name], name="output/" + name))

    # ------------------------------------------------------------------------------ common layers
    def linear(self, x: str, weight: str, bias: str | None) -> str:
        """``x @ weight.T + bias`` for a torch ``Linear`` (weight ``[out, in]``, stored transposed)."""
        y = self.op("MatMul", [x, weight])
        return self.op("Add", [y, bias]) if bias is not None else y

    def swish(self, x: str) -> str:
        return self.op("Mul", [x, self.op("Sigmoid", [x])])

    def layer_norm(self, x: str, weight: str, bias: str, eps: float = 1e-5) -> str:
        return self.op("LayerNormalization", [x, weight, bias], axis=-1, epsilon=eps)

    def shape_dim(self, x: str, axis: int) -> str:
        """``x.shape[axis]`` as a 1-element int64 tensor."""
        return self.op("Shape", [x], start=axis, end=axis + 1)

    def model(self, inputs: Sequence[Any], outputs: Sequence[Any], name: str) -> Any:
        from onnx import helper

        graph = helper.make_graph(self.nodes, name, list(inputs), list(outputs), self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="captioner import")
        model.ir_version = 8
        return model
