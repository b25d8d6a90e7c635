"""Nothing leaves the machine: a real-time transcription under strace opens no network socket to anything but
this machine and writes nothing under the user's cache (ONNX Runtime's telemetry is off in every entry point)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "tests" / "fixtures" / "audio" / "speech_3s.wav"
MODEL = ROOT / "tests" / "fixtures" / "models" / "tiny-a"
LOCAL = re.compile(r"sin_addr=inet_addr\(\"127\.|sin6_addr=inet_pton\(AF_INET6, \"::1\"\)")


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (scripts/system-deps.sh installs it)")
def test_realtime_transcription_talks_to_no_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ORT_"))}
    env.update(HOME=str(home), ORT_DISABLE_TELEMETRY="0")  # Captioner must switch it off whatever it is told
    trace = tmp_path / "trace"
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,openat,mkdir,mkdirat",
                           "-o", str(trace), sys.executable, "-m", "captioner", "transcribe", str(SPEECH), "--model",
                           str(MODEL), "--realtime"], env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    lines = trace.read_text().splitlines()
    assert any("connect(" in line or "openat(" in line for line in lines), "strace recorded nothing"
    remote = [line for line in lines if re.search(r"(connect|sendto|sendmsg)\(.*AF_INET6?", line)
              and not LOCAL.search(line)]
    assert remote == []
    assert not (home / ".cache").exists(), sorted(str(p) for p in (home / ".cache").rglob("*"))
