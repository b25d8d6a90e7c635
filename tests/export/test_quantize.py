"""``captioner quantize``: an opt-in int8 copy that loads, streams, says what it is, and keeps the original."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from captioner.asr.model_folder import load_model_folder
from captioner.asr.model_report import inspect_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from captioner.errors import CaptionerError
from captioner.export.quantize import SCHEME, quantize_folder
from tests.conftest import FIXTURES, clip, encoder_feeds

SOURCE = FIXTURES / "models" / "tiny-a"


def test_quantized_copy_streams(tmp_path: Path) -> None:
    target = tmp_path / "int8"
    spec = quantize_folder(SOURCE, target)
    assert spec.quantization == SCHEME
    report = inspect_model_folder(target)
    assert report.usable, report.message
    assert report.to_json()["quantization"] == SCHEME and "Weights: int8-matmul" in report.to_text()
    encoder = onnx.load(str(target / "encoder-la80.onnx"))
    ops = {node.op_type for node in encoder.graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops
    assert "ConvInteger" not in ops, "convolutions stay float (quantising them can make FastConformer blank)"
    size = sum(f.stat().st_size for f in target.glob("encoder-*.onnx"))
    original = sum(f.stat().st_size for f in SOURCE.glob("encoder-*.onnx"))
    assert size < 0.8 * original
    float_rec = StreamingRecognizer(load_model_folder(SOURCE), lookahead_ms=480, provider="cpu")
    int8_rec = StreamingRecognizer(load_model_folder(target), lookahead_ms=480, provider="cpu")
    audio = clip("speech_8s")
    reference = [t.id for t in transcribe_samples(float_rec, audio)]
    quantized = [t.id for t in transcribe_samples(int8_rec, audio)]
    assert reference and quantized
    assert abs(len(quantized) - len(reference)) <= max(3, len(reference) // 2)


def test_refusals(tmp_path: Path) -> None:
    with pytest.raises(CaptionerError, match="new folder"):
        quantize_folder(SOURCE, SOURCE)
    with pytest.raises(CaptionerError, match="hand-made NeMo export"):
        quantize_folder(FIXTURES / "seed" / "tiny-b", tmp_path / "x")
    quantize_folder(SOURCE, tmp_path / "q")
    with pytest.raises(CaptionerError, match="already quantized"):
        quantize_folder(tmp_path / "q", tmp_path / "q2")
    with pytest.raises(CaptionerError, match="not empty"):
        quantize_folder(SOURCE, tmp_path / "q")


@pytest.mark.parametrize("bits", [4, 8])
def test_block_quantisation_is_exactly_the_dequantised_matmul(bits: int) -> None:
    """MatMulNBits with float32 activations computes A @ dequantised(W): the packing and scales are right."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from captioner.export.block_quant import quantize_blocks, quantize_model

    rng = np.random.default_rng(bits)
    weight = rng.standard_normal((100, 48)).astype(np.float32)  # 100 rows: the last block is padded
    graph = helper.make_graph([helper.make_node("MatMul", ["A", "W"], ["Y"])], "g",
                              [helper.make_tensor_value_info("A", TensorProto.FLOAT, [None, 5, 100])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 5, 48])],
                              [numpy_helper.from_array(weight, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    assert quantize_model(model, bits, block_size=32, accuracy_level=0) == 1
    assert [n.op_type for n in model.graph.node] == ["MatMulNBits"] and "W" not in {i.name for i in
                                                                                     model.graph.initializer}
    activations = rng.standard_normal((2, 5, 100)).astype(np.float32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"A": activations})[0]
    _, _, dequantised = quantize_blocks(weight, bits, 32)
    np.testing.assert_allclose(got, activations @ dequantised, rtol=1e-5, atol=1e-5)
    error = np.abs(dequantised - weight).max() / np.abs(weight).max()
    assert 0 < error < (0.08 if bits == 4 else 0.005)


@pytest.mark.parametrize("scheme", ["int8-block", "int4-block"])
def test_block_quantised_folder_streams(tmp_path: Path, scheme: str) -> None:
    from captioner.nemo_import.importer import import_nemo

    source = tmp_path / "float"
    import_nemo(FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo", source, lookaheads_ms=[480])
    target = tmp_path / scheme
    spec = quantize_folder(source, target, scheme)
    report = inspect_model_folder(target)
    assert report.usable, report.message
    assert spec.quantization == scheme and f"Weights: {scheme}" in report.to_text()
    ops = {node.op_type for node in onnx.load(str(target / "encoder-la480.onnx")).graph.node}
    assert "MatMulNBits" in ops and "ConvInteger" not in ops
    assert (target / "weights.bin").stat().st_size < (source / "weights.bin").stat().st_size
    tokens = transcribe_samples(StreamingRecognizer(load_model_folder(target), provider="cpu"), clip("speech_8s"))
    assert tokens


def test_restoring_float32_from_half_weights_is_exact(tmp_path: Path) -> None:
    """A float16-weights folder's encoder, its weights widened back to float32, computes the very same values."""
    import numpy as np
    import onnxruntime as ort

    from captioner.export.compact import restore_float32
    from captioner.nemo_import.importer import import_nemo

    half = tmp_path / "half"
    import_nemo(FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo", half, lookaheads_ms=[480], weights="float16")
    model = onnx.load(str(half / "encoder-la480.onnx"))
    casts = sum(node.op_type == "Cast" for node in model.graph.node)
    restored = restore_float32(model)
    assert restored > 0 and sum(node.op_type == "Cast" for node in model.graph.node) == casts - restored
    assert not any(init.data_type == onnx.TensorProto.FLOAT16 for init in model.graph.initializer)
    widened = tmp_path / "widened.onnx"
    onnx.save(model, str(widened))
    a = ort.InferenceSession(str(half / "encoder-la480.onnx"), providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(str(widened), providers=["CPUExecutionProvider"])
    spec = load_model_folder(half).spec
    streaming = spec.streaming_for(480)
    feeds = encoder_feeds(spec, streaming, streaming.chunk_frames[1] + streaming.pre_encode_cache_size, seed=0)
    for x, y in zip(a.run(None, feeds), b.run(None, feeds), strict=True):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("scheme", ["int8-matmul", "int8-block"])
def test_a_float16_weights_folder_is_quantised_from_its_weights(tmp_path: Path, scheme: str) -> None:
    from captioner.nemo_import.importer import import_nemo

    half = tmp_path / "half"
    import_nemo(FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo", half, lookaheads_ms=[480], weights="float16")
    spec = quantize_folder(half, tmp_path / scheme, scheme)
    assert spec.quantization == scheme
    assert inspect_model_folder(tmp_path / scheme).usable
    tokens = transcribe_samples(StreamingRecognizer(load_model_folder(tmp_path / scheme), provider="cpu"),
                                clip("speech_8s"))
    assert tokens
