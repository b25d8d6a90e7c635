"""The system-wide shortcuts on X11 (Ctrl+Shift+L leaves click-through, Ctrl+Alt+Space starts and pauses):
pressed with the focus anywhere, they reach Captioner.

A private Xvfb server and xdotool (which types through the XTEST extension, as a keyboard would);
skipped where either is missing (CI installs both).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from captioner.app.controller import LEAVE_CLICK_THROUGH, START_PAUSE, CaptionerController
from captioner.app.global_hotkey import GlobalHotkey, parse_shortcut, system_wide_shortcut

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def xserver(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if not shutil.which("Xvfb") or not shutil.which("xdotool"):
        pytest.skip("Xvfb and xdotool are needed")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        display = ":" + f.readline().strip()
    monkeypatch.setenv("DISPLAY", display)
    yield display
    proc.terminate()
    proc.wait(timeout=10)


def press(keys: str) -> None:
    subprocess.run(["xdotool", "key", keys], check=True, timeout=10)


def test_the_shortcut_arrives_whatever_has_the_focus(qtbot: QtBot, xserver: str) -> None:
    hotkey = GlobalHotkey("Ctrl+Shift+L")
    assert hotkey.start() is None
    try:
        with qtbot.waitSignal(hotkey.activated, timeout=5000):
            press("ctrl+shift+l")
        press("Caps_Lock")  # with Caps Lock on it must still work
        with qtbot.waitSignal(hotkey.activated, timeout=5000):
            press("ctrl+shift+l")
        press("Caps_Lock")
        # Another combination is not ours: another application can hold Ctrl+L (ours would refuse it), and
        # a press goes to that one alone; ours stays silent until the other's signal has been delivered.
        other = GlobalHotkey("Ctrl+L")
        assert other.start() is None
        try:
            with qtbot.assertNotEmitted(hotkey.activated), qtbot.waitSignal(other.activated, timeout=5000):
                press("ctrl+l")
        finally:
            other.stop()
    finally:
        hotkey.stop()


def test_a_shortcut_another_application_holds_is_reported(qtbot: QtBot, xserver: str) -> None:
    first, second = GlobalHotkey("Ctrl+Shift+L"), GlobalHotkey("Ctrl+Shift+L")
    assert first.start() is None
    try:
        assert second.start() == "Ctrl+Shift+L is already taken by another application"
        with qtbot.waitSignal(first.activated, timeout=5000):  # the holder keeps working
            press("ctrl+shift+l")
    finally:
        first.stop()
        second.stop()
    again = GlobalHotkey("Ctrl+Shift+L")  # released on stop: free for the next one
    assert again.start() is None
    again.stop()


def test_without_x11_the_note_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    assert "Wayland" in (GlobalHotkey("Ctrl+Shift+L").start() or "")
    hotkey, note = system_wide_shortcut("Ctrl+Shift+L", "wayland")
    assert hotkey is None and "need X11" in note


def test_parse_shortcut() -> None:
    assert parse_shortcut("Ctrl+Shift+L") == (1 << 2 | 1, "l")
    assert parse_shortcut("Alt+F5") == (1 << 3, "F5")
    with pytest.raises(ValueError, match="unknown modifier"):
        parse_shortcut("Hyper+L")


def test_the_app_on_x11_reports_the_system_wide_shortcut(xserver: str, tmp_path: Path, model_dir: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xserver}
    proc = subprocess.run([sys.executable, "-m", "captioner", "--smoke-test", "--settings", str(tmp_path / "s.ini"),
                           "--model", str(model_dir)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env, check=False)
    report = json.loads(proc.stdout)
    assert report["qt"]["platform"] == "xcb"
    assert report["window"]["leave_click_through"] == {"system_wide": True,
                                                       "note": "Ctrl+Shift+L works system-wide"}


def test_the_start_pause_key_arrives_whatever_has_the_focus(qtbot: QtBot, xserver: str) -> None:
    """Ctrl+Alt+Space beside Ctrl+Shift+L: each grab hears its own combination only ("Space" is Qt's
    spelling; the X keysym is "space")."""
    start_pause, leave = GlobalHotkey(START_PAUSE), GlobalHotkey(LEAVE_CLICK_THROUGH)
    assert start_pause.start() is None and leave.start() is None
    try:
        with qtbot.assertNotEmitted(leave.activated), qtbot.waitSignal(start_pause.activated, timeout=5000):
            press("ctrl+alt+space")
        press("Num_Lock")  # with Num Lock on it must still work
        with qtbot.assertNotEmitted(leave.activated), qtbot.waitSignal(start_pause.activated, timeout=5000):
            press("ctrl+alt+space")
        press("Num_Lock")
        with qtbot.assertNotEmitted(start_pause.activated), qtbot.waitSignal(leave.activated, timeout=5000):
            press("ctrl+shift+l")
    finally:
        start_pause.stop()
        leave.stop()


def test_the_app_starts_and_pauses_from_any_window(qtbot: QtBot, xserver: str, monkeypatch: pytest.MonkeyPatch,
                                                   controller_factory, model_dir: Path,  # type: ignore[no-untyped-def]
                                                   speech_wav: Path) -> None:
    """The controller's grab on a real X server (Qt itself on the offscreen platform, so nothing in the app
    has the keyboard focus): the key starts, pauses and resumes, and every place that names it says so."""
    from captioner.app import controller as controller_module

    real = controller_module.system_wide_shortcut
    monkeypatch.setattr(controller_module, "system_wide_shortcut",
                        lambda key, platform, parent=None: real(key, "xcb", parent))
    c: CaptionerController = controller_factory("--model", str(model_dir), "--input-file", str(speech_wav),
                                                "--speed", "0.05")  # 60 s of audio: still running when paused
    assert c.start_hotkey is not None and c.hotkey is not None
    assert "Ctrl+Alt+Space from any window" in c.window.start_btn.toolTip()
    assert c.tray.start_act.text().endswith("\tCtrl+Alt+Space")
    qtbot.waitUntil(lambda: c.state == "running", timeout=30_000)  # an input file starts by itself
    assert c.overlay.status_text() in ("Listening…", "")
    press("ctrl+alt+space")
    qtbot.waitUntil(lambda: c.state == "paused", timeout=10_000)
    c.overlay.clear()
    assert c.overlay.status_text() == "Paused — press Ctrl+Alt+Space to resume"
    press("ctrl+alt+space")
    qtbot.waitUntil(lambda: c.state == "running", timeout=10_000)
