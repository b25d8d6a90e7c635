"""The app serves its captions on the local caption page when Settings turn it on (off by default)."""

from __future__ import annotations

import socket
from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.settings import AppSettings, load_settings, save_settings
from tests.caption_page.client import EventStream, http


def test_off_by_default(controller_factory, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    c: CaptionerController = controller_factory("--model", str(model_dir))
    assert c.settings.caption_page_enabled is False
    assert c.caption_page.server is None


def test_a_file_session_reaches_the_page(qtbot: QtBot, controller_factory, settings_file: Path,  # type: ignore[no-untyped-def]
                                         model_dir: Path, speech_wav: Path) -> None:
    save_settings(AppSettings(model_dir=str(model_dir), caption_page_enabled=True, caption_page_port=0),
                  QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory("--input-file", str(speech_wav))
    server = c.caption_page.server
    assert server is not None and server.bound_address[0] == "127.0.0.1"
    token = c.settings.caption_page_token
    assert len(token) >= 16, "a token was made on first start"
    assert load_settings(QSettings(str(settings_file), QSettings.Format.IniFormat)).caption_page_token == token, \
        "and kept, so a link given to OBS keeps working"
    assert http(server.port, "/").status == 403, "no token, no captions"
    with qtbot.waitSignal(c.sessionFinished, timeout=60_000):
        pass
    shown = [s.text for s in c.window.transcript.segments() if s.text]
    assert shown, "the fixture model captions the file"
    with EventStream(server.port, token, view="transcript").open() as stream:
        committed = []
        while len(committed) < len(shown):
            event = stream.next()
            if event.event == "committed":
                committed.append(event.data["text"])
    assert committed == shown


def test_turning_it_on_in_settings_starts_it_and_a_taken_port_says_so(  # type: ignore[no-untyped-def]
        qtbot: QtBot, controller_factory, model_dir: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        dialog = c.open_settings()
        dialog.caption_page.enabled.setChecked(True)
        dialog.caption_page.port.setValue(port)
        assert dialog.caption_page.link.text().startswith(f"http://127.0.0.1:{port}/?token=")
        dialog.accept()
        assert c.caption_page.server is None
        assert c.window.banner.isVisible() and str(port) in c.window.banner.text()
    dialog = c.open_settings()
    dialog.caption_page.port.setValue(port)
    dialog.accept()
    server = c.caption_page.server
    assert server is not None and server.url == dialog.caption_page.link.text()
    assert http(server.port, f"/?token={c.settings.caption_page_token}").status == 200
