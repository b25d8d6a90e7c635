"""Weight-only block quantisation of an encoder graph: ONNX Runtime's ``MatMulNBits`` with 8- or 4-bit weights.

A streaming step at batch 1 is bound by reading the weights, so storing each ``MatMul`` weight in 8 or 4 bits
(with one float32 scale per block of ``block_size`` input rows) cuts what a step reads by 4 or 8. Quantisation
is symmetric per block, ``q = round(w / scale)``, ``scale = max |w| / (2^(bits-1) - 1)``, stored unsigned with
ONNX Runtime's default zero point ``2^(bits-1)``; 4-bit values are packed two per byte, low nibble first.
``accuracy_level`` 4 lets ONNX Runtime also quantise the activations to int8 inside the kernel (faster, a
little less exact); 0 keeps them in float32.

Only ``MatMul`` nodes whose second input is a 2-D float32 initializer are replaced (the projections and
feed-forward layers); attention's own matrix products and the convolutions stay as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

MICROSOFT = "com.microsoft"


def quantize_blocks(weight: npt.NDArray[np.float32], bits: int, block_size: int
                    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``(packed [N, blocks, block_size*bits/8], scales [N*blocks], dequantised [K, N])`` for ``weight [K, N]``."""
    k, n = weight.shape
    blocks = -(-k // block_size)
    padded = np.zeros((blocks * block_size, n), np.float32)
    padded[:k] = weight
    grouped = padded.T.reshape(n, blocks, block_size)
    top = (1 << (bits - 1)) - 1
    scale = (np.abs(grouped).max(axis=-1) / top).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.round(grouped / safe[..., None]), -top - 1, top).astype(np.int16) + (top + 1)
    codes = q.astype(np.uint8)
    packed = (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8) if bits == 4 else codes
    dequantised = ((q - (top + 1)).astype(np.float32) * scale[..., None]).reshape(n, -1).T[:k]
    return np.ascontiguousarray(packed), scale.reshape(-1), np.ascontiguousarray(dequantised)


def quantize_model(model: Any, bits: int, block_size: int = 32, accuracy_level: int = 4, min_rows: int = 64) -> int:
    """Replace eligible ``MatMul`` nodes of ``model`` (an ``onnx.ModelProto``, changed in place); returns how many."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    users: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    replaced, nodes, dropped = 0, [], set()
    for node in graph.node:
        init = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if init is None or init.data_type != TensorProto.FLOAT or len(init.dims) != 2 or init.dims[0] < min_rows:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(init).astype(np.float32)
        k, n = weight.shape
        packed, scales, _ = quantize_blocks(weight, bits, block_size)
        base = f"{init.name}.q{bits}b{block_size}"
        graph.initializer.extend([numpy_helper.from_array(packed, base), numpy_helper.from_array(scales, base + ".s")])
        nodes.append(helper.make_node("MatMulNBits", [node.input[0], base, base + ".s"], list(node.output),
                                      name=node.name or base, domain=MICROSOFT, K=k, N=n, bits=bits,
                                      block_size=block_size, accuracy_level=accuracy_level))
        users[init.name] -= 1
        if users[init.name] == 0:
            dropped.add(init.name)
        replaced += 1
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [i for i in graph.initializer if i.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if replaced and not any(o.domain == MICROSOFT for o in model.opset_import):
        model.opset_import.extend([helper.make_opsetid(MICROSOFT, 1)])
    return replaced
