"""First run: on the bundled demo model the main window says what it is and leads to the real models."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.settings_dialog import SettingsDialog
from captioner.paths import DEFAULT_MODEL_NAME, bundled_models_dirs

DEMO = next(d / DEFAULT_MODEL_NAME for d in bundled_models_dirs() if (d / DEFAULT_MODEL_NAME).is_dir())


def test_demo_notice_leads_to_models_and_can_be_dismissed(qtbot: QtBot, controller_factory) -> None:  # type: ignore[no-untyped-def]
    c: CaptionerController = controller_factory("--model", str(DEMO))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=60_000)
    window = c.window
    assert window.demo_notice.isVisibleTo(window)
    assert "demo model" in window.demo_text.text() and "NVIDIA" in window.demo_text.text()
    window.real_models_btn.click()
    dialogs = window.findChildren(SettingsDialog)
    assert len(dialogs) == 1 and dialogs[0].tabs.currentWidget() is dialogs[0].models_page
    dialogs[0].reject()
    window.dismiss_demo_btn.click()
    assert not window.demo_notice.isVisibleTo(window) and c.settings.demo_notice_dismissed


def test_notice_stays_away_for_other_models_and_after_dismissal(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                                model_dir: Path) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    qtbot.waitUntil(lambda: c.model_info is not None, timeout=60_000)
    assert not c.window.demo_notice.isVisibleTo(c.window)
    c.settings.demo_notice_dismissed = True
    c.settings.model_dir = str(DEMO)
    c.reload_model()
    qtbot.waitUntil(lambda: c.model_info is not None and Path(c.model_info.path) == DEMO, timeout=60_000)
    assert not c.window.demo_notice.isVisibleTo(c.window)
