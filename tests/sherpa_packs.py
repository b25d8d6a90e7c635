"""Fixture folders in the ready-made layouts: sherpa-onnx packs and layer-first exports.

``tests/fixtures/sherpa/`` holds the packs (``make_packs.py`` there made them). One is stored without its
``encoder.onnx`` to keep the fixtures small: ``tiny-a-80ms`` is the committed Captioner graph
``models/tiny-a/encoder-la80.onnx`` (NeMo's own export of that lookahead) plus the metadata in
``encoder-metadata.json``; ``pack()`` assembles it. Layer-first folders are made here by graph surgery on a
Captioner encoder: each cache input becomes ``[L, B, ...]`` followed by a Transpose to the batch-first tensor the
graph expects, and each cache output is transposed back.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
SHERPA = FIXTURES / "sherpa"
PACKS = ("tiny-c-240ms", "tiny-c-240ms-int8", "tiny-a-80ms", "tiny-a-80ms-int8")
ASSEMBLED = {"tiny-a-80ms": FIXTURES / "models" / "tiny-a" / "encoder-la80.onnx"}


def add_metadata(src: Path, dst: Path, metadata: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(src))
    del model.metadata_props[:]
    for key, value in metadata.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, str(value)
    onnx.save(model, str(dst))


def pack(name: str, work: Path) -> Path:
    """The folder of pack ``name``: the committed one, or an assembled copy under ``work``."""
    src = SHERPA / name
    if name not in ASSEMBLED:
        return src
    dst = work / name
    if not (dst / "encoder.onnx").is_file():
        shutil.copytree(src, dst, dirs_exist_ok=True)
        metadata = json.loads((src / "encoder-metadata.json").read_text(encoding="utf-8"))
        (dst / "encoder-metadata.json").unlink()
        add_metadata(ASSEMBLED[name], dst / "encoder.onnx", metadata)
    return dst


def _transpose_caches(src: Path, dst: Path, metadata: dict[str, str] | None) -> None:
    import onnx
    from onnx import helper

    model = onnx.load(str(src))
    graph = model.graph
    perm = [1, 0, 2, 3]
    for name in ("cache_last_channel", "cache_last_time"):
        value = next(v for v in graph.input if v.name == name)
        dims = value.type.tensor_type.shape.dim
        layers, rest = dims[1].dim_value, [d.dim_value or d.dim_param for d in dims[2:]]
        inner = f"{name}_batch_first"
        for node in graph.node:
            node.input[:] = [inner if i == name else i for i in node.input]
        graph.node.insert(0, helper.make_node("Transpose", [name], [inner], perm=perm, name=f"{name}_to_batch_first"))
        graph.input.remove(value)
        graph.input.append(helper.make_tensor_value_info(name, value.type.tensor_type.elem_type,
                                                         [layers, "batch", *rest]))
    for name in ("cache_last_channel_next", "cache_last_time_next"):
        value = next(v for v in graph.output if v.name == name)
        dims = value.type.tensor_type.shape.dim
        layers, rest = dims[1].dim_value, [d.dim_value or d.dim_param for d in dims[2:]]
        inner = f"{name}_batch_first"
        for node in graph.node:
            node.output[:] = [inner if o == name else o for o in node.output]
        graph.node.append(helper.make_node("Transpose", [inner], [name], perm=perm, name=f"{name}_to_layer_first"))
        position = list(graph.output).index(value)
        graph.output.remove(value)
        graph.output.insert(position, helper.make_tensor_value_info(name, value.type.tensor_type.elem_type,
                                                                    [layers, "batch", *rest]))
    del model.metadata_props[:]
    for key, val in (metadata or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, str(val)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def layer_first_folder(work: Path, *, with_config: bool, with_metadata: bool, name: str = "tiny-c-layer-first"
                       ) -> Path:
    """tiny-c at 240 ms as a layer-first ``encoder.onnx`` + ``decoder_joint.onnx`` + ``tokenizer.model`` folder.

    The streaming parameters come from ``model_config.yaml`` (``with_config``) and/or sherpa-style encoder
    metadata (``with_metadata``, the tiny-c pack's).
    """
    captioner = FIXTURES / "models" / "tiny-c"
    dst = work / name
    dst.mkdir(parents=True, exist_ok=True)
    metadata = None
    if with_metadata:
        import onnx

        pack_encoder = onnx.load(str(SHERPA / "tiny-c-240ms" / "encoder.onnx"), load_external_data=False)
        metadata = {p.key: p.value for p in pack_encoder.metadata_props}
    _transpose_caches(captioner / "encoder-la240.onnx", dst / "encoder.onnx", metadata)
    shutil.copy(captioner / "decoder_joint.onnx", dst / "decoder_joint.onnx")
    shutil.copy(captioner / "tokenizer.model", dst / "tokenizer.model")
    if with_config:
        with tarfile.open(FIXTURES / "nemo" / "tiny-c.nemo") as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("model_config.yaml"))
            extracted = tar.extractfile(member)
            assert extracted is not None
            (dst / "model_config.yaml").write_bytes(extracted.read())
    return dst
