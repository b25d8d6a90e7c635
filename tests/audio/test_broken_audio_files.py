"""Audio files that break part-way or cannot be read: what was heard is kept and the message says where."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from captioner.audio.file_feeder import FileFeeder
from captioner.audio.file_reader import describe_audio, iter_audio_blocks
from captioner.errors import AudioInputError, AudioReadError

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "models" / "tiny-a"
SPEECH = ROOT / "tests" / "fixtures" / "audio" / "speech_8s.wav"


def truncated_flac(tmp_path: Path) -> Path:
    audio, rate = sf.read(SPEECH, dtype="float32")
    whole = tmp_path / "whole.flac"
    sf.write(whole, audio, rate, format="FLAC")
    cut = tmp_path / "cut.flac"
    data = whole.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.9)])
    return cut


def test_cli_keeps_the_transcript_of_a_truncated_file(tmp_path: Path) -> None:
    cut = truncated_flac(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "captioner", "transcribe", str(cut), "--model", str(MODEL)],
                          capture_output=True, text=True, timeout=300, check=False)
    full = subprocess.run([sys.executable, "-m", "captioner", "transcribe", str(SPEECH), "--model", str(MODEL)],
                          capture_output=True, text=True, timeout=300, check=True)
    assert proc.returncode == 1
    assert "failed at" in proc.stderr and "covers the audio before that point" in proc.stderr
    words = proc.stdout.split()
    assert len(words) >= 5 and full.stdout.startswith(" ".join(words[:5]))


def test_file_feeder_streams_and_reports_where_it_broke(tmp_path: Path) -> None:
    cut = truncated_flac(tmp_path)
    feeder = FileFeeder(cut, speed=1000.0, ring_seconds=20.0)
    feeder.open()
    while not feeder.finished:
        feeder._done.wait(0.05)
    feeder.close()
    assert feeder.problem is not None and "failed at" in feeder.problem and "Everything before" in feeder.problem
    assert feeder.ring.available() > feeder.sample_rate * 5  # most of the 8 s arrived before the break


def test_the_reader_yields_everything_before_the_break_then_says_where(tmp_path: Path) -> None:
    """The reader under both the CLI and the feeder: the blocks before the break, then AudioReadError."""
    cut = truncated_flac(tmp_path)
    heard = 0
    with pytest.raises(AudioReadError, match="failed at") as caught:
        for block in iter_audio_blocks(cut, 16000):
            heard += block.size
    assert caught.value.seconds_read > 5 and caught.value.duration_s == pytest.approx(8.0, abs=0.1)
    assert abs(heard / 16000 - caught.value.seconds_read) < 0.2, "what was read before the break was yielded"


def test_unreadable_file_says_permission_denied(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = Path(tempfile.mkdtemp(prefix="captioner-perm-"))  # outside pytest's 0700 folders, for "nobody"
    try:
        folder.chmod(0o755)
        path = folder / "secret.wav"
        sf.write(path, np.zeros(1600, np.float32), 16000)
        path.chmod(0)
        if os.geteuid() != 0:
            with pytest.raises(AudioInputError, match="permission denied"):
                describe_audio(path)
            return
        if shutil.which("setpriv") is None:
            pytest.fail("running as root needs setpriv (util-linux) to read the file as another user")
        code = ("import sys; from pathlib import Path; from captioner.audio.file_reader import describe_audio\n"
                "try:\n    describe_audio(Path(sys.argv[1]))\nexcept Exception as e:\n    print(e)")
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                               code, str(path)], capture_output=True, text=True, timeout=120, check=False,
                              cwd=ROOT, env={**os.environ, "HOME": str(folder)})
        assert "permission denied" in proc.stdout, proc.stdout + proc.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
