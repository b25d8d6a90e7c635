"""Settings → Words: adding, editing and removing rules in the table, the mask box, the Try-it preview."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QLineEdit, QTableWidgetItem
from pytestqt.qtbot import QtBot

from captioner.app.words_page import HEARD, SHOWN, WordsPage
from captioner.text_rules import Replacement
from tests.app.test_accessibility import unnamed_controls


def make_page(qtbot: QtBot) -> WordsPage:
    page = WordsPage()
    qtbot.addWidget(page)
    with qtbot.waitActive(page):  # keys and shortcuts go to the focused widget of the active window
        page.show()
        page.activateWindow()
    return page


def cell_editor(page: WordsPage) -> QLineEdit:
    editor = page.table.indexWidget(page.table.currentIndex())
    assert isinstance(editor, QLineEdit), "a cell editor is open on the current cell"
    return editor


def cell(page: WordsPage, row: int, column: int) -> QTableWidgetItem:
    item = page.table.item(row, column)
    assert item is not None
    return item


def type_into_current_cell(qtbot: QtBot, page: WordsPage, text: str) -> None:
    """Types as a user does: the open cell editor gets the keys, Enter commits."""
    editor = cell_editor(page)
    assert QApplication.focusWidget() is editor
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # The delegate commits a Return through a queued call, on the next turn of the event loop.
    qtbot.waitUntil(lambda: page.table.state() != QAbstractItemView.State.EditingState)


def test_add_a_rule_with_the_button_and_the_table(qtbot: QtBot) -> None:
    page = make_page(qtbot)
    assert page.result() == ((), False)
    with qtbot.waitSignal(page.changed):
        qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.table.rowCount() == 1
    assert page.table.state() == QAbstractItemView.State.EditingState, "Add starts typing in the Heard cell"
    type_into_current_cell(qtbot, page, "cooper netties")
    assert page.problems_label.text() == "The rule for “cooper netties” has nothing under Shown as, so it is not used."
    assert page.problems_label.isVisibleTo(page)
    assert page.result() == ((), False), "a half-filled row is not a rule"
    page.table.setCurrentCell(0, SHOWN)
    qtbot.keyClick(page.table, Qt.Key.Key_F2)
    type_into_current_cell(qtbot, page, "Kubernetes")
    assert page.result() == ((Replacement("cooper netties", "Kubernetes"),), False)
    assert not page.problems_label.isVisibleTo(page)


def test_a_cell_still_being_typed_counts(qtbot: QtBot) -> None:
    page = make_page(qtbot)
    page.load((Replacement("a p i", "API"),), False)
    page.add_button.click()
    qtbot.keyClicks(cell_editor(page), "jason")
    page.table.setCurrentCell(1, SHOWN)
    page.table.editItem(cell(page, 1, SHOWN))
    qtbot.keyClicks(cell_editor(page), "json")
    assert page.result() == ((Replacement("a p i", "API"), Replacement("jason", "json")), False)


def test_remove_and_keyboard_delete(qtbot: QtBot) -> None:
    page = make_page(qtbot)
    page.load((Replacement("one", "1"), Replacement("two", "2"), Replacement("three", "3")), True)
    assert not page.remove_button.isEnabled(), "nothing selected yet"
    page.table.setCurrentCell(1, HEARD)
    assert page.remove_button.isEnabled()
    with qtbot.waitSignal(page.changed):
        qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert page.result() == ((Replacement("one", "1"), Replacement("three", "3")), True)
    assert page.table.currentRow() == 1, "the next row is selected, so Remove can be pressed again"
    page.table.setFocus()
    qtbot.waitUntil(page.table.hasFocus)
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert page.result() == ((Replacement("one", "1"),), True)


def test_preview_follows_text_rules_and_mask(qtbot: QtBot) -> None:
    page = make_page(qtbot)
    page.load((Replacement("a p i", "API"),), False)
    qtbot.keyClicks(page.try_text, "the a p i is shit")
    assert page.preview.text() == "Shown as: the API is shit"
    page.mask_box.click()
    assert page.preview.text() == "Shown as: the API is s***"
    cell(page, 0, SHOWN).setText("interface")
    assert page.preview.text() == "Shown as: the interface is s***"
    page.table.setCurrentCell(0, HEARD)
    page.remove_button.click()
    assert page.preview.text() == "Shown as: the a p i is s***"
    assert page.result() == ((), True)


def test_load_replaces_what_was_there(qtbot: QtBot) -> None:
    page = make_page(qtbot)
    page.load((Replacement("x", "y"),), True)
    page.load((Replacement("a", "b"), Replacement("c", "d")), False)
    assert page.table.rowCount() == 2 and not page.mask_box.isChecked()
    assert page.result() == ((Replacement("a", "b"), Replacement("c", "d")), False)


def test_rows_that_cannot_be_stored_are_named_and_left_out(qtbot: QtBot) -> None:
    page = make_page(qtbot)
    page.load((Replacement("#tag", "Tag"), Replacement("ok", "OK")), False)
    assert page.result() == ((Replacement("ok", "OK"),), False)
    assert page.problems() == ["The rule for “#tag” is not used: the words heard cannot start with '#' "
                               "(that line would read as a comment)."]
    assert page.problems_label.text() == page.problems()[0]


def test_every_control_has_an_accessible_name(qtbot: QtBot) -> None:
    page = make_page(qtbot)
    page.load((Replacement("a", "b"),), False)
    assert unnamed_controls(page) == []
    assert page.table.accessibleName() == "Word rules"
    assert page.add_button.accessibleName() == "Add a word rule"
    assert page.remove_button.accessibleName() == "Remove the selected word rule"
    assert page.mask_box.accessibleName() == "Mask profanity"
    assert page.try_text.accessibleName() == "Try the word rules"
    page.add_button.click()
    assert cell_editor(page).accessibleName() == "Heard, row 2"
    assert unnamed_controls(page) == [], "the open cell editor is named too"
