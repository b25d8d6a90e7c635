"""End to end: ``--input-file`` through the ring buffer shows exactly the engine's text everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.asr.recognizer import transcribe_samples
from captioner.asr.segmenter import segment_tokens
from captioner.audio.file_reader import load_audio
from captioner.paths import sessions_dir

from .engine_ref import app_recognizer

ROOT = Path(__file__).resolve().parents[2]


def _engine_segments(model_dir: Path, wav: Path):  # type: ignore[no-untyped-def]
    rec = app_recognizer(model_dir)
    tokens = transcribe_samples(rec, load_audio(wav, rec.sample_rate))
    return tokens, segment_tokens(tokens, rec.tokenizer.decode, rec.frame_s)


def test_input_file_captions_match_engine(qtbot: QtBot, controller_factory, model_dir: Path,  # type: ignore[no-untyped-def]
                                          speech_wav: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir), "--input-file", str(speech_wav))
    with qtbot.waitSignal(c.sessionFinished, timeout=60_000):
        pass
    tokens, expected = _engine_segments(model_dir, speech_wav)
    assert tokens, "the fixture model emits tokens for speech"
    shown = c.window.transcript.segments()
    assert [i for s in shown for i in s.token_ids] == [t.id for t in tokens]
    assert [s.text for s in shown] == [s.text for s in expected]
    # a file's captions are timed from the file's start, however long opening it took
    times = [t for s in shown for t in (s.start_s, s.end_s)]
    assert times == pytest.approx([t for s in expected for t in (s.start_s, s.end_s)], abs=1e-3)
    engine_text = " ".join(s.text for s in expected)
    assert c.window.transcript.plain_text() == engine_text
    assert c.overlay.committed_text() == engine_text
    assert " ".join(c.overlay.displayed_text().split()) in " ".join(engine_text.split())
    # The session was autosaved line by line.
    [log] = sorted(sessions_dir().glob("*.jsonl"))
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["text"] for r in records if "text" in r] == [s.text for s in expected]
    assert c.window.start_btn.isEnabled()


def test_smoke_test_prints_json_report(model_dir: Path, tmp_path: Path) -> None:
    code = ("import sys; from captioner.app.main import main; "
            f"sys.exit(main(['--smoke-test', '--model', {str(model_dir)!r}, '--settings', "
            f"{str(tmp_path / 's.ini')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["ok"] and report["window"]["built"]
    assert report["model"]["loaded"] and report["model"]["provider"].endswith("ExecutionProvider")
    assert "PortAudio" in report["audio"]["portaudio"]


def test_smoke_test_reports_a_bad_model(tmp_path: Path) -> None:
    code = ("import sys; from captioner.app.main import main; "
            f"sys.exit(main(['--smoke-test', '--model', {str(tmp_path / 'missing')!r}, '--settings', "
            f"{str(tmp_path / 's.ini')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    report = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert not report["ok"] and report["errors"][0].startswith("model: ")


def _run_app_on(path: Path, model_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    import os

    code = ("import sys; from captioner.app.main import main; "
            f"sys.exit(main(['--model', {str(model_dir)!r}, '--input-file', {str(path)!r}, '--speed', '20', "
            f"'--quit-when-done', '--settings', {str(tmp_path / 's.ini')!r}]))")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=env)


def test_a_truncated_file_keeps_what_was_heard_and_says_where_it_broke(model_dir: Path, tmp_path: Path) -> None:
    from tests.audio.test_broken_audio_files import truncated_flac

    proc = _run_app_on(truncated_flac(tmp_path), model_dir, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "failed at" in proc.stderr and "Everything before that point was captioned" in proc.stderr
    [log] = sorted((tmp_path / "data").rglob("*.txt"))
    assert len(log.read_text().split()) >= 5, "the sentence decoded before the break is in the transcript"


def test_an_unreadable_file_with_quit_when_done_exits(model_dir: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "not-audio.wav"
    garbage.write_bytes(b"this is not a wave file" * 10)
    proc = _run_app_on(garbage, model_dir, tmp_path)
    assert proc.returncode == 1
    assert "not an audio file Captioner can read" in proc.stderr
