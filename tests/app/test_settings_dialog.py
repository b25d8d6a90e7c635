"""The settings dialog: live model verdicts shown as is, bad folders never applied, overlay preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.settings_dialog import SettingsDialog
from captioner.asr.model_report import inspect_model_folder
from captioner.live.model_loading import live_default_lookahead

from .worker_beats import nowhere, round_trip


def _wait_verdict(qtbot: QtBot, dialog: SettingsDialog) -> None:
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    page = dialog.model_page
    qtbot.waitUntil(lambda: ok.isEnabled() and page.checked_path == page.folder.text().strip(), timeout=30_000)


def test_bad_folder_shows_message_and_keeps_old_model(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                      model_dir: Path, tmp_path: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=30_000)
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    (bad / "encoder.onnx").write_bytes(b"garbage")
    dialog = c.open_settings()
    page = dialog.model_page
    _wait_verdict(qtbot, dialog)
    assert "stays active" not in page.keep_note.text()
    page.folder.setText(str(bad))
    _wait_verdict(qtbot, dialog)
    expected = inspect_model_folder(bad)
    assert not expected.usable
    assert page.verdict.text() == expected.message  # the engine's paragraph, as is
    assert c.model_info is not None and c.model_info.name in page.keep_note.text()
    loads: list[object] = []
    c.worker.modelLoaded.connect(loads.append)
    dialog.accept()
    failures = round_trip(qtbot, c.worker, nowhere(c, tmp_path))  # a load the accept asked for comes before
    assert c.settings.model_dir == str(model_dir)
    assert loads == [] and len(failures) == 1, failures  # the bad folder was not even tried
    assert c.model_info is not None and Path(c.model_info.path) == model_dir


def test_good_folder_fills_lookaheads_and_applies(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                  model_dir: Path, other_model_dir: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=30_000)
    dialog = c.open_settings()
    page = dialog.model_page
    page.folder.setText(str(other_model_dir))
    _wait_verdict(qtbot, dialog)
    report = inspect_model_folder(other_model_dir)
    assert page.verdict.text() == report.message
    assert report.spec is not None
    labels = [page.lookahead.itemText(i) for i in range(page.lookahead.count())]
    assert labels[0].startswith(f"{report.spec.lookaheads_ms()[0]} ms")
    assert all(" ms" in label for label in labels)
    # Nothing chosen yet: the live default (closest to 480 ms) is preselected and says so.
    live = live_default_lookahead(report.spec.lookaheads_ms())
    assert page.lookahead.currentData() == live
    assert page.lookahead.currentText() == f"{live} ms  (default for live captions)"
    page.lookahead.setCurrentIndex(page.lookahead.count() - 1)
    page.provider.setCurrentIndex(page.provider.findData("cpu"))
    with qtbot.waitSignal(c.worker.modelLoaded, timeout=30_000) as sig:
        dialog.accept()
    assert sig.args[0].lookahead_ms == report.spec.lookaheads_ms()[-1]
    assert c.settings.model_dir == str(other_model_dir) and c.settings.provider == "cpu"
    assert c.window.model_detail.text().startswith(f"{report.spec.lookaheads_ms()[-1]} ms")


def test_overlay_preview_and_cancel_reverts(qtbot: QtBot, controller_factory) -> None:  # type: ignore[no-untyped-def]
    c: CaptionerController = controller_factory()
    before = c.overlay.height()
    dialog = c.open_settings()
    dialog.overlay_page.lines.setValue(4)
    assert c.overlay.height() > before  # previewed live
    dialog.reject()
    assert c.overlay.height() == before
    assert c.settings.overlay.lines == 2


def test_a_model_check_that_outlives_its_dialog_is_dropped(qtbot: QtBot, model_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QObject

    from captioner.app import model_check
    from captioner.app.model_check import ModelChecker

    released = threading.Event()
    gave_up: list[bool] = []
    real_inspect = model_check.inspect_model_folder

    def slow_inspect(path: Path) -> object:  # a large model: the check takes as long as the test says
        gave_up.append(not released.wait(timeout=5))
        return real_inspect(path)

    monkeypatch.setattr(model_check, "inspect_model_folder", slow_inspect)
    answers: list[str] = []
    kept = ModelChecker()
    kept.checked.connect(lambda path, _report: answers.append(path))
    dialog = QObject()
    closing = ModelChecker(dialog)
    closing.checked.connect(lambda path, _report: answers.append("late " + path))
    closing.check(str(model_dir))
    kept.check(str(model_dir))
    shiboken6.delete(dialog)  # the dialog goes away while its check still runs ...
    assert gave_up == [], "... and closing it did not wait for the check to finish"
    released.set()
    qtbot.waitUntil(lambda: answers == [str(model_dir)], timeout=30_000)
    assert kept.wait(30_000), "both checks have finished"
    QCoreApplication.sendPostedEvents()  # and whatever they sent has been delivered
    assert answers == [str(model_dir)] and gave_up == [False, False]


def test_ok_without_changes_reloads_nothing(qtbot: QtBot, controller_factory, model_dir: Path,  # type: ignore[no-untyped-def]
                                           tmp_path: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=30_000)
    assert c.settings.lookahead_ms is None
    dialog = c.open_settings()
    _wait_verdict(qtbot, dialog)
    with qtbot.assertNotEmitted(c.worker.modelLoaded):
        dialog.accept()
        failures = round_trip(qtbot, c.worker, nowhere(c, tmp_path))  # a reload the accept asked for comes before
    assert len(failures) == 1, failures
    assert c.settings.lookahead_ms is None, "still the live default, not a pinned 480 ms"


def test_ok_is_available_at_once_for_the_running_model(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                        model_dir: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=30_000)
    dialog = c.open_settings()
    page = dialog.model_page
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled(), "no wait for a verdict on the model that is already running"
    assert page.model_usable()
    _wait_verdict(qtbot, dialog)
    assert ok.isEnabled() and page.model_usable()
