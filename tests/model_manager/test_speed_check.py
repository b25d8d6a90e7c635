"""Will a model keep up here? The speed check's verdicts, its quantised trial copies, and keeping one."""

from __future__ import annotations

from pathlib import Path

import pytest

from captioner.asr.model_folder import load_model_folder
from captioner.model_manager.speed_check import (
    AS_INSTALLED,
    SpeedResult,
    Verdict,
    best,
    check_audio,
    check_schemes,
    keep,
    measure,
)
from tests.conftest import FIXTURES

NEMO = FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo"


def result(scheme: str, rtf: float, p95: float) -> SpeedResult:
    return SpeedResult(scheme, 480, rtf, p95, 1000, Path(scheme))


@pytest.mark.parametrize(("rtf", "p95", "verdict"), [
    (0.2, 0.3, Verdict.COMFORTABLE), (0.2, 0.7, Verdict.TIGHT), (0.6, 0.4, Verdict.TIGHT),
    (0.95, 0.5, Verdict.TOO_SLOW), (0.3, 1.2, Verdict.TOO_SLOW)])
def test_the_verdict_counts_both_the_average_and_the_slowest_steps(rtf: float, p95: float, verdict: Verdict) -> None:
    assert result("x", rtf, p95).verdict is verdict


def test_the_recommendation_prefers_the_model_as_installed_then_the_more_exact_copy() -> None:
    installed = result(AS_INSTALLED, 0.3, 0.4)
    int8, int4 = result("int8-block", 0.2, 0.3), result("int4-block", 0.1, 0.2)
    assert best([installed, int8, int4]) is installed
    slow = result(AS_INSTALLED, 0.8, 0.95)
    assert best([slow, int8, int4]) is int8, "the first that keeps up comfortably, not merely the fastest"
    assert best([slow, result("int8-block", 0.7, 0.8)]).scheme == "int8-block"  # type: ignore[union-attr]
    assert best([result(AS_INSTALLED, 1.2, 1.5)]) is None


def test_the_test_audio_is_speech_shaped() -> None:
    audio = check_audio(4.0)
    assert audio.dtype.name == "float32" and len(audio) == 64000
    assert 0.01 < float(abs(audio).mean()) < 0.3 and float((audio == 0).mean()) > 0.2, "bursts and quiet gaps"


@pytest.fixture
def float_folder(tmp_path: Path) -> Path:
    from captioner.nemo_import.importer import import_nemo

    folder = tmp_path / "models" / "tiny-a"
    import_nemo(NEMO, folder, lookaheads_ms=[480])
    return folder


def test_measure_times_every_step(float_folder: Path) -> None:
    measured = measure(float_folder, 480, seconds=2.0)
    assert measured.scheme == AS_INSTALLED and measured.lookahead_ms == 480
    assert 0 < measured.rtf < 5 and 0 < measured.step_p95 < 5
    assert measured.size_bytes == sum(p.stat().st_size for p in float_folder.iterdir())


def test_trial_copies_are_made_measured_and_one_can_be_kept(float_folder: Path, tmp_path: Path) -> None:
    work = tmp_path / "speed-check"
    work.mkdir()
    results = list(check_schemes(float_folder, 480, work, seconds=1.0))
    assert [r.scheme for r in results] == [AS_INSTALLED, "int8-block", "int4-block"]
    assert all(r.folder.parent == work for r in results[1:])
    assert load_model_folder(results[1].folder).spec.quantization == "int8-block"
    kept = keep(results[1], "tiny-a", float_folder.parent)
    assert kept == float_folder.parent / "tiny-a-int8-block" and load_model_folder(kept).spec.quantization
    assert not results[1].folder.exists()


def test_an_already_quantised_folder_is_only_measured(float_folder: Path, tmp_path: Path) -> None:
    from captioner.export.quantize import quantize_folder

    quantize_folder(float_folder, tmp_path / "q", "int8-block")
    assert [r.scheme for r in check_schemes(tmp_path / "q", 480, tmp_path, seconds=1.0)] == [AS_INSTALLED]
