"""The user's word replacements and profanity mask reach every place a caption is shown or saved."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.settings import AppSettings, save_settings
from captioner.asr.segmenter import Segment
from captioner.formats import TranscriptFormat, render
from captioner.text_rules import Replacement


def test_replacements_and_mask_apply_everywhere_and_json_keeps_what_was_heard(  # type: ignore[no-untyped-def]
        qtbot: QtBot, controller_factory, settings_file: Path, model_dir: Path) -> None:
    save_settings(AppSettings(model_dir=str(model_dir), word_rules="cooper netties => Kubernetes\n",
                              mask_profanity=True), QSettings(str(settings_file), QSettings.Format.IniFormat))
    c: CaptionerController = controller_factory()
    c._new_session()  # a session as Start begins it (autosave opened), without a device
    c._on_tentative("the cooper netties", "")
    assert c.overlay.displayed_text() == "the Kubernetes"
    c._on_segment(Segment("we moved cooper netties to the new shit cluster", 0.0, 3.0))
    [shown] = c.window.transcript.segments()
    assert shown.text == "we moved Kubernetes to the new s*** cluster"
    assert shown.heard == "we moved cooper netties to the new shit cluster"
    assert c.overlay.committed_text() == shown.text
    assert "Kubernetes" in c.window.transcript.plain_text()
    data = json.loads(render([shown], TranscriptFormat.JSON))
    assert data["segments"][0]["text"] == shown.text and data["segments"][0]["heard"] == shown.heard
    assert "shit" not in render([shown], TranscriptFormat.SRT)
    assert c.session is not None
    c.session.sync()
    saved = c.session.txt_path.read_text(encoding="utf-8")
    assert "Kubernetes" in saved and "shit" not in saved


def test_rules_edited_in_settings_take_effect_on_ok(qtbot: QtBot, controller_factory, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    c: CaptionerController = controller_factory("--model", str(model_dir))
    assert not c.text_rules.active
    dialog = c.open_settings()
    dialog.words_page.load((Replacement("a p i", "API"),), False)
    dialog.accept()
    assert c.settings.word_rules.strip() == "a p i => API"
    c._on_segment(Segment("the a p i is ready", 0.0, 1.0))
    assert c.window.transcript.segments()[-1].text == "the API is ready"
