"""Shared fixtures for the desktop-app tests: an isolated user profile, a fixture model and audio."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.pulse_server import PulseServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _fixture_root() -> Path:
    override = os.environ.get("CAPTIONER_TEST_FIXTURES")
    return Path(override) if override else FIXTURES


@pytest.fixture(autouse=True)
def isolated_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings and autosaves go to a temporary home, never the developer's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(tmp_path / "docs"))
    return tmp_path


@pytest.fixture
def model_dir() -> Path:
    models = _fixture_root() / "models"
    for name in ("tiny-a", "tiny-b"):
        if (models / name / "captioner-model.json").is_file():
            return models / name
    pytest.skip(f"no fixture model under {models} (run tools/make_fixtures.py)")


@pytest.fixture
def other_model_dir(model_dir: Path) -> Path:
    for candidate in sorted(model_dir.parent.iterdir()):
        if candidate != model_dir and (candidate / "captioner-model.json").is_file():
            return candidate
    return model_dir


@pytest.fixture
def speech_wav() -> Path:
    path = _fixture_root() / "audio" / "speech_3s.wav"
    if not path.is_file():
        pytest.skip(f"no fixture audio at {path}")
    return path


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "captioner.ini"


@pytest.fixture
def controller_factory(settings_file: Path) -> Iterator[object]:
    """Builds ``CaptionerController``s through ``create_app`` and shuts them down after the test."""
    from captioner.app.main import create_app

    made = []

    def make(*argv: str) -> object:
        c = create_app(["--settings", str(settings_file), *argv])
        made.append(c)
        return c

    yield make
    for c in made:
        c.shutdown()  # type: ignore[attr-defined]


@pytest.fixture
def pulse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseServer]:
    """A private PulseAudio server with a null sink, the app's sound server for the test.

    Skipped only where PulseAudio or PortAudio is not installed.
    """
    if not PulseServer.available():
        pytest.skip("pulseaudio/pactl/paplay not installed")
    try:
        import sounddevice  # noqa: F401
    except OSError:
        pytest.skip("PortAudio (libportaudio2) not installed")
    from captioner.audio.devices import rescan_portaudio

    server = PulseServer(tmp_path)
    server.start()
    for key, value in server.client_env().items():
        monkeypatch.setenv(key, value)
    rescan_portaudio()  # PortAudio only finds the ALSA "pulse" device once a server runs
    yield server
    server.stop()
    monkeypatch.undo()
    rescan_portaudio()
