"""One Captioner per profile: a second launch brings the first forward and exits; a crashed one is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from captioner.app.single_instance import ask_running_instance_to_show, server_name

ROOT = Path(__file__).resolve().parents[2]


def _launch(settings: Path, model_dir: Path, home: Path) -> subprocess.Popen[str]:
    code = ("import sys; from captioner.app.main import main; "
            f"sys.exit(main(['--model', {str(model_dir)!r}, '--settings', {str(settings)!r}]))")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(home / "data"),
           "XDG_RUNTIME_DIR": str(home / "run")}
    (home / "run").mkdir(exist_ok=True, mode=0o700)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_listening(name: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not ask_running_instance_to_show(name):
        assert time.monotonic() < deadline, "the first instance never started listening"
        try:  # between attempts, wait for the one event that would end the wait early: the app exiting
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the app exited ({process.returncode}): {process.communicate()[1]}")


def test_second_launch_defers_to_the_first(tmp_path: Path, model_dir: Path) -> None:
    settings = tmp_path / "profile.ini"
    name = server_name(str(settings.resolve()))
    first = _launch(settings, model_dir, tmp_path)
    try:
        _wait_listening(name, first)
        second = _launch(settings, model_dir, tmp_path)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 0 and "already running" in err
        assert first.poll() is None, "the first instance keeps running"
        other = _launch(tmp_path / "other-profile.ini", model_dir, tmp_path)  # another profile is its own app
        try:
            _wait_listening(server_name(str((tmp_path / "other-profile.ini").resolve())), other)
        finally:
            other.kill()
            other.communicate(timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)  # as a crash would: the socket file stays behind
        first.communicate(timeout=60)
    third = _launch(settings, model_dir, tmp_path)
    try:
        _wait_listening(name, third)  # the stale socket did not stop it
    finally:
        third.kill()
        third.communicate(timeout=60)
