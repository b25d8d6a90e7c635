"""Session autosave: every line reaches the file at once; fsync is batched off the per-line path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from captioner.app import autosave
from captioner.app.autosave import SessionLog
from captioner.asr.segmenter import Segment


def test_lines_are_readable_at_once_and_synced_within_a_second(qtbot: QtBot, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # the real fsync, counted
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(autosave.os, "fsync", fsync)
    log = SessionLog(tmp_path)
    for i in range(20):
        log.tentative(f"open {i}")
        log.add(Segment(f"line {i}", i, i + 0.5))
        with log.txt_path.open(encoding="utf-8") as other:  # another handle sees it at once
            assert other.read().splitlines()[-1] == f"[00:00:{i:02d}] line {i}"
        with log.jsonl_path.open(encoding="utf-8") as other:
            records = [json.loads(line) for line in other.read().splitlines()]
            assert records[-1] == {"start": i, "end": i + 0.5, "text": f"line {i}", "gap": False}
    assert synced == [], "no fsync on the GUI thread per line"
    qtbot.waitUntil(lambda: len(synced) == 2, timeout=int(autosave.SYNC_EVERY_S * 1000) + 1000)
    qtbot.wait(int(autosave.SYNC_EVERY_S * 1000) + 200)
    assert len(synced) == 2, "nothing new written: no more fsyncs"

    log.add(Segment("last words", 30, 31))
    log.close()
    assert len(synced) == 4, "close syncs both files"
    log.close()  # safe twice
    assert (tmp_path / log.txt_path.name).read_text(encoding="utf-8").endswith("[00:00:30] last words\n")
