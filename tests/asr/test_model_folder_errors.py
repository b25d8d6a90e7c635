"""Bad model folders: each is refused with one paragraph naming the file, the problem and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from captioner.asr.errors import ModelFolderError
from captioner.asr.manifest import MANIFEST_NAME
from captioner.asr.model_folder import load_model_folder
from captioner.asr.model_report import inspect_model_folder


def _refused(path: Path) -> str:
    with pytest.raises(ModelFolderError) as info:
        load_model_folder(path)
    report = inspect_model_folder(path)
    assert not report.usable
    assert report.message == str(info.value)
    return str(info.value)


def test_missing_folder(tmp_path: Path) -> None:
    assert "does not exist" in _refused(tmp_path / "nope")


def test_file_instead_of_folder(tmp_path: Path) -> None:
    f = tmp_path / "model.onnx"
    f.write_bytes(b"x")
    assert "is a file, not a model folder" in _refused(f)


def test_empty_folder(tmp_path: Path) -> None:
    message = _refused(tmp_path)
    assert "neither captioner-model.json nor any .onnx graph" in message
    assert "captioner export" in message


def test_corrupt_onnx(tmp_path: Path) -> None:
    (tmp_path / "encoder-x.onnx").write_bytes(b"\x08\x07garbage that is not a protobuf model" * 10)
    message = _refused(tmp_path)
    assert "encoder-x.onnx is not a readable ONNX graph" in message
    assert "truncated or corrupt" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not a readable Captioner manifest"),
        (json.dumps({"format": "other"}), "not a Captioner model manifest"),
        (json.dumps({"format": "captioner-streaming-model", "format_version": 99}), "format version 99"),
        (json.dumps({"format": "captioner-streaming-model", "format_version": 1}), "missing or mistypes a field"),
    ],
)
def test_bad_manifest(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / MANIFEST_NAME).write_text(content)
    message = _refused(tmp_path)
    assert expected in message and MANIFEST_NAME in message
