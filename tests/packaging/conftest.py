"""Builds the Linux installers once per test session (packaging/linux/build.sh) and unpacks the .deb.

The build takes a few minutes (PyInstaller, dpkg-deb, mksquashfs) and needs the system packages that
``scripts/system-deps.sh test`` installs; on anything but Debian-like Linux the tests are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pulse_server import PulseServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LinuxBuild:
    output: str
    bundle: Path
    deb: Path
    squashfs: Path
    figures: dict[str, Any]


@pytest.fixture(scope="session")
def linux_build() -> LinuxBuild:
    if not sys.platform.startswith("linux") or not shutil.which("dpkg-deb"):
        pytest.skip("the Linux installers are built on Debian/Ubuntu only")
    dist = ROOT / "build" / "dist"
    for old in [*dist.glob("captioner_*.deb"), *dist.glob("captioner-*.squashfs"), dist / "figures.json"]:
        old.unlink(missing_ok=True)
    # The bundle's Python is the one the test venv was made from (it must have a shared libpython).
    env = {**os.environ, "PYTHON": getattr(sys, "_base_executable", sys.executable)}
    proc = subprocess.run(["bash", str(ROOT / "packaging" / "linux" / "build.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"packaging/linux/build.sh failed ({proc.returncode}):\n{output[-6000:]}")
    [deb] = dist.glob("captioner_*.deb")
    [squashfs] = dist.glob("captioner-*.squashfs")
    figures = json.loads((dist / "figures.json").read_text())
    return LinuxBuild(output, dist / "captioner", deb, squashfs, figures)


@pytest.fixture(scope="session")
def deb_root(linux_build: LinuxBuild, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb unpacked into an empty root (``dpkg -x``): what ``apt install`` puts on disk."""
    root = tmp_path_factory.mktemp("deb-root")
    subprocess.run(["dpkg-deb", "-x", str(linux_build.deb), str(root)], check=True)
    return root


@pytest.fixture(scope="session")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio whose default source is a sine generator (a stand-in microphone); its client env."""
    if not PulseServer.available():
        pytest.skip("pulseaudio/pactl not installed")
    server = PulseServer(tmp_path_factory.mktemp("pulse"))
    server.start()
    loaded = server.pactl("load-module", "module-sine-source", "source_name=mic", "rate=48000", "frequency=440")
    assert loaded.returncode == 0, loaded.stderr
    server.pactl("set-default-source", "mic")
    yield server.client_env()
    server.stop()


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean user profile for the installed app: its settings and sessions never touch the developer's."""
    runtime = home / "runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    # No LANG/LC_*: like an app started from a minimal environment, the bundle must cope (see rthook_captioner).
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "PULSE_SERVER", "TMPDIR")}
    return {**keep, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
            "XDG_RUNTIME_DIR": str(runtime), **extra}
