"""The caption overlay: line wrapping, tentative styling, click-through, geometry and style changes."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from captioner.app.caption_layout import Word, to_words, wrap_tail
from captioner.app.overlay import CaptionOverlay
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
