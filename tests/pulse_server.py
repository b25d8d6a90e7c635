"""A private PulseAudio server with a null sink, for tests that need a real audio device."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

SINK = "captest"


class PulseServer:
    """``pulseaudio`` in the foreground (so the test owns its pid) on a private socket."""

    def __init__(self, root: Path, description: str = "CaptionerTest") -> None:
        self.root = root
        self.description = description
        self.runtime = root / "pulse-runtime"
        self.runtime.mkdir(parents=True, exist_ok=True)
        self.socket = self.runtime / "native"
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "paplay"))

    def client_env(self) -> dict[str, str]:
        return {"PULSE_SERVER": f"unix:{self.socket}", "PULSE_RUNTIME_PATH": str(self.runtime)}

    def start(self) -> None:
        home = self.root / "pulse-home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "HOME": str(home), "PULSE_RUNTIME_PATH": str(self.runtime),
               "XDG_RUNTIME_DIR": str(self.runtime), "XDG_CONFIG_HOME": str(home / ".config")}
        cmd = [
            "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
            "--disable-shm=yes", "--log-target=stderr", "--log-level=error",
            "-L", " ".join(self._sink_args()),
            "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
        ]
        self.log = (self.root / "pulseaudio.log").open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {(self.root / 'pulseaudio.log').read_text()}")
            if self.pactl("info").returncode == 0:
                self.pactl("set-default-sink", SINK)
                return
            time.sleep(0.1)
        raise RuntimeError("pulseaudio did not come up within 10 s")

    def _sink_args(self, name: str = SINK, description: str | None = None) -> list[str]:
        return ["module-null-sink", f"sink_name={name}", "rate=48000",
                f"sink_properties='device.description=\"{description or self.description}\"'"]

    def remove_sink(self) -> None:
        """Unload the null sink, so its monitor source vanishes as an unplugged device would."""
        modules = self.pactl("list", "short", "modules").stdout.splitlines()
        index = next(line.split()[0] for line in modules if f"sink_name={SINK}" in line)
        result = self.pactl("unload-module", index)
        assert result.returncode == 0, result.stderr

    def add_sink(self) -> None:
        """Load the null sink again: a device with the same name (and monitor) is back."""
        result = self.pactl("load-module", *self._sink_args())
        assert result.returncode == 0, result.stderr
        self.pactl("set-default-sink", SINK)

    def add_default_source(self, sink: str, description: str) -> None:
        """A second null sink whose monitor is the server's default source: the "default microphone"."""
        result = self.pactl("load-module", *self._sink_args(sink, description))
        assert result.returncode == 0, result.stderr
        result = self.pactl("set-default-source", f"{sink}.monitor")
        assert result.returncode == 0, result.stderr

    def pactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pactl", *args], env={**os.environ, **self.client_env()}, capture_output=True,
                              text=True, timeout=10, check=False)

    def play(self, wav: Path, sink: str = SINK) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["paplay", f"--device={sink}", str(wav)], env={**os.environ, **self.client_env()})

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
            self.log.close()


def best_alignment(captured: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """Lag (samples) where ``reference`` best lines up inside ``captured``, and the cosine similarity there."""
    n = len(captured) + len(reference)
    corr = np.fft.irfft(np.fft.rfft(captured, n) * np.conj(np.fft.rfft(reference, n)), n)
    lag = int(np.argmax(np.abs(corr)))
    lag = lag - n if lag > n // 2 else lag
    a = captured[max(lag, 0) :]
    b = reference[max(-lag, 0) :]
    m = min(len(a), len(b))
    a, b = a[:m], b[:m]
    return lag, float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
