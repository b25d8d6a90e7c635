"""A session that did not end cleanly is offered at the next start; a clean end is recorded and never offered."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pytestqt.qtbot import QtBot

from captioner.app.autosave import SessionLog, find_interrupted
from captioner.app.controller import CaptionerController
from captioner.asr.segmenter import Segment
from captioner.paths import sessions_dir


def test_clean_end_is_recorded(tmp_path: Path, qapp: object) -> None:
    log = SessionLog(tmp_path, datetime(2026, 12, 2, 10, 0, 0))
    log.add(Segment("hello", 0.0, 1.0))
    assert find_interrupted(tmp_path) is not None  # still open: as a crash would leave it
    log.close()
    records = [json.loads(line) for line in log.jsonl_path.read_text().splitlines()]
    assert "ended" in records[-1] and records[-1]["session_id"] == log.session_id
    assert find_interrupted(tmp_path) is None


def test_the_next_start_offers_the_interrupted_session(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                       model_dir: Path) -> None:
    crashed = SessionLog(sessions_dir(), datetime(2026, 12, 2, 9, 15, 0))
    for i in range(3):
        crashed.add(Segment(f"line {i}", i, i + 0.5))
    crashed._txt.close(), crashed._jsonl.close()  # the process died: no clean end was written
    c: CaptionerController = controller_factory("--model", str(model_dir))
    window = c.window
    assert window.recovery_notice.isVisibleTo(window)
    text = window.recovery_text.text()
    assert "2026-12-02 09:15:00" in text and "3 caption lines" in text and str(crashed.txt_path) in text
    window.dismiss_recovered_btn.click()
    assert not window.recovery_notice.isVisibleTo(window)
    assert find_interrupted(sessions_dir()) is None  # acknowledged: not offered again
    assert crashed.txt_path.read_text().count("line") == 3, "the transcript itself is untouched"
