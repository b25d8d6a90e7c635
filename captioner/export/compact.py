"""Make an exported model folder small without changing a single output value.

Three passes, all exact:

* :func:`trim_position_tables`: NeMo's relative positional encoding is a ``[1, 2*max_len-1, d_model]``
  sine table (``pos_emb_max_len`` = 5000 positions: 6.4 MB at d_model 160, 20 MB at 512) that the torch
  exporter bakes into every encoder graph. A streaming step only ever reads the rows of its own
  window (cache + chunk frames), so the table is cut to the rows around its centre that a step can
  reach, and the two centre constants of its ``Slice`` are moved to match: the same rows are read.
* :func:`shorten_value_names`: the exporter names every intermediate tensor after its node
  (``/layers.3/self_attn/linear_pos/MatMul_output_0``), which is half of a graph file once the weights are
  out of it; intermediate tensors get short names, node names stay for error messages and profiles.
* :func:`share_weights`: a multi-lookahead export holds the same weights in every encoder graph (two per
  lookahead); each distinct tensor is stored once, in ``weights.bin``, that every graph points into.

And one that is exact only for weights already rounded to float16 (``captioner export --weights float16``):

* :func:`store_half_exact`: a float32 tensor whose every value is a float16 number is stored in half the
  bytes, as float16 behind a ``Cast`` back to float32: the graph computes with the very same values.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from captioner.asr.model_report import PROBE_ENCODER_FRAMES
from captioner.export.deps import require_onnx

WEIGHTS_FILE = "weights.bin"


def _may_matter(dims: Any) -> bool:
    """Scalars (centres, steps) and ``[1, odd, d]`` tables: the only constants the trimming reads."""
    dims = list(dims)
    return all(d == 1 for d in dims) or (len(dims) == 3 and dims[0] == 1 and dims[1] % 2 == 1)


def _constant_values(graph: Any) -> dict[str, np.ndarray]:
    """Scalar and table-shaped initializers and ``Constant`` nodes, by output name (external data excluded).

    Weight matrices are never converted: copying hundreds of megabytes per graph would be wasted.
    """
    from onnx import numpy_helper

    values: dict[str, np.ndarray] = {}
    for init in graph.initializer:
        if init.data_location != 1 and _may_matter(init.dims):  # 1 = EXTERNAL: not loaded
            values[init.name] = numpy_helper.to_array(init)
    for node in graph.node:
        if (node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value"
                and _may_matter(node.attribute[0].t.dims)):
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def _scalar(values: dict[str, np.ndarray], name: str) -> int | None:
    v = values.get(name)
    if v is None or v.size != 1 or v.dtype.kind not in "iu":
        return None
    return int(v.reshape(()))


def _centre_inputs(graph: Any, values: dict[str, np.ndarray], consumers: dict[str, list[Any]], slice_node: Any,
                   centre: int) -> list[tuple[Any, int]]:
    """Where ``slice_node`` reads the table's centre: ``[(node, input index)]``, or ``[]`` if not NeMo's pattern.

    NeMo's ``RelPositionalEncoding`` slices ``pe[:, centre - L : centre + L - 1]``; exported, that is
    ``starts = Unsqueeze(Sub(centre, L))`` and ``ends = Unsqueeze(Sub(Add(centre, L), 1))`` with
    ``axes = steps = [1]``, every intermediate used by this Slice alone (so moving the centre changes
    nothing else). Anything else is left alone.
    """
    producer = {out: node for node in graph.node for out in node.output}
    if len(slice_node.input) != 5:
        return []
    if [_scalar(values, slice_node.input[i]) for i in (3, 4)] != [1, 1]:
        return []

    def only_feeds(node: Any, user: Any) -> bool:
        return len(node.output) == 1 and [id(u) for u in consumers.get(node.output[0], [])] == [id(user)]

    def sub_through_unsqueeze(name: str) -> Any:
        unsqueeze = producer.get(name)
        if unsqueeze is None or unsqueeze.op_type != "Unsqueeze" or not only_feeds(unsqueeze, slice_node):
            return None
        sub = producer.get(unsqueeze.input[0])
        return sub if sub is not None and sub.op_type == "Sub" and only_feeds(sub, unsqueeze) else None

    start_sub, end_sub = sub_through_unsqueeze(slice_node.input[1]), sub_through_unsqueeze(slice_node.input[2])
    if start_sub is None or end_sub is None:
        return []
    if _scalar(values, start_sub.input[0]) != centre or _scalar(values, end_sub.input[1]) != 1:
        return []
    end_add = producer.get(end_sub.input[0])
    if end_add is None or end_add.op_type != "Add" or not only_feeds(end_add, end_sub):
        return []
    spots = [(start_sub, 0)] + [(end_add, i) for i in (0, 1) if _scalar(values, end_add.input[i]) == centre]
    return spots if len(spots) == 2 else []


def _drop_unused_constants(graph: Any, names: set[str]) -> None:
    """Remove the ``Constant`` nodes among ``names`` that nothing reads any more (the old centres)."""
    used = {i for node in graph.node for i in node.input} | {o.name for o in graph.output}
    dead = [n for n in graph.node if n.op_type == "Constant" and n.output[0] in names and n.output[0] not in used]
    for node in dead:
        graph.node.remove(node)


def trim_position_tables(model: Any, max_window: int) -> int:
    """Cut every NeMo relative-position table in ``model`` (an ``onnx.ModelProto``) to ``max_window`` frames.

    ``max_window``: the most encoder frames one step attends over (cache + chunk); positions further
    than that from the centre are never read. The table keeps ``2 * max_window - 1`` rows. Returns
    how many tables were cut (0 when the graph has no table of NeMo's shape, or it is small already).
    """
    from onnx import numpy_helper

    graph = model.graph
    values = _constant_values(graph)
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    inits = {init.name: init for init in graph.initializer}
    const_nodes = {node.output[0]: node for node in graph.node if node.op_type == "Constant"}
    cut = 0
    for name, table in list(values.items()):
        if table.ndim != 3 or table.shape[0] != 1 or table.shape[1] % 2 == 0:
            continue
        centre = (table.shape[1] + 1) // 2  # NeMo: pe.size(1) // 2 + 1
        if max_window >= centre:
            continue
        users = consumers.get(name, [])
        if not users or any(u.op_type != "Slice" or u.input[0] != name for u in users):
            continue
        spots = [_centre_inputs(graph, values, consumers, u, centre) for u in users]
        if not all(spots):
            continue
        trimmed = np.ascontiguousarray(table[:, centre - max_window: centre + max_window - 1])
        new_centre = f"{name}__centre{max_window}"
        start_sub = spots[0][0][0]
        centre_dtype = values[start_sub.input[0]].dtype
        graph.initializer.append(numpy_helper.from_array(np.array(max_window, dtype=centre_dtype), name=new_centre))
        old_centres = set()
        for node, index in (spot for found in spots for spot in found):
            old_centres.add(node.input[index])
            node.input[index] = new_centre
        _drop_unused_constants(graph, old_centres)
        if name in inits:
            inits[name].CopyFrom(numpy_helper.from_array(trimmed, name=name))
        else:
            const_nodes[name].attribute[0].t.CopyFrom(numpy_helper.from_array(trimmed))
        cut += 1
    return cut


def max_step_window(last_channel_cache_size: int, chunk_frames: int, pre_encode_cache_size: int,
                    subsampling_factor: int) -> int:
    """The most encoder frames a graph is ever run over, doubled for room to spare and rounded up to 64.

    That is the attention cache plus the longer of a streaming step and ``captioner inspect``'s test
    window. A longer window than the cut table would read the wrong rows, so the margin is generous.
    """
    step = -(-(chunk_frames + pre_encode_cache_size) // subsampling_factor)
    frames = last_channel_cache_size + max(step, PROBE_ENCODER_FRAMES + 1)
    return 64 * -(-2 * frames // 64)


def _is_generated(name: str) -> bool:
    """Names the exporter made up (``/x/y_output_0``, ``onnx::MatMul_123``), as opposed to parameter names."""
    return name.startswith(("/", "onnx::"))


def shorten_value_names(model: Any) -> int:
    """Give every intermediate tensor of ``model`` a short name; graph inputs, outputs and parameters keep theirs.

    Returns how many were renamed (0 for graphs with subgraphs, which are left alone).
    """
    from onnx import AttributeProto

    graph = model.graph
    if any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for n in graph.node for a in n.attribute):
        return 0
    fixed = {v.name for v in graph.input} | {v.name for v in graph.output}
    fixed |= {i.name for i in graph.initializer if not _is_generated(i.name)}
    rename: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in fixed:
            return name
        if name not in rename:
            new = f"_{len(rename):x}"
            while new in fixed:
                new = "_" + new
            rename[name] = new
        return rename[name]

    for init in graph.initializer:
        init.name = short(init.name)
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = short(name)
        for i, name in enumerate(node.output):
            node.output[i] = short(name)
    for info in graph.value_info:
        info.name = short(info.name)
    return len(rename)


def _constants_to_initializers(model: Any, min_bytes: int) -> int:
    """Turn top-level ``Constant`` nodes holding ``min_bytes`` or more into initializers of the same name.

    As nodes they stay inline in each graph and could not be shared. Returns how many were moved.
    """
    from onnx import numpy_helper

    graph = model.graph
    keep, moved = [], 0
    for node in graph.node:
        value = None
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            value = numpy_helper.to_array(node.attribute[0].t)
        if value is None or value.nbytes < min_bytes:
            keep.append(node)
            continue
        graph.initializer.append(numpy_helper.from_array(value, name=node.output[0]))
        moved += 1
    if moved:
        del graph.node[:]
        graph.node.extend(keep)
    return moved


HALF_SUFFIX = ".f16"


def store_half_exact(model: Any, min_bytes: int = 256) -> tuple[int, int]:
    """Store each float32 tensor of ``min_bytes`` or more whose values are all float16 numbers as float16.

    Why: float32 weights are most of a model folder, and those rounded to float16 before export lose
    nothing by being stored in 2 bytes. The graph reads them through a ``Cast`` to float32 that ONNX
    Runtime folds when it opens the session, so every step computes exactly as before. A tensor with a
    single value float16 cannot hold bit for bit (a constant the exporter folded, say) stays float32.
    ``model`` is an ``onnx.ModelProto``, changed in place. Returns (tensors halved, bytes saved).
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    _constants_to_initializers(model, min_bytes)
    inputs = {i.name for i in graph.input}
    taken = {i.name for i in graph.initializer} | {o for n in graph.node for o in n.output}
    casts, halved, saved = [], 0, 0
    for index, init in enumerate(graph.initializer):
        if init.data_type != TensorProto.FLOAT or init.name in inputs:
            continue
        value = numpy_helper.to_array(init)
        if value.nbytes < min_bytes:
            continue
        half = value.astype(np.float16)
        if not np.array_equal(half.astype(np.float32).view(np.uint32), value.view(np.uint32)):
            continue
        name = init.name
        stored = name + HALF_SUFFIX
        if stored in taken:
            continue
        graph.initializer[index].CopyFrom(numpy_helper.from_array(half, name=stored))
        casts.append(helper.make_node("Cast", [stored], [name], to=TensorProto.FLOAT, name="to_float32" + stored))
        halved += 1
        saved += value.nbytes - half.nbytes
    if casts:
        nodes = list(graph.node)
        del graph.node[:]
        graph.node.extend(casts + nodes)
    return halved, saved


def restore_float32(model: Any) -> int:
    """Undo :func:`store_half_exact` (and a half-precision import): each float16 initializer read only through a
    ``Cast`` to float32 becomes the float32 initializer the ``Cast`` made. Exact: float16 widens to float32
    losslessly, so the graph computes the same values; tools that look for float32 weights (quantisation) find
    them. ``model`` (with its external data loaded) is changed in place; returns the tensors restored."""
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    initializers = {init.name: index for index, init in enumerate(graph.initializer)}
    readers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    keep, restored = [], 0
    for node in graph.node:
        source = node.input[0] if node.op_type == "Cast" and len(node.input) == 1 else ""
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        index = initializers.get(source)
        if (index is None or to != TensorProto.FLOAT or readers.get(source) != 1
                or graph.initializer[index].data_type != TensorProto.FLOAT16):
            keep.append(node)
            continue
        value = numpy_helper.to_array(graph.initializer[index]).astype(np.float32)
        graph.initializer[index].CopyFrom(numpy_helper.from_array(value, name=node.output[0]))
        restored += 1
    if restored:
        del graph.node[:]
        graph.node.extend(keep)
    return restored


def _graphs_using_pool(out_dir: Path) -> set[str]:
    """The ``.onnx`` files in ``out_dir`` that keep tensors in its ``weights.bin``."""
    onnx, _ = require_onnx()
    users = set()
    for path in out_dir.glob("*.onnx"):
        model = onnx.load(str(path), load_external_data=False)
        if any(entry.key == "location" and entry.value == WEIGHTS_FILE
               for init in model.graph.initializer for entry in init.external_data):
            users.add(path.name)
    return users


def share_weights(out_dir: Path, graph_files: list[str], min_bytes: int = 256) -> int:
    """Move every tensor of ``min_bytes`` or more into one ``weights.bin`` that all graphs point into.

    ONNX Runtime resolves external data relative to each graph, so loading is unchanged. Works on a
    folder that already shares its weights, as long as ``graph_files`` names every graph that reads the
    old pool (a graph left out would point at the wrong bytes afterwards: refused with ``ValueError``).
    The new pool and graphs are written beside the old ones and renamed over them at the end. Returns
    the number of bytes saved.
    """
    onnx, _ = require_onnx()
    stranded = _graphs_using_pool(out_dir) - set(graph_files) if (out_dir / WEIGHTS_FILE).exists() else set()
    if stranded:
        raise ValueError(f"{', '.join(sorted(stranded))} in {out_dir} also read {WEIGHTS_FILE}: share them too, "
                         "or remove them first.")
    offsets: dict[bytes, tuple[int, int]] = {}
    total = 0
    partial = ".partial"
    try:
        with open(out_dir / (WEIGHTS_FILE + partial), "wb") as blob:
            for name in graph_files:
                model = onnx.load(str(out_dir / name))  # with the external data of any earlier pool
                _constants_to_initializers(model, min_bytes)
                for init in model.graph.initializer:
                    data = init.raw_data
                    if not data or len(data) < min_bytes:
                        continue
                    total += len(data)
                    key = hashlib.sha256(data).digest()
                    if key not in offsets:
                        blob.write(b"\0" * (-blob.tell() % 64))  # aligned, as ONNX Runtime's mmap prefers
                        offsets[key] = (blob.tell(), len(data))
                        blob.write(data)
                    offset, length = offsets[key]
                    init.ClearField("raw_data")
                    init.data_location = onnx.TensorProto.EXTERNAL
                    del init.external_data[:]
                    for k, v in (("location", WEIGHTS_FILE), ("offset", str(offset)), ("length", str(length))):
                        entry = init.external_data.add()
                        entry.key, entry.value = k, v
                onnx.save(model, str(out_dir / (name + partial)))
            stored = blob.tell()
    except BaseException:
        for leftover in out_dir.glob("*" + partial):
            leftover.unlink()
        raise
    # Everything is written: swap the pool and the graphs in (a crash in these renames is the only window).
    for name in [WEIGHTS_FILE, *graph_files]:
        os.replace(out_dir / (name + partial), out_dir / name)
    return total - stored
