"""``captioner quantize``: an opt-in int8 copy that loads, streams, says what it is, and keeps the original."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from captioner.asr.errors import CaptionerError
from captioner.asr.inspect import inspect_model_folder
from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from captioner.export.quantize import SCHEME, quantize_folder
from tests.conftest import FIXTURES, clip

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
