"""Settings → Models: the installed list, a real download from a 127.0.0.1 server with progress, Cancel, use."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.models_page import progress_text
from captioner.model_manager.download import DownloadProgress
from captioner.paths import user_data_dir
from tests.app.test_settings_dialog import _wait_verdict
from tests.conftest import FIXTURES
from tests.model_manager.http_server import serve

NEMO = (FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo").read_bytes()


def _user_catalogue(url: str) -> None:
    path = user_data_dir() / "catalogue.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "models": [{
        "id": "test/tiny-a", "display_name": "Tiny test model", "verified": True, "family": "hybrid RNNT + CTC",
        "languages": ["en"], "needs": "Nothing much.", "page": "https://example.invalid/tiny-a",
        "licence": {"name": "Test Licence", "url": "https://example.invalid/licence"},
        "files": [{"name": "tiny-a.nemo", "url": url, "size": len(NEMO),
                   "sha256": hashlib.sha256(NEMO).hexdigest()}]}]}))


def test_download_install_and_use(qtbot: QtBot, controller_factory, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with serve({"tiny-a.nemo": NEMO}) as server:
        _user_catalogue(server.url("tiny-a.nemo"))
        c: CaptionerController = controller_factory("--model", str(model_dir))
        qtbot.waitUntil(lambda: c.model_info is not None, timeout=30_000)
        dialog = c.open_settings()
        page = dialog.models_page
        page.choice.setCurrentIndex(page.choice.findData("test/tiny-a"))
        assert "Test Licence" in page.description.text() and "Nothing much." in page.description.text()
        assert not page.download_button.isEnabled()  # the licence comes first
        page.accept_licence.setChecked(True)
        assert page.download_button.isEnabled()
        with qtbot.waitSignal(page.installFinished, timeout=120_000) as finished:
            page.download_button.click()
        assert finished.args[0].endswith(os.path.join("models", "tiny-a"))
        assert "SHA-256 matched" in page.status.text() and page.use_new.isVisibleTo(page)
        names = [page.installed.topLevelItem(i).text(0) for i in range(page.installed.topLevelItemCount())]
        assert "tiny-a" in names
        page.use_new.click()
        assert dialog.tabs.currentWidget() is dialog.model_page and dialog.model_page.folder.text() == finished.args[0]
        _wait_verdict(qtbot, dialog)
        assert dialog.model_page.model_usable()
        dialog.accept()
        qtbot.waitUntil(lambda: c.model_info is not None and c.model_info.path == finished.args[0], timeout=30_000)


def test_cancel_then_failure_messages(qtbot: QtBot, controller_factory, model_dir: Path,  # type: ignore[no-untyped-def]
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with serve({"tiny-a.nemo": NEMO}, bytes_per_s=200_000) as server:
        _user_catalogue(server.url("tiny-a.nemo"))
        c: CaptionerController = controller_factory("--model", str(model_dir))
        page = c.open_settings().models_page
        threads: list[bool] = []  # whether each status update ran in the GUI thread (widgets may not elsewhere)
        real_finish = page._finish
        monkeypatch.setattr(page, "_finish", lambda message: (
            threads.append(threading.current_thread() is threading.main_thread()), real_finish(message)))
        page.choice.setCurrentIndex(page.choice.findData("test/tiny-a"))
        page.accept_licence.setChecked(True)
        with qtbot.waitSignal(page.installFinished, timeout=120_000) as finished:
            page.download_button.click()
            qtbot.waitUntil(lambda: page.status.text().startswith("Downloading"), timeout=60_000)
            page.cancel_button.click()
        assert finished.args == [""] and page.status.text().startswith("Cancelled.")
        assert "resumes from there" in page.status.text()
        server.files.clear()  # the next attempt finds nothing on the server
        with qtbot.waitSignal(page.installFinished, timeout=120_000):
            page.download_button.click()
        assert page.status.text().startswith("Download failed:") and "HTTP 404" in page.status.text()
        assert threads == [True, True], "the cancel and failure messages reached the page in the GUI thread"


def test_progress_text() -> None:
    assert progress_text(DownloadProgress(123_000_000, 460_000_000, 4_200_000)) == \
        "123 of 460 MB · 4.2 MB/s · 1 min 20 s left"
    assert progress_text(DownloadProgress(5_000_000, None, 1_000_000)) == "5 MB · 1.0 MB/s"


def test_speed_check_reports_each_copy_and_keeps_the_recommended_one(  # type: ignore[no-untyped-def]
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from captioner.app import models_page
    from captioner.app.models_page import ModelsPage
    from captioner.nemo_import.importer import import_nemo

    root = tmp_path / "data" / "models"
    import_nemo(FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo", root / "tiny-a", lookaheads_ms=[480])
    monkeypatch.setattr(models_page, "check_schemes", _quick(models_page.check_schemes))
    page = ModelsPage("", root=root)
    qtbot.addWidget(page)
    used: list[str] = []
    page.useRequested.connect(used.append)
    page.installed.setCurrentItem(next(page.installed.topLevelItem(i) for i in range(page.installed.topLevelItemCount())
                                       if page.installed.topLevelItem(i).text(0).startswith("tiny-a")))
    with qtbot.waitSignal(page.speedCheckFinished, timeout=120_000):
        page.speed_button.click()
        assert not page.speed_button.isEnabled(), "one check at a time"
    report = page.speed_report.text()
    assert "as installed:" in report and "int8-block:" in report and "int4-block:" in report
    assert "keeps up" in report and "480 ms" in report
    trials = sorted((root.parent / "speed-check").iterdir())
    assert len(trials) == 2

    # On a slower computer the model as installed would not keep up: the page offers the int8 copy.
    page._speed_results = [_slowed(r) if r.scheme == "as installed" else r for r in page._speed_results]
    page._show_speed(final=True)
    assert not page.keep_button.isHidden() and "int8-block" in page.keep_button.text()
    page.keep_button.click()
    assert used == [str(root / "tiny-a-int8-block")]
    assert (root / "tiny-a-int8-block" / "captioner-model.json").is_file()
    assert not any((root.parent / "speed-check").iterdir()), "the other trial copy is gone"
    assert any(page.installed.topLevelItem(i).text(0).startswith("tiny-a-int8-block")
               for i in range(page.installed.topLevelItemCount()))


def _quick(check):  # type: ignore[no-untyped-def]
    """The speed check on one second of audio: enough to exercise it, quick on a loaded machine."""
    return lambda *args, **kwargs: check(*args, **{**kwargs, "seconds": 1.0})


def _slowed(result):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(result, rtf=1.5, step_p95=2.0)
