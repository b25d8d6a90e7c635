"""``captioner export --share-weights``: one weights.bin for all graphs, same tokens, clear errors."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from captioner.asr.manifest import write_manifest
from captioner.asr.model_folder import load_model_folder
from captioner.asr.model_report import inspect_model_folder
from captioner.errors import CaptionerError
from captioner.export.compact import WEIGHTS_FILE, share_weights
from captioner.export.quantize import quantize_folder
from tests.conftest import FIXTURES, assert_same_tokens, clip

SOURCE = FIXTURES / "models" / "tiny-a"


def _shared_copy(tmp_path: Path) -> Path:
    target = tmp_path / "shared"
    shutil.copytree(SOURCE, target)
    spec = load_model_folder(target).spec
    graphs = sorted(p.name for p in target.glob("*.onnx"))
    saved = share_weights(target, graphs)
    assert saved > 0
    write_manifest(replace(spec, weights_file=WEIGHTS_FILE), target)
    return target


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def test_shared_weights_give_the_same_tokens_from_a_smaller_folder(tmp_path: Path) -> None:
    target = _shared_copy(tmp_path)
    encoders = len(list(SOURCE.glob("encoder-*.onnx")))
    assert encoders == 8
    # eight encoder graphs with the same weights now cost about one
    assert _folder_bytes(target) < 0.5 * _folder_bytes(SOURCE)  # tiny graphs: structure is a big share
    report = inspect_model_folder(target)
    assert report.usable, report.message
    assert_same_tokens(SOURCE, target, clip("speech_8s"), (0, 480))


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    target = _shared_copy(tmp_path)
    (target / WEIGHTS_FILE).unlink()
    with pytest.raises(CaptionerError, match=r"incomplete: weights\.bin is missing"):
        load_model_folder(target)
    report = inspect_model_folder(target)
    assert not report.usable and WEIGHTS_FILE in report.message


def test_shared_folder_can_still_be_quantized(tmp_path: Path) -> None:
    target = _shared_copy(tmp_path)
    spec = quantize_folder(target, tmp_path / "int8")
    assert spec.weights_file == WEIGHTS_FILE
    assert inspect_model_folder(tmp_path / "int8").usable
    # still one pool, without the float encoder weights the int8 graphs replaced (tiny-a: 1.25 -> 0.67 MB)
    assert (tmp_path / "int8" / WEIGHTS_FILE).stat().st_size < 0.6 * (target / WEIGHTS_FILE).stat().st_size


def test_an_already_shared_folder_can_be_shared_again(tmp_path: Path) -> None:
    target = _shared_copy(tmp_path)
    graphs = sorted(p.name for p in target.glob("*.onnx"))
    before = (target / WEIGHTS_FILE).read_bytes()
    assert share_weights(target, graphs) > 0
    assert (target / WEIGHTS_FILE).read_bytes() == before, "the same tensors, pooled the same way"
    assert not list(target.glob("*.partial"))
    assert_same_tokens(SOURCE, target, clip("speech_8s"), (0,))


def test_a_graph_left_out_of_a_reshare_is_refused_not_corrupted(tmp_path: Path) -> None:
    target = _shared_copy(tmp_path)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    with pytest.raises(ValueError, match=r"ctc_head\.onnx.* also read weights\.bin"):
        share_weights(target, ["encoder-la0.onnx"])
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before, "nothing was touched"


def test_export_refuses_a_folder_holding_an_earlier_export(tmp_path: Path) -> None:
    """Graphs of an earlier export left beside a new one would read the new weights.bin at wrong offsets."""
    from captioner.export.errors import ModelExportError
    from captioner.export.nemo_export import _require_empty

    shutil.copytree(SOURCE, tmp_path / "old")
    with pytest.raises(ModelExportError, match=r"old already holds a model \(captioner-model\.json, ctc_head\.onnx"):
        _require_empty(tmp_path / "old")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "README.md").write_text("notes stay welcome\n")
    _require_empty(tmp_path / "new")
    _require_empty(tmp_path / "not-made-yet")
