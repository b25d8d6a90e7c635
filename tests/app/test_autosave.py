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
            assert records[-1] == {"start": i, "end": i + 0.5, "text": f"line {i}", "gap": False,
                                   "session_id": log.session_id}
    assert synced == [], "no fsync on the GUI thread per line"
    qtbot.waitUntil(lambda: len(synced) == 2, timeout=int(autosave.SYNC_EVERY_S * 1000) + 1000)
    # Nothing new written: no more fsyncs. Timers are the only way one comes without a call, and none is set.
    assert not log._sync_timer.isActive() and not log._retry_timer.isActive(), "nothing new written: no more fsyncs"
    assert len(synced) == 2

    log.add(Segment("last words", 30, 31))
    log.close()
    assert len(synced) == 4, "close syncs both files"
    log.close()  # safe twice
    assert (tmp_path / log.txt_path.name).read_text(encoding="utf-8").endswith("[00:00:30] last words\n")


def fill_disk(log: SessionLog) -> None:
    """From now on the session's files sit on a full disk: /dev/full (ENOSPC on every write) behind them."""
    for f in (log._txt, log._jsonl):
        fd = os.open("/dev/full", os.O_WRONLY)
        os.dup2(fd, f.fileno())
        os.close(fd)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (ENOSPC on every write)")
def test_a_full_disk_pauses_autosave_and_loses_no_line(qtbot: QtBot, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The session files sit on a full disk (/dev/full: the kernel answers ENOSPC), then space is freed."""
    monkeypatch.setattr(autosave, "RETRY_EVERY_S", 0.2)
    told: list[tuple[str, bool]] = []
    from datetime import datetime

    log = SessionLog(tmp_path, datetime(2026, 1, 2, 3, 4, 5), on_problem=lambda m, r: told.append((m, r)))
    fill_disk(log)
    for i in range(3):
        log.add(Segment(f"line {i}", i, i + 0.5))
    assert log.failing == "No space left on device" and log.pending_bytes > 0
    assert len(told) == 1 and not told[0][1] and "Autosave paused: No space left on device" in told[0][0]

    # Space is freed: the same open files now reach real files (dup2 swaps what the descriptors point at).
    for f, name in ((log._txt, "real.txt"), (log._jsonl, "real.jsonl")):
        fd = os.open(tmp_path / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.dup2(fd, f.fileno())
        os.close(fd)
    qtbot.waitUntil(lambda: log.failing is None, timeout=3000)  # the retry timer, no new line needed
    assert told[-1][1] and told[-1][0].startswith("Autosave resumed")
    log.add(Segment("line 3", 3, 3.5))
    log.close()
    txt = (tmp_path / "real.txt").read_text(encoding="utf-8").splitlines()
    assert txt == [f"[00:00:0{i}] line {i}" for i in range(4)], "every line once, in order"
    records = [json.loads(line) for line in (tmp_path / "real.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records if "text" in r] == [f"line {i}" for i in range(4)]
    assert "ended" in records[-1] and {r["session_id"] for r in records} == {log.session_id}
    header = json.loads(log.jsonl_path.read_text(encoding="utf-8").splitlines()[0])  # before the disk filled
    assert header == {"session": "2026-01-02T03:04:05", "session_id": log.session_id}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (ENOSPC on every write)")
def test_a_disk_still_full_at_close_says_what_to_do(qtbot: QtBot, tmp_path: Path) -> None:
    from datetime import datetime

    told: list[str] = []
    log = SessionLog(tmp_path, datetime(2026, 1, 2, 3, 4, 5), on_problem=lambda m, r: told.append(m))
    fill_disk(log)
    log.add(Segment("lost from the file, kept in the window", 0, 1))
    log.close()  # must not raise
    assert log.closed and "Use Export" in told[-1]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (ENOSPC on every write)")
def test_the_window_says_autosave_paused_and_keeps_every_caption(qtbot: QtBot, controller_factory,  # type: ignore[no-untyped-def]
                                                                 model_dir: Path, speech_wav: Path) -> None:
    from captioner.app.controller import CaptionerController

    c: CaptionerController = controller_factory("--model", str(model_dir), "--input-file", str(speech_wav))
    qtbot.waitUntil(lambda: c.session is not None, timeout=30_000)
    session = c.session
    assert session is not None
    full = os.open("/dev/full", os.O_WRONLY)
    for f in (session._txt, session._jsonl):  # the disk fills up mid-meeting
        os.dup2(full, f.fileno())
    os.close(full)
    with qtbot.waitSignal(c.sessionFinished, timeout=60_000):
        pass
    assert session.closed
    assert c.window.banner.isVisible() and "Use Export" in c.window.banner.text()
    assert c.window.transcript.plain_text(), "the captions are all still in the window, ready to export"
