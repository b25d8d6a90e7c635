"""Encoder caches kept on the device between steps (IO binding), the path a GPU takes, run here on the CPU:
the very same tokens as host caches, through both streaming modes, a reset and a model-folder import."""

from __future__ import annotations

from pathlib import Path

import pytest

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import LoadedModel, StreamingRecognizer, transcribe_samples
from captioner.nemo_import.importer import import_nemo
from tests.conftest import FIXTURES, clip


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    imported = tmp_path_factory.mktemp("device-caches") / "tiny-b"
    import_nemo(FIXTURES / "nemo" / "tiny-b.nemo", imported, name="tiny-b")
    return {"export": FIXTURES / "models" / "tiny-a", "import": imported}


def _tokens(rec: StreamingRecognizer, name: str) -> list[tuple[int, int]]:
    return [(t.id, t.frame) for t in transcribe_samples(rec, clip(name)) + rec.finish()]


@pytest.mark.parametrize("kind", ["export", "import"])
@pytest.mark.parametrize("mode", ["A", "B"])
def test_device_caches_give_the_host_caches_tokens(folders: dict[str, Path], kind: str, mode: str) -> None:
    model = LoadedModel(load_model_folder(folders[kind]), "cpu")
    lookaheads = sorted(model.folder.spec.lookaheads_ms())[:2]
    for lookahead in lookaheads:
        host = StreamingRecognizer(model, lookahead_ms=lookahead, mode=mode)
        bound = StreamingRecognizer(model, lookahead_ms=lookahead, mode=mode, device_caches=True)
        assert host.cache_device is None and bound.cache_device == "cpu"
        expected = _tokens(host, "speech_8s")
        assert expected and _tokens(bound, "speech_8s") == expected
        bound.reset()
        assert _tokens(bound, "speech_8s") == expected  # fresh device caches after a reset


def test_host_caches_are_the_default_off_a_gpu(folders: dict[str, Path]) -> None:
    rec = StreamingRecognizer(load_model_folder(folders["export"]), provider="cpu")
    assert rec.provider == "CPUExecutionProvider" and rec.cache_device is None
