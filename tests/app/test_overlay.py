"""The caption overlay: line wrapping, tentative styling, click-through, geometry and style changes, what it
shows with no words, and its right-click menu."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QAction, QColor, QContextMenuEvent, QImage
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from captioner.app.caption_layout import Word, to_words, wrap_tail
from captioner.app.overlay import CaptionOverlay, click_through_hint
from captioner.app.settings import OverlayStyle


def test_wrap_keeps_last_lines_and_word_kinds() -> None:
    words = to_words("one two three four five", "six seven")
    lines = wrap_tail(words, max_width=9, lines=2, width_of=lambda w: len(w.text), space=1)
    assert [[w.text for w in line] for line in lines] == [["four", "five"], ["six", "seven"]]
    assert lines[-1] == [Word("six", False), Word("seven", True)]  # only the last word may still grow
    assert not lines[0][0].tentative


def test_wrap_never_splits_a_long_word() -> None:
    lines = wrap_tail(to_words("supercalifragilistic a", ""), 5, 3, lambda w: len(w.text), 1)
    assert [[w.text for w in line] for line in lines] == [["supercalifragilistic"], ["a"]]


def _overlay(qtbot: QtBot, **style: object) -> CaptionOverlay:
    ov = CaptionOverlay(OverlayStyle(**style))  # type: ignore[arg-type]
    qtbot.addWidget(ov)
    ov.resize(600, ov.height_for_lines())
    ov.show()
    qtbot.waitExposed(ov)
    return ov


def test_window_flags_for_an_overlay(qtbot: QtBot) -> None:
    ov = _overlay(qtbot)
    flags = ov.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert ov.testAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)


def test_shows_only_the_last_n_lines(qtbot: QtBot) -> None:
    ov = _overlay(qtbot, lines=2, font_size=24)
    for i in range(40):
        ov.add_committed(f"segment number {i} has words")
    ov.set_tentative("still changing")
    shown = ov.displayed_text()
    assert shown.endswith("still changing")
    assert "segment number 0 " not in shown
    assert len(ov._layout()) == 2
    assert ov.committed_text().startswith("segment number 0 has words segment number 1")


def test_tentative_is_drawn_in_its_own_colour(qtbot: QtBot) -> None:
    ov = _overlay(qtbot, lines=1, font_size=30, outline=False, text_color="#ff0000", tentative_color="#00ff00",
                  background_opacity=0.0)
    ov.add_committed("MMMM")
    ov.set_tentative("WWWW")
    img: QImage = ov.grab().toImage()
    colours = {img.pixelColor(x, y).name() for x in range(img.width()) for y in range(0, img.height(), 2)}
    assert "#ff0000" in colours and "#00ff00" in colours


def test_style_change_resizes_to_fit_lines(qtbot: QtBot) -> None:
    ov = _overlay(qtbot, lines=1, font_size=20)
    h1 = ov.height()
    ov.apply_style(OverlayStyle(lines=3, font_size=20))
    assert ov.height() > 2 * h1 - 40
    bg = QColor(ov.grab().toImage().pixelColor(ov.width() // 2, 4))
    assert bg.alpha() < 255  # translucent background


def test_click_through_sets_transparent_for_input_and_back(qtbot: QtBot) -> None:
    ov = _overlay(qtbot)
    with qtbot.waitSignal(ov.clickThroughChanged) as sig:
        ov.set_click_through(True)
    assert sig.args == [True]
    assert ov.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert ov.isVisible()
    assert "Ctrl+Shift+L" in ov.hint_text()
    assert ov.hint_bubble.isVisible() and ov.hint_bubble.geometry().bottom() < ov.geometry().top()
    ov.set_click_through(False)
    assert not ov.windowFlags() & Qt.WindowType.WindowTransparentForInput
    assert ov.isVisible()
    assert ov.hint_text() == "" and not ov.hint_bubble.isVisible()


def test_dragging_moves_and_reports_geometry(qtbot: QtBot) -> None:
    ov = _overlay(qtbot)
    ov.move(100, 100)
    start = ov.pos()
    centre = QPoint(ov.width() // 2, ov.height() // 2)
    with qtbot.waitSignal(ov.geometryChangedByUser, timeout=3000) as sig:
        qtbot.mousePress(ov, Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseMove(ov, centre + QPoint(40, 25))
        qtbot.mouseRelease(ov, Qt.MouseButton.LeftButton, pos=centre + QPoint(40, 25))
    assert ov.pos() != start
    assert sig.args[0].topLeft() == ov.geometry().topLeft()


def test_gap_marker_and_clear(qtbot: QtBot) -> None:
    ov = _overlay(qtbot)
    ov.add_committed("before")
    ov.mark_gap()
    ov.add_committed("after")
    assert ov.displayed_text() == "before … after"
    ov.clear()
    assert ov.displayed_text() == "" and ov.committed_text() == ""


def test_only_the_word_still_growing_is_dim() -> None:
    from captioner.app.caption_layout import to_words

    words = to_words("we agreed", "to move the review to thurs")
    assert [w.text for w in words if w.tentative] == ["thurs"]
    assert [w.text for w in words if not w.tentative] == ["we", "agreed", "to", "move", "the", "review", "to"]


def _alpha_outside(img: QImage, rect: QRect) -> int:
    """The most opaque pixel of ``img`` outside ``rect`` (every other row and column)."""
    return max(img.pixelColor(x, y).alpha() for x in range(0, img.width(), 2) for y in range(0, img.height(), 2)
               if not rect.contains(x, y))


def test_idle_overlay_is_a_faint_status_line_that_lets_clicks_through(qtbot: QtBot) -> None:
    """No empty dark bar: a small status pill, the rest see-through and masked out of the input region."""
    ov = _overlay(qtbot)
    assert ov.idle_mode == "status"
    assert ov.status_text() == "Not captioning — right-click here to start"  # no system-wide key: the menu
    ov.set_start_key("Ctrl+Alt+Space", anywhere=True)
    assert ov.status_text() == "Not captioning — press Ctrl+Alt+Space to start"
    ov.set_activity("paused")
    assert ov.status_text() == "Paused — press Ctrl+Alt+Space to resume"
    ov.set_activity("running")
    assert ov.status_text() == "Listening…"
    pill = ov.status_rect()
    assert 0 < pill.width() < ov.width() // 2 and pill.height() < ov.height()
    assert ov.mask().boundingRect() == pill, "only the pill takes clicks"
    img = ov.grab().toImage()
    assert _alpha_outside(img, pill) == 0, "nothing is drawn outside the pill"
    assert img.pixelColor(pill.center()).alpha() > 0

    ov.add_committed("hello there")
    assert ov.status_text() == "" and ov.mask().isEmpty(), "captions: the whole box again"
    assert ov.grab().toImage().pixelColor(6, ov.height() // 2).alpha() > 0
    ov.clear()
    assert ov.status_text() == "Listening…" and ov.mask().boundingRect() == pill


def test_idle_modes_hidden_and_box(qtbot: QtBot) -> None:
    ov = _overlay(qtbot)
    ov.set_idle_mode("hidden")
    assert ov.idle_mode == "hidden" and ov.status_text() == ""
    assert ov.grab().toImage().pixelColor(ov.width() // 2, ov.height() // 2).alpha() == 0
    assert ov.mask().boundingRect().width() <= 1, "an invisible overlay must not swallow clicks"
    ov.set_tentative("words")
    assert ov.mask().isEmpty() and ov.displayed_text() == "words"
    ov.set_tentative("")
    ov.set_idle_mode("box")  # the old empty box, now with the status in it
    assert ov.mask().isEmpty() and ov.status_text().startswith("Not captioning")
    assert ov.grab().toImage().pixelColor(6, ov.height() // 2).alpha() > 0
    ov.set_idle_mode("something from a newer version")
    assert ov.idle_mode == "status"


def _open_menu(qtbot: QtBot, ov: CaptionOverlay) -> QMenu:
    centre = QPoint(ov.width() // 2, ov.height() // 2)
    QApplication.sendEvent(ov, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, ov.mapToGlobal(centre)))
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def _action(menu: QMenu, text: str) -> QAction:
    for act in menu.actions():
        if act.text().split("\t")[0] == text:
            return act
        if act.menu() is not None:
            found = [a for a in act.menu().actions() if a.text() == text]  # type: ignore[union-attr]
            if found:
                return found[0]
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def test_right_click_menu_asks_for_each_action(qtbot: QtBot) -> None:
    ov = _overlay(qtbot, font_size=26)
    ov.set_start_key("Ctrl+Alt+Space", anywhere=True)
    ov.set_activity("running")
    menu = _open_menu(qtbot, ov)
    assert _action(menu, "Pause captioning").text() == "Pause captioning\tCtrl+Alt+Space"
    assert _action(menu, "Click-through").text().endswith("Ctrl+Shift+L")
    assert _action(menu, "Show a faint status line").isChecked()
    expected = [("Pause captioning", ov.startPauseRequested, []), ("Click-through", ov.clickThroughRequested, [True]),
                ("Hide overlay", ov.hideRequested, []), ("Larger text (28 px)", ov.fontStepRequested, [2]),
                ("Smaller text (24 px)", ov.fontStepRequested, [-2]), ("Show nothing", ov.idleModeChosen, ["hidden"]),
                ("Settings…", ov.settingsRequested, [])]
    for text, signal, args in expected:
        with qtbot.waitSignal(signal, timeout=1000) as got:
            _action(menu, text).trigger()
        assert got.args == args, text
    menu.close()
    ov.set_activity("idle")
    ov.apply_style(OverlayStyle(font_size=96))
    menu = _open_menu(qtbot, ov)
    assert _action(menu, "Start captioning").isEnabled()
    assert not _action(menu, "Larger text (96 px)").isEnabled(), "the Settings dialog's limit"
    menu.close()


def test_the_click_through_note_names_only_what_this_desktop_has(qtbot: QtBot) -> None:
    without_tray = click_through_hint("Ctrl+Shift+L", system_wide=True, tray=False)
    assert "tray" not in without_tray and "Ctrl+Shift+L" in without_tray and "Click-through button" in without_tray
    assert "tray menu" in click_through_hint("Ctrl+Shift+L", system_wide=True, tray=True)
    assert "in the Captioner window" in click_through_hint("Ctrl+Shift+L", system_wide=False, tray=False)
    ov = _overlay(qtbot)
    ov.set_leave_hint(without_tray)
    ov.set_click_through(True)
    assert ov.hint_text() == without_tray and ov.hint_bubble.text() == without_tray  # type: ignore[attr-defined]
    ov.set_click_through(False)
