"""Hostile or broken model descriptions fail fast with the field named: no hang, no gigabytes, no escape."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from captioner.asr.errors import ModelFolderError
from captioner.asr.manifest import MANIFEST_NAME
from captioner.asr.model_folder import load_model_folder
from tests.conftest import FIXTURES


def _manifest_copy(tmp_path: Path, change: Any) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(FIXTURES / "models" / "tiny-a", folder)
    data = json.loads((folder / MANIFEST_NAME).read_text())
    change(data)
    (folder / MANIFEST_NAME).write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d["streaming"][0].update(shift_frames=[0, 0]), "shift_frames"),
    (lambda d: d["preprocessor"].update(n_mels=10**7), "preprocessor.n_mels"),
    (lambda d: d["preprocessor"].update(n_fft=10**9), "preprocessor.n_fft"),
    (lambda d: d["preprocessor"].update(hop_length=0), "preprocessor.hop_length"),
    (lambda d: d["streaming"][0].update(chunk_frames=[-1, 16]), "chunk_frames"),
    (lambda d: d["vocabulary"].update(tokenizer="../../tiny-b/tokenizer.model"), "vocabulary.tokenizer"),
    (lambda d: d["streaming"][0].update(encoder_file="/etc/passwd"), "encoder_file"),
    (lambda d: d["decoders"]["rnnt"].update(pred_rnn_layers=10**6), "pred_rnn_layers"),
    (lambda d: d["preprocessor"].update(normalize="per_feature"), "preprocessor.normalize"),
    (lambda d: d["encoder"].update(feat_in=64), "encoder.feat_in"),
])
def test_bad_manifest_values_are_refused_by_name(tmp_path: Path, change: Any, field: str) -> None:
    folder = _manifest_copy(tmp_path, change)
    with pytest.raises(ModelFolderError, match=field.replace(".", r"\.").replace("[", r"\[")):
        load_model_folder(folder)


def test_cli_says_why_instead_of_hanging(tmp_path: Path) -> None:
    folder = _manifest_copy(tmp_path, lambda d: d["streaming"][0].update(shift_frames=[0, 0]))
    proc = subprocess.run([sys.executable, "-m", "captioner", "transcribe",
                           str(FIXTURES / "audio" / "speech_3s.wav"), "--model", str(folder)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1 and "shift_frames" in proc.stderr and "internal error" not in proc.stderr


def test_a_huge_feature_count_in_a_hand_made_export_is_refused_before_any_graph_runs(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES / "seed" / "tiny-b", folder)
    config = yaml.safe_load((folder / "model_config.yaml").read_text())
    config["preprocessor"]["features"] = 10**7
    config["encoder"]["feat_in"] = 10**7
    (folder / "model_config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ModelFolderError, match=r"preprocessor\.n_mels"):
        load_model_folder(folder)


def test_a_damaged_weights_file_is_caught(tmp_path: Path) -> None:
    from captioner.asr.model_report import inspect_model_folder
    from captioner.nemo_import.importer import import_nemo

    folder = tmp_path / "model"
    spec = import_nemo(FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo", folder, lookaheads_ms=[80])
    assert spec.weights_file and load_model_folder(folder).spec.weights_digest is not None
    weights = folder / spec.weights_file
    data = bytearray(weights.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0xFF  # one flipped byte where the quick check samples
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFolderError, match="is damaged: its content differs"):
        load_model_folder(folder)
    report = inspect_model_folder(folder)
    assert not report.usable and "is damaged" in report.message
    weights.write_bytes(bytes(data[:-10]))
    with pytest.raises(ModelFolderError, match="is damaged: its size differs"):
        load_model_folder(folder)


def test_the_full_hash_catches_what_the_samples_miss(tmp_path: Path) -> None:
    from captioner.asr.model_folder import check_weights
    from captioner.asr.weights_digest import digest_of

    weights = tmp_path / "weights.bin"
    weights.write_bytes(bytes(range(256)) * (5 << 12))  # 5 MiB: room between the three 1 MiB samples
    digest = digest_of(weights)
    data = bytearray(weights.read_bytes())
    data[(1 << 20) + 4096] ^= 0xFF
    weights.write_bytes(bytes(data))
    check_weights(weights, digest, full=False)  # the quick check at load cannot see it
    with pytest.raises(ModelFolderError, match="content differs"):
        check_weights(weights, digest, full=True)
