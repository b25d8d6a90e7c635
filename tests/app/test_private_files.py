"""What was said stays the user's: private modes, exclusive session files, no writing through planted links."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSettings

from captioner.app.autosave import SessionLog
from captioner.app.export_dialog import export_to
from captioner.app.settings import AppSettings, save_settings
from captioner.asr.segmenter import Segment
from captioner.formats import TranscriptFormat


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_session_files_are_private_and_exclusive(tmp_path: Path, qapp: object) -> None:
    folder = tmp_path / "sessions"
    started = datetime(2026, 12, 2, 9, 30, 4)
    first = SessionLog(folder, started)
    second = SessionLog(folder, started)  # another Captioner, the same second
    assert first.txt_path != second.txt_path and second.txt_path.name == "2026-12-02_09-30-04-2.txt"
    for log, words in ((first, "from the first"), (second, "from the second")):
        log.add(Segment(words, 1.0, 2.0))
        log.close()
    assert mode(folder) == 0o700
    for path in (first.txt_path, first.jsonl_path, second.txt_path, second.jsonl_path):
        assert mode(path) == 0o600, path
    assert "from the second" not in first.txt_path.read_text()
    records = [json.loads(line) for line in first.jsonl_path.read_text().splitlines()]
    assert {r["session_id"] for r in records} == {first.session_id} != {second.session_id}


def test_export_does_not_write_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "captions.srt"
    (tmp_path / f".{target.name}.partial").symlink_to(victim)
    export_to(target, [Segment("hello there", 0.0, 1.5)], TranscriptFormat.SRT)
    assert victim.read_text() == "precious"
    assert "hello there" in target.read_text() and mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".captions.srt.partial", "captions.srt", "victim.txt"]


def test_settings_file_is_private(tmp_path: Path) -> None:
    ini = tmp_path / "config" / "captioner.ini"
    save_settings(AppSettings(model_dir="/models/x"), QSettings(str(ini), QSettings.Format.IniFormat))
    assert mode(ini) == 0o600 and mode(ini.parent) == 0o700
