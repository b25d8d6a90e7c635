"""NaN and infinite samples, and a model that produces them: never "⁇", never a poisoned stream."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from tests.conftest import FIXTURES, clip

ROOT = Path(__file__).resolve().parents[2]
MODEL = FIXTURES / "models" / "tiny-a"


def _ids(audio: np.ndarray, model: Path = MODEL) -> tuple[list[int], StreamingRecognizer]:
    rec = StreamingRecognizer(load_model_folder(model), lookahead_ms=80, provider="cpu")
    return [t.id for t in transcribe_samples(rec, audio)], rec


def test_nonfinite_samples_are_silence_not_poison() -> None:
    audio = clip("speech_8s")
    poisoned = audio.copy()
    poisoned[16000] = np.nan
    poisoned[40000:40010] = np.inf
    silenced = np.where(np.isfinite(poisoned), poisoned, 0.0).astype(np.float32)
    got, rec = _ids(poisoned)
    assert got == _ids(silenced)[0] and got
    assert rec.nonfinite_samples == 11 and rec.stream_resets == 0
    assert "\u2047" not in rec.tokenizer.decode(got)


def _broken_weights(tmp_path: Path) -> Path:
    """tiny-a's export with one encoder weight set to NaN, as a bit-rotted weights.bin could hold."""
    import onnx

    folder = tmp_path / "broken"
    shutil.copytree(MODEL, folder)
    for graph in sorted(folder.glob("encoder-la80*.onnx")):
        model = onnx.load(str(graph))
        init = next(i for i in model.graph.initializer if i.name.endswith("linear_q.weight") or ("MatMul" in i.name
                    and i.data_type == onnx.TensorProto.FLOAT and len(i.dims) == 2))
        values = onnx.numpy_helper.to_array(init).copy()
        values.flat[0] = np.nan
        init.CopyFrom(onnx.numpy_helper.from_array(values, init.name))
        onnx.save(model, str(graph))
    return folder


def test_a_model_producing_nan_is_reset_and_says_so(tmp_path: Path) -> None:
    folder = _broken_weights(tmp_path)
    got, rec = _ids(clip("speech_3s"), folder)
    assert rec.stream_resets > 0 and rec.lost_seconds > 0
    assert got == []  # nothing captioned from garbage (and no "⁇")
    wav = tmp_path / "speech.wav"
    sf.write(wav, clip("speech_3s"), 16000)
    proc = subprocess.run([sys.executable, "-m", "captioner", "transcribe", str(wav), "--model", str(folder),
                           "--lookahead-ms", "80"], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1 and "produced invalid values" in proc.stderr and "\u2047" not in proc.stdout


def test_the_unknown_piece_is_never_caption_text() -> None:
    from captioner.asr.tokenizer import Tokenizer

    tokenizer = Tokenizer(load_model_folder(MODEL).tokenizer_model)
    unk = 0
    assert tokenizer.token_text(unk) == "" and "\u2047" not in tokenizer.decode([unk, *tokenizer.encode("the")])
