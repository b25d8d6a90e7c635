"""Quitting while the caption thread is busy: it is waited for, and the autosave is not closed under it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytestqt.qtbot import QtBot

from captioner.app import controller as controller_module
from captioner.audio.capture import AudioInput
from captioner.errors import AudioInputError

if TYPE_CHECKING:
    from captioner.app.controller import CaptionerController


def test_shutdown_timeout_keeps_the_session_log_open(qtbot: QtBot, controller_factory, model_dir: Path,  # type: ignore[no-untyped-def]
                                                     speech_wav: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir), "--input-file", str(speech_wav))
    qtbot.waitUntil(lambda: c.state == "running" and c.session is not None, timeout=30_000)
    session = c.session
    assert session is not None
    entered, release = threading.Event(), threading.Event()

    def busy() -> AudioInput:  # runs in the caption thread and keeps it busy, like a slow model load
        entered.set()
        release.wait(10)
        raise AudioInputError("gone")

    c.worker.open_input(busy)
    assert entered.wait(5)
    monkeypatch.setattr(controller_module, "SHUTDOWN_WAIT_MS", 100)
    with caplog.at_level(logging.WARNING, logger="captioner.app.worker"):
        c.shutdown()
    assert c.worker.isRunning()
    assert "did not stop within 100 ms" in caplog.text
    assert c.session is session and not session.closed, "the log stays open for the thread's last lines"

    release.set()
    qtbot.waitUntil(c.worker.isFinished, timeout=5000)
    c.shutdown()  # what main() does after the event loop has ended
    assert c.session is None and session.closed
