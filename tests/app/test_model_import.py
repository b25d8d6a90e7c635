"""Settings → "Import a .nemo file…": a real import on a worker thread, progress, Cancel, and the result checked."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.model_manager.store import free_folder_name
from tests.app.test_settings_dialog import _wait_verdict
from tests.conftest import FIXTURES

TINY_A_NEMO = FIXTURES / "seed" / "tiny-a" / "tiny-a.nemo"


def test_import_shows_progress_then_checks_the_new_folder(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                          model_dir: Path, tmp_path: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=30_000)
    dialog = c.open_settings()
    page = dialog.model_page
    steps: list[tuple[int, int, str]] = []
    page.importer.progress.connect(lambda step, total, stage: steps.append((step, total, stage)))
    with qtbot.waitSignal(page.importer.succeeded, timeout=120_000) as done:
        target = page.start_import(TINY_A_NEMO, tmp_path / "models")
        assert not page.import_button.isEnabled() and page.import_row.isVisible()
    assert done.args == [str(target)] and target == tmp_path / "models" / "tiny-a"
    assert [s[0] for s in steps] == list(range(1, steps[0][1] + 1)) and steps[0][2] == "Reading the weights"
    assert page.import_button.isEnabled() and not page.import_row.isVisible()
    assert page.folder.text() == str(target)
    _wait_verdict(qtbot, dialog)
    assert page.model_usable(), page.verdict.text()
    assert [page.lookahead.itemData(i) for i in range(page.lookahead.count())] == [1040, 480, 80, 0]
    assert not page.language.isVisibleTo(dialog)  # tiny-a has no language prompt
    dialog.accept()
    qtbot.waitUntil(lambda: c.model_info is not None and Path(c.model_info.path) == target, timeout=30_000)


def test_cancel_leaves_nothing(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                               model_dir: Path, tmp_path: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    dialog = c.open_settings()
    page = dialog.model_page
    models = tmp_path / "models"
    with qtbot.waitSignal(page.importer.cancelled, timeout=120_000):
        page.start_import(TINY_A_NEMO, models)
        page.import_cancel.click()
    assert page.import_status.text() == "Import cancelled; nothing was written."
    assert list(models.iterdir()) == []
    assert page.import_button.isEnabled()
    dialog.reject()


def test_a_broken_file_says_why(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                model_dir: Path, tmp_path: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    dialog = c.open_settings()
    page = dialog.model_page
    broken = tmp_path / "broken.nemo"
    broken.write_bytes(TINY_A_NEMO.read_bytes()[:5000])
    with qtbot.waitSignal(page.importer.failed, timeout=120_000) as failed:
        page.start_import(broken, tmp_path / "models")
    assert "broken.nemo" in failed.args[0]
    assert page.import_status.text().startswith("Import failed: ")
    assert not (tmp_path / "models" / "broken").exists()
    dialog.reject()


def test_free_folder_name(tmp_path: Path) -> None:
    assert free_folder_name(tmp_path, "m") == tmp_path / "m"
    (tmp_path / "m").mkdir()
    (tmp_path / "m-2").mkdir()
    assert free_folder_name(tmp_path, "m") == tmp_path / "m-3"
