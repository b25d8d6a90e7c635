"""``store_half_exact`` (``captioner export --weights float16``): half the weight bytes, the same outputs."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, numpy_helper

from captioner.asr.manifest import write_manifest
from captioner.asr.model_folder import load_model_folder
from captioner.asr.model_report import inspect_model_folder
from captioner.export.compact import WEIGHTS_FILE, share_weights, store_half_exact
from captioner.export.nemo_export import HALF_WEIGHTS_SCHEME
from captioner.export.quantize import quantize_folder
from tests.conftest import FIXTURES, assert_same_tokens, clip, encoder_feeds

SOURCE = FIXTURES / "models" / "tiny-a"


def _graphs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.onnx"))


def _rounded_copy(tmp_path: Path) -> Path:
    """tiny-a with every float32 weight rounded to float16 values (still float32): what the export traces."""
    target = tmp_path / "rounded"
    shutil.copytree(SOURCE, target)
    for name in _graphs(target):
        model = onnx.load(str(target / name))
        for init in model.graph.initializer:
            if init.data_type == TensorProto.FLOAT:
                value = numpy_helper.to_array(init)
                init.CopyFrom(numpy_helper.from_array(value.astype(np.float16).astype(np.float32), name=init.name))
        onnx.save(model, str(target / name))
    return target


def _halved_copy(source: Path, target: Path) -> tuple[int, int]:
    shutil.copytree(source, target)
    halved = saved = 0
    for name in _graphs(target):
        model = onnx.load(str(target / name))
        h, s = store_half_exact(model)
        halved, saved = halved + h, saved + s
        onnx.checker.check_model(model)
        onnx.save(model, str(target / name))
    return halved, saved


def _float32_weight_bytes(folder: Path) -> int:
    return sum(init.ByteSize() for name in _graphs(folder) for init in onnx.load(str(folder / name)).graph.initializer
               if init.data_type == TensorProto.FLOAT)


def test_rounded_weights_are_stored_in_half_the_bytes_and_compute_the_same(tmp_path: Path) -> None:
    rounded = _rounded_copy(tmp_path)
    halved, saved = _halved_copy(rounded, tmp_path / "half")
    assert halved > 0
    # every weight was float16-exact and is now stored in 2 bytes; only NeMo's sine position tables
    # stay float32: they are Constant nodes (buffers, not parameters), which the export does not round
    left = [tuple(init.dims) for name in _graphs(tmp_path / "half")
            for init in onnx.load(str(tmp_path / "half" / name)).graph.initializer
            if init.data_type == TensorProto.FLOAT and init.ByteSize() >= 256]
    assert left and all(len(d) == 3 and d[0] == 1 and d[1] % 2 == 1 for d in left), left
    assert saved > 0.4 * _float32_weight_bytes(rounded)
    spec = load_model_folder(rounded).spec
    for s in spec.streaming:
        for name, frames in ((s.encoder_file, s.chunk_frames[1] + s.pre_encode_cache_size),
                             (s.first_chunk_encoder_file, s.chunk_frames[0])):
            assert name is not None
            before, after = (ort.InferenceSession(str(d / name), providers=["CPUExecutionProvider"])
                             for d in (rounded, tmp_path / "half"))
            feeds = encoder_feeds(spec, s, frames, seed=frames)
            for a, b in zip(before.run(None, feeds), after.run(None, feeds), strict=True):
                np.testing.assert_array_equal(a, b)
    assert_same_tokens(rounded, tmp_path / "half", clip("speech_8s"), (0, 480))


def test_half_weights_share_one_pool_and_the_folder_still_loads(tmp_path: Path) -> None:
    rounded = _rounded_copy(tmp_path)
    target = tmp_path / "half"
    _halved_copy(rounded, target)
    for folder in (rounded, target):
        share_weights(folder, _graphs(folder))
    assert (target / WEIGHTS_FILE).stat().st_size < 0.55 * (rounded / WEIGHTS_FILE).stat().st_size
    spec = load_model_folder(target).spec
    write_manifest(replace(spec, weights_file=WEIGHTS_FILE, quantization=HALF_WEIGHTS_SCHEME), target)
    report = inspect_model_folder(target)
    assert report.usable, report.message
    assert "Weights: float16 (rounded at export, computed in float32)" in report.to_text()
    assert_same_tokens(rounded, target, clip("speech_8s"), (80,))
    # int8 quantization widens the weights behind the Casts back to float32 first, so it quantises them
    quantized = quantize_folder(target, tmp_path / "int8")
    encoder = onnx.load(str(tmp_path / "int8" / "encoder-la80.onnx"))
    assert quantized.quantization == "int8-matmul"
    assert {"MatMulInteger", "DynamicQuantizeMatMul"} & {node.op_type for node in encoder.graph.node}


def test_weights_float16_cannot_hold_stay_float32_so_nothing_changes(tmp_path: Path) -> None:
    # tiny-a's random float32 weights are not float16 numbers: only exact tensors (such as all-zero
    # biases, if any) may be halved, and every output stays bit for bit the same
    halved, _ = _halved_copy(SOURCE, tmp_path / "half")
    total = sum(1 for name in _graphs(SOURCE) for init in onnx.load(str(SOURCE / name)).graph.initializer
                if init.data_type == TensorProto.FLOAT and init.ByteSize() >= 256)
    assert halved < total / 2
    assert _float32_weight_bytes(tmp_path / "half") > 0.9 * _float32_weight_bytes(SOURCE)
    assert_same_tokens(SOURCE, tmp_path / "half", clip("speech_8s"), (0,))


def test_a_halved_graph_is_not_halved_again() -> None:
    model = onnx.load(str(SOURCE / "ctc_head.onnx"))
    for init in model.graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(
                numpy_helper.to_array(init).astype(np.float16).astype(np.float32), name=init.name))
    first, _ = store_half_exact(model)
    assert first >= 1
    nodes = len(model.graph.node)
    assert store_half_exact(model) == (0, 0)
    assert len(model.graph.node) == nodes
    onnx.checker.check_model(model)


def test_export_rounds_parameters_and_gives_the_originals_back() -> None:
    torch = pytest.importorskip("torch")  # in the export environment (NeMo's); CI has no torch
    from captioner.export.nemo_export import _restore_parameters, _round_parameters_to_half

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(40, 30), torch.nn.LSTM(30, 20), torch.nn.BatchNorm1d(20))
    model[2].running_var.fill_(1.2345678)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    originals = _round_parameters_to_half(model)
    assert set(originals) == {name for name, _ in model.named_parameters()}
    for name, param in model.named_parameters():
        assert torch.equal(param, param.half().float()), name
        assert not torch.equal(param, before[name]) or torch.equal(before[name], before[name].half().float())
    assert model[2].running_var[0].item() == pytest.approx(1.2345678, abs=1e-7), "buffers stay float32"
    _restore_parameters(model, originals)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
