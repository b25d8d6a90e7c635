"""inspect and load on real exports: good folders pass, each kind of broken folder names its fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from captioner.asr.errors import ModelFolderError
from captioner.asr.manifest import MANIFEST_NAME
from captioner.asr.model_folder import load_model_folder
from captioner.asr.model_report import inspect_model_folder
from tests.conftest import FIXTURES

MODELS = FIXTURES / "models"


@pytest.mark.parametrize("path", ["models/tiny-a", "models/tiny-b", "seed/tiny-a", "seed/tiny-b"])
def test_good_folders_are_usable(path: str) -> None:
    report = inspect_model_folder(FIXTURES / path)
    assert report.usable, report.message
    assert report.cache_support
    data = report.to_json()
    assert data["decoders"] == ["rnnt", "ctc"]
    assert "Cache support: YES" in report.to_text()


def test_numbers_come_from_the_model_not_the_large_one() -> None:
    spec = load_model_folder(MODELS / "tiny-b").spec
    assert (spec.encoder.n_layers, spec.encoder.d_model, spec.encoder.conv_cache_size) == (3, 48, 4)
    assert spec.vocab_size == 40 and spec.blank_id == 40
    assert spec.lookaheads_ms() == [160, 0]
    assert [s.chunk_frames for s in spec.streaming] == [(17, 24), (1, 8)]
    assert spec.streaming[0].last_channel_cache_size == 12
    seed = load_model_folder(FIXTURES / "seed" / "tiny-b").spec
    assert (seed.encoder.n_layers, seed.encoder.d_model, seed.vocab_size) == (3, 48, 40)
    assert seed.streaming[0].chunk_frames == (17, 24)


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def _refusal(path: Path) -> str:
    report = inspect_model_folder(path)
    assert not report.usable
    return report.message


def test_cacheless_export_is_refused_with_the_fix() -> None:
    report = inspect_model_folder(FIXTURES / "broken")
    assert not report.usable and not report.cache_support
    assert "Cache support: NO" in report.to_text()
    assert "model.set_export_config({'cache_support': 'True'})" in report.message
    assert "captioner export" in report.message
    with pytest.raises(ModelFolderError, match="without cache support"):
        load_model_folder(FIXTURES / "broken")


def test_seed_broken_ctc_graph_alone(tmp_path: Path) -> None:
    """The seed's famous broken model: audio_signal in, logprobs out, nothing else."""
    shutil.copy(FIXTURES / "broken" / "tiny-b.onnx", tmp_path / "model.onnx")
    message = _refusal(tmp_path)
    assert "lacks cache_last_channel" in message and "set_export_config" in message


def test_missing_graph(tmp_path: Path) -> None:
    folder = _copy(MODELS / "tiny-a", tmp_path)
    (folder / "decoder_joint.onnx").unlink()
    message = _refusal(folder)
    assert "incomplete: decoder_joint.onnx is missing" in message


def test_tokenizer_of_another_model(tmp_path: Path) -> None:
    folder = _copy(MODELS / "tiny-b", tmp_path)
    shutil.copy(MODELS / "tiny-a" / "tokenizer.model", folder / "tokenizer.model")
    assert "has 64 tokens but the model's output layer has 40" in _refusal(folder)


def test_graph_output_size_differs_from_tokenizer(tmp_path: Path) -> None:
    folder = _copy(MODELS / "tiny-a", tmp_path)
    shutil.copy(MODELS / "tiny-b" / "tokenizer.model", folder / "tokenizer.model")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["vocabulary"].update(size=40, blank_id=40)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    message = _refusal(folder)
    assert "outputs 65 classes but the tokenizer tokenizer.model has 40 tokens (+1 blank = 41)" in message


def test_encoder_with_other_lookahead(tmp_path: Path) -> None:
    folder = _copy(MODELS / "tiny-a", tmp_path)
    shutil.copy(folder / "encoder-la1040.onnx", folder / "encoder-la80.onnx")
    assert "encoder-la80.onnx was exported with a 1040 ms lookahead" in _refusal(folder)


def test_truncated_graph(tmp_path: Path) -> None:
    folder = _copy(MODELS / "tiny-a", tmp_path)
    data = (folder / "encoder-la80.onnx").read_bytes()
    (folder / "encoder-la80.onnx").write_bytes(data[: len(data) // 2])
    assert "encoder-la80.onnx is not a readable ONNX graph" in _refusal(folder)


def test_wrong_dtype_is_named(tmp_path: Path) -> None:
    folder = _copy(FIXTURES / "seed" / "tiny-b", tmp_path)
    for f in folder.glob("*.onnx"):
        if not f.name.startswith("decoder_joint"):
            f.unlink()
    inputs = [
        helper.make_tensor_value_info("audio_signal", TensorProto.FLOAT, [1, 80, None]),
        helper.make_tensor_value_info("length", TensorProto.INT32, [1]),
        helper.make_tensor_value_info("cache_last_channel", TensorProto.FLOAT, [1, 3, 12, 48]),
        helper.make_tensor_value_info("cache_last_time", TensorProto.FLOAT, [1, 3, 48, 4]),
        helper.make_tensor_value_info("cache_last_channel_len", TensorProto.INT64, [1]),
    ]
    names = ["outputs", "encoded_lengths", "cache_last_channel_next", "cache_last_time_next",
             "cache_last_channel_next_len"]
    sources = ["audio_signal", "length", "cache_last_channel", "cache_last_time", "cache_last_channel_len"]
    nodes = [helper.make_node("Identity", [s], [n]) for s, n in zip(sources, names, strict=True)]
    outputs = [helper.make_tensor_value_info(n, i.type.tensor_type.elem_type, None)
               for n, i in zip(names, inputs, strict=True)]
    model = helper.make_model(helper.make_graph(nodes, "enc", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.save(model, folder / "encoder-tiny-b.onnx")
    assert "input 'length' is int32, expected int64" in _refusal(folder)


def test_config_missing_beside_graphs(tmp_path: Path) -> None:
    folder = _copy(FIXTURES / "seed" / "tiny-b", tmp_path)
    (folder / "model_config.yaml").unlink()
    message = _refusal(folder)
    assert "no model_config.yaml" in message and ".nemo" in message


def test_graph_from_a_newer_onnx(tmp_path: Path) -> None:
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 99
    onnx.save(model, tmp_path / "encoder-x.onnx")
    message = _refusal(tmp_path)
    assert "needs a newer ONNX Runtime" in message and "Upgrade onnxruntime" in message
