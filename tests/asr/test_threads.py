"""How many threads Captioner gives ONNX Runtime and numpy: one for a small model, and no OpenBLAS pool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import LoadedModel, StreamingRecognizer
from captioner.asr.runtime import SMALL_MODEL_BYTES, default_threads, threads_for
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "models" / "captioner-demo-en"


def test_a_small_model_gets_one_thread_a_large_one_the_default() -> None:
    assert threads_for(0) == 1
    assert threads_for(SMALL_MODEL_BYTES - 1) == 1
    assert threads_for(SMALL_MODEL_BYTES) == default_threads()
    assert threads_for(460_000_000) == default_threads()


def test_encoder_weight_bytes_counts_the_shared_weights_and_the_largest_encoder() -> None:
    folder = load_model_folder(DEMO)
    assert folder.spec.weights_file
    graphs = [folder.file(s.encoder_file).stat().st_size for s in folder.spec.streaming]
    assert folder.encoder_weight_bytes() == folder.file(folder.spec.weights_file).stat().st_size + max(graphs)
    inline = load_model_folder(FIXTURES / "models" / "tiny-a")  # NeMo's export: weights inside each graph
    assert inline.spec.weights_file is None
    assert inline.encoder_weight_bytes() == max(inline.file(s.encoder_file).stat().st_size
                                                for s in inline.spec.streaming)


def test_the_demo_models_sessions_run_on_one_thread_unless_told_otherwise() -> None:
    folder = load_model_folder(DEMO)
    assert folder.encoder_weight_bytes() < SMALL_MODEL_BYTES
    rec = StreamingRecognizer(LoadedModel(folder, "cpu"), lookahead_ms=480)
    assert rec.model.threads == 1
    session, _ = rec.model.session(folder.spec.streaming[0].encoder_file)
    assert session.get_session_options().intra_op_num_threads == 1
    assert LoadedModel(folder, "cpu", threads=3).threads == 3


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_numpy_starts_no_openblas_pool_unless_asked() -> None:
    probe = ("import captioner, numpy, os; a = numpy.ones((300, 300)); a @ a; "
             "print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True,
                         timeout=120).stdout.split()
    assert out == ["1", "1"]
    env["OPENBLAS_NUM_THREADS"] = "2"  # the user's own setting wins
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True,
                         timeout=120).stdout.split()
    assert out[1] == "2"
