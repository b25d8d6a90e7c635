"""Main-window widgets: controls follow the state, transcript search/copy, export, level meter."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication, QTextCursor, QTextDocument
from pytestqt.qtbot import QtBot

from captioner.app.export_dialog import export_to
from captioner.app.level_meter import FLOOR_DB, LevelMeter
from captioner.app.main_window import MainWindow
from captioner.app.worker import Stats
from captioner.asr.segmenter import Segment
from captioner.formats import TranscriptFormat, to_text
from captioner.live.model_loading import ModelInfo

INFO = ModelInfo("tiny", "/m/tiny", "rnnt", 80, (80, 480), ("rnnt", "ctc"), "CPUExecutionProvider")
SEGMENTS = [Segment("hello there", 0.5, 1.6), Segment("[2.0 s skipped to catch up]", 1.6, 3.6, gap=True),
            Segment("general kenobi", 3.7, 65.2)]


def _window(qtbot: QtBot) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    return w


def test_buttons_follow_state(qtbot: QtBot) -> None:
    w = _window(qtbot)
    assert not w.start_btn.isEnabled()  # no model yet
    w.set_model(INFO)
    assert "80 ms lookahead" in w.model_detail.text() and "CPU" in w.model_detail.text()
    w.set_state("monitoring")
    assert w.start_btn.isEnabled() and not w.pause_btn.isEnabled() and not w.stop_btn.isEnabled()
    w.set_state("running")
    assert not w.start_btn.isEnabled() and w.pause_btn.isEnabled() and w.stop_btn.isEnabled()
    w.set_state("paused")
    assert w.start_btn.text() == "&Resume" and w.start_btn.isEnabled() and w.stop_btn.isEnabled()
    assert "Paused" in w.state_pill.text()


def test_keys_work_in_every_state(qtbot: QtBot) -> None:
    """Ctrl+R, Ctrl+P, Ctrl+Shift+S and Ctrl+, act whenever their button would, through every transition."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    w = _window(qtbot)
    w.set_model(INFO)
    with qtbot.waitActive(w):
        w.activateWindow()
    keys = {"start": (Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier),
            "pause": (Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier),
            "stop": (Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
            "settings": (Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)}
    signals = {"start": w.startRequested, "pause": w.pauseRequested, "stop": w.stopRequested,
               "settings": w.settingsRequested}
    heard: list[str] = []
    for name, signal in signals.items():
        signal.connect(lambda n=name: heard.append(n))
    allowed = {"monitoring": {"start", "settings"}, "running": {"pause", "stop", "settings"},
               "paused": {"start", "stop", "settings"}, "idle": {"start", "settings"}}
    for state in ("monitoring", "running", "paused", "running", "paused", "idle", "monitoring"):
        w.set_state(state)
        for name, (key, modifiers) in keys.items():
            heard.clear()
            QTest.keyClick(w, key, modifiers)
            assert heard == ([name] if name in allowed[state] else []), (state, name)


def test_transcript_timestamps_search_and_copy(qtbot: QtBot) -> None:
    w = _window(qtbot)
    for s in SEGMENTS:
        w.transcript.add_segment(s)
    text = w.transcript.text.toPlainText()
    assert "[00:00:00]  hello there" in text and "[00:00:03]  general kenobi" in text
    assert w.transcript.plain_text() == "hello there general kenobi"
    w.transcript.search.setText("kenobi")
    assert w.transcript.matches.text() == "1 found"
    assert w.transcript.find_match(True)
    assert w.transcript.text.textCursor().selectedText() == "kenobi"
    w.transcript.copy_all()
    assert QGuiApplication.clipboard().text().splitlines()[0] == "[00:00:00] hello there"


def test_stats_and_messages(qtbot: QtBot) -> None:
    w = _window(qtbot)
    w.set_stats(Stats(0.123, 0.456, "CPUExecutionProvider", 1.5, 0.0, 10.0))
    assert "RTF 0.12" in w.stats_label.text() and "latency 0.46 s" in w.stats_label.text()
    assert "dropped 1.5 s" in w.stats_label.text()
    w.show_message("Device gone", 0)
    assert w.banner.isVisible() and w.banner.text() == "Device gone"


def test_level_meter_rises_and_falls(qtbot: QtBot) -> None:
    m = LevelMeter()
    qtbot.addWidget(m)
    m.set_level(-6.0)
    assert m.level_db == -6.0
    m.set_level(-200.0)
    assert FLOOR_DB < m.level_db <= -6.0  # falls smoothly, not instantly
    m.reset()
    assert m.level_db == FLOOR_DB


def test_export_all_formats(tmp_path: Path) -> None:
    txt = export_to(tmp_path / "a.txt", SEGMENTS, TranscriptFormat.TEXT).read_text()
    assert txt.splitlines()[0] == "hello there"
    srt = export_to(tmp_path / "a.srt", SEGMENTS, TranscriptFormat.SRT).read_text()
    assert "00:00:03,700 --> 00:01:05,200\ngeneral kenobi" in srt
    vtt = export_to(tmp_path / "a.vtt", SEGMENTS, TranscriptFormat.VTT).read_text()
    assert vtt.startswith("WEBVTT") and "00:00:00.500 --> 00:00:01.600" in vtt
    data = json.loads(export_to(tmp_path / "a.json", SEGMENTS, TranscriptFormat.JSON, model="tiny").read_text())
    assert data["text"] == "hello there general kenobi" and data["model"] == "tiny"
    assert [s["gap"] for s in data["segments"]] == [False, True, False]


def test_search_highlights_follow_appended_lines(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """An appended line is searched on its own, not the whole transcript, and highlights stay right."""
    t = _window(qtbot).transcript
    t.add_segment(Segment("kenobi was here first", 0.0, 1.0))
    t.search.setText("kenobi")
    for i in range(1, 200):
        t.add_segment(Segment(f"line {i}: general kenobi" if i % 2 else f"line {i}: nothing", i, i + 1))
    searched: list[int] = []
    real_find = QTextDocument.find

    def find(doc: QTextDocument, *args: object) -> QTextCursor:  # the real find, counted
        searched.append(1)
        return real_find(doc, *args)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(QTextDocument, "find", find)
    t.add_segment(Segment("Kenobi, kenobi!", 200, 201))
    assert len(searched) <= 3, "only the new line is searched"
    monkeypatch.undo()

    shown = [(s.cursor.selectionStart(), s.cursor.selectedText()) for s in t.text.extraSelections()]
    assert t.matches.text() == f"{len(shown)} found" == "103 found"
    assert [m for m in shown if m[1].lower() != "kenobi"] == []
    t.search.setText("")
    assert t.text.extraSelections() == [] and t.matches.text() == ""
    t.search.setText("kenobi")  # a fresh search of the whole transcript finds the same matches
    assert [(s.cursor.selectionStart(), s.cursor.selectedText()) for s in t.text.extraSelections()] == shown
    t.clear()
    assert t.text.extraSelections() == [] and t.matches.text() == "0 found"
    t.add_segment(Segment("kenobi again", 0.0, 1.0))
    assert t.matches.text() == "1 found"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (ENOSPC on every write)")
def test_export_to_a_full_disk_keeps_the_old_file_and_says_why(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from captioner.app import export_dialog
    from captioner.app.export_dialog import TranscriptExportError
    from captioner.private_files import new_temporary_beside

    def on_a_full_disk(path: Path) -> tuple[int, Path]:
        fd, partial = new_temporary_beside(path)
        full = os.open("/dev/full", os.O_WRONLY)  # the kernel answers ENOSPC to every write
        os.dup2(full, fd)
        os.close(full)
        return fd, partial

    target = tmp_path / "meeting.txt"
    target.write_text("yesterday's export\n")
    monkeypatch.setattr(export_dialog, "new_temporary_beside", on_a_full_disk)
    with pytest.raises(TranscriptExportError,
                       match=r"Could not save .*meeting\.txt: No space left on device\. Free some space"):
        export_to(target, SEGMENTS, TranscriptFormat.TEXT)
    assert target.read_text() == "yesterday's export\n", "all or nothing: the old file is untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meeting.txt"], "no partial file left behind"
    monkeypatch.undo()
    assert export_to(target, SEGMENTS, TranscriptFormat.TEXT).read_text() == to_text(SEGMENTS)  # room again: it works
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meeting.txt"]


def test_export_into_a_missing_folder_says_why(tmp_path: Path) -> None:
    from captioner.app.export_dialog import TranscriptExportError

    with pytest.raises(TranscriptExportError, match="No such file or directory"):
        export_to(tmp_path / "gone" / "a.srt", SEGMENTS, TranscriptFormat.SRT)


def test_click_through_toggle_sits_in_the_window_and_names_its_key(qtbot: QtBot) -> None:
    """Click-through can be switched on and off without a tray (GNOME has none by default)."""
    w = _window(qtbot)
    button = w.click_through_btn
    assert button.isCheckable() and button.isVisible()
    assert "Ctrl+Shift+L" in button.toolTip() and "while a Captioner window has the focus" in button.toolTip()
    with qtbot.waitSignal(w.clickThroughToggled) as sig:
        button.click()
    assert sig.args == [True]
    with qtbot.assertNotEmitted(w.clickThroughToggled):
        w.set_click_through(False)  # the overlay's state shown, not asked for again
    assert not button.isChecked()
    w.set_global_keys("Ctrl+Alt+Space", click_through_system_wide=True)
    assert "from any window" in button.toolTip()
    w.set_model(INFO)
    w.set_state("monitoring")
    assert w.start_btn.toolTip() == "Start captioning (Ctrl+R; Ctrl+Alt+Space from any window)"
    assert "Ctrl+Alt+Space from any window" in w.pause_btn.toolTip()


def test_keyboard_focus_is_visible_on_every_control(qtbot: QtBot) -> None:
    """Each control Tab reaches draws differently with the focus: the theme's 2 px ring."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QWidget

    from captioner.app.theme import FOCUS_STYLESHEET, STYLESHEET
    from captioner.audio.devices import SourceInfo

    w = _window(qtbot)
    w.setStyleSheet(STYLESHEET + FOCUS_STYLESHEET)  # the app's sheet (apply_theme), kept to this window
    w.set_model(INFO)
    w.set_state("monitoring")
    w.set_sources([SourceInfo("default", "Default microphone", "default", 0),
                   SourceInfo("system:x.monitor", "System audio — Speakers", "system", 0, "x.monitor")], "default")
    w.transcript.add_segment(SEGMENTS[0])
    with qtbot.waitActive(w):
        w.activateWindow()
    focusable = [c for c in w.findChildren(QWidget) if c.isVisible() and c.isEnabled()
                 and c.focusPolicy() & Qt.FocusPolicy.TabFocus and c.focusProxy() is None]
    names = {c.text().replace("&", "") for c in focusable if hasattr(c, "text") and isinstance(c.text(), str)}
    assert {"Start", "Export", "↑", "↓", "Copy all", "Overlay", "Click-through", "Settings…"} <= names
    for control in focusable:
        elsewhere = focusable[0] if control is not focusable[0] else focusable[-1]
        elsewhere.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(elsewhere.hasFocus)
        unfocused = control.grab().toImage()
        control.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(control.hasFocus)
        focused = control.grab().toImage()
        assert focused != unfocused, f"{type(control).__name__} {control.objectName()!r}"
        border = {focused.pixelColor(x, focused.height() // 2).name() for x in range(3)}
        assert border & {"#1d4ed8", "#0f172a"}, (type(control).__name__, border)
