"""The ``captioner`` command end to end, as a user runs it (a subprocess of the real entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import FIXTURES, cases_index, clip, reference

MODEL = FIXTURES / "models" / "tiny-a"
SPEECH = FIXTURES / "audio" / "speech_3s.wav"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "captioner", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def expected_ids(clip_name: str, lookahead: int, mode: str = "A", decoder: str = "rnnt") -> list[int]:
    case = next(c for c in cases_index()["cases"] if c["model"] == "tiny-a" and c["clip"] == clip_name
                and c["lookahead_ms"] == lookahead and c["mode"] == mode and c["decoder"] == decoder)
    return list(reference(case["npz"])[case["ids_key"]].tolist())


def test_transcribe_json_matches_nemo() -> None:
    result = run("transcribe", SPEECH, "--model", MODEL, "--lookahead-ms", "80", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["token_ids"] == expected_ids("speech_3s", 80)
    assert isinstance(data["text"], str) and data["text"]
    assert data["provider"] == "CPUExecutionProvider" and data["mode"] == "A" and data["lookahead_ms"] == 80
    starts = [t["start"] for t in data["tokens"]]
    assert starts == sorted(starts) and all(abs(s / 0.08 - round(s / 0.08)) < 1e-6 for s in starts)


def test_transcribe_ctc_text_and_subtitles() -> None:
    text = run("transcribe", SPEECH, "--model", MODEL, "--decoder", "ctc")
    assert text.returncode == 0, text.stderr
    srt = run("transcribe", SPEECH, "--model", MODEL, "--decoder", "ctc", "--format", "srt")
    vtt = run("transcribe", SPEECH, "--model", MODEL, "--decoder", "ctc", "--format", "vtt")
    assert srt.stdout.startswith("1\n00:00:") and " --> " in srt.stdout
    assert vtt.stdout.startswith("WEBVTT\n\n00:00:")
    srt_text = " ".join(line for line in srt.stdout.splitlines() if line and "-->" not in line
                        and not line.isdigit())
    assert srt_text.split() == text.stdout.split()


def test_transcribe_resamples_any_rate(tmp_path: Path) -> None:
    import soxr

    audio = clip("speech_3s")
    stereo = soxr.resample(audio, 16000, 44100)
    path = tmp_path / "meeting-44k-stereo.flac"
    sf.write(path, np.stack([stereo, stereo], axis=1), 44100)
    result = run("transcribe", path, "--model", MODEL, "--format", "json", "--lookahead-ms", "480")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert abs(data["audio_seconds"] - 3.0) < 0.01
    reference_ids = expected_ids("speech_3s", 480)
    agree = sum(a == b for a, b in zip(data["token_ids"], reference_ids, strict=False))
    assert agree / max(1, len(reference_ids)) > 0.5, "a 44.1 kHz stereo copy should decode much like the 16 kHz one"


def test_realtime_paces_and_gives_same_text() -> None:
    started = time.monotonic()
    live = run("transcribe", SPEECH, "--model", MODEL, "--lookahead-ms", "80", "--realtime")
    elapsed = time.monotonic() - started
    assert live.returncode == 0, live.stderr
    assert elapsed >= 2.8, "3 s of audio fed at wall-clock speed"
    lines = [line for line in live.stdout.splitlines() if line]
    assert lines and all(line.startswith("[00:00:") for line in lines)
    live_words = " ".join(line.split("] ", 1)[1] for line in lines).split()
    offline = run("transcribe", SPEECH, "--model", MODEL, "--lookahead-ms", "80")
    assert live_words == offline.stdout.split()


def test_user_errors_are_one_paragraph_not_a_traceback(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    for args, expected in [
        (("transcribe", tmp_path / "missing.wav", "--model", MODEL), "does not exist"),
        (("transcribe", notes, "--model", MODEL), "not an audio file Captioner can read"),
        (("transcribe", SPEECH, "--model", tmp_path), "neither captioner-model.json nor any .onnx"),
        (("transcribe", SPEECH, "--model", MODEL, "--lookahead-ms", "123"), "no 123 ms lookahead; it provides"),
        (("transcribe", SPEECH, "--model", FIXTURES / "broken"), "set_export_config"),
    ]:
        result = run(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith("captioner: error: ") and expected in result.stderr
        assert "Traceback" not in result.stderr


def test_inspect_exit_codes_and_json() -> None:
    good = run("inspect", MODEL, "--json")
    assert good.returncode == 0
    data = json.loads(good.stdout)
    assert data["usable"] and data["cache_support"]
    assert [la["lookahead_ms"] for la in data["lookaheads"]] == [1040, 480, 80, 0]
    assert data["lookaheads"][2]["chunk_frames"] == [9, 16]
    bad = run("inspect", FIXTURES / "broken")
    assert bad.returncode == 1
    assert "Cache support: NO" in bad.stdout and "NOT USABLE" in bad.stdout


def test_export_without_nemo_says_how_to_install() -> None:
    result = run("export", FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo", "/tmp/never-written")
    if result.returncode == 0:
        raise AssertionError("NeMo is not a test dependency; export must fail here")
    assert "captioner[export]" in result.stderr and "Traceback" not in result.stderr
