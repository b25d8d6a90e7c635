"""Captions of two sources in the overlay: each speaker change starts a line with the speaker's label."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from captioner.app.caption_layout import Word, to_labelled_words, wrap_tail
from captioner.app.overlay import CaptionOverlay
from captioner.app.settings import OverlayStyle


def test_a_label_starts_a_line_where_the_source_changes() -> None:
    words = to_labelled_words([("Others", "can you see it"), ("Others", "on my screen"), ("You", "yes")],
                              ("You", "it is clear"))
    assert [w.text for w in words if w.label] == ["Others:", "You:"], "one label per change of source"
    lines = wrap_tail(words, 1000.0, 5, lambda w: 10.0 * len(w.text), 5.0)
    assert [" ".join(w.text for w in line) for line in lines] == [
        "Others: can you see it on my screen", "You: yes it is clear"]
    assert lines[-1][-1] == Word("clear", True), "only the newest word is still tentative"


def test_one_source_has_no_labels() -> None:
    words = to_labelled_words([("", "hello there")], ("", "how are"))
    assert not any(w.label for w in words)
    assert [w.text for w in words] == ["hello", "there", "how", "are"]


def test_tentative_text_of_another_source_gets_its_label() -> None:
    words = to_labelled_words([("Others", "thanks everyone")], ("You", "bye"))
    assert [w.text for w in words] == ["Others:", "thanks", "everyone", "You:", "bye"]


def test_overlay_shows_labelled_lines_and_reads_them_out(qtbot: QtBot) -> None:
    ov = CaptionOverlay(OverlayStyle(lines=3), "Ctrl+Shift+L")
    qtbot.addWidget(ov)
    ov.resize(900, ov.height_for_lines())
    ov.add_committed("can you see the roadmap", "Others")
    ov.add_committed("yes it's clear", "You")
    ov.set_tentative("good then", "Others")
    assert ov.displayed_text() == "Others: can you see the roadmap You: yes it's clear Others: good then"
    assert [line[0].text for line in ov._layout()] == ["Others:", "You:", "Others:"]
    assert ov.committed_text() == "Others: can you see the roadmap You: yes it's clear"
    assert ov.announced[-1] == "You: yes it's clear"
