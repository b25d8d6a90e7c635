"""Settings → Words: the user's word replacements and the profanity mask, with a line to try them on.

The page only edits; the dialog that holds it reads ``result()`` on OK and stores it (``captioner.text_rules``
has the storage format). Rows with an empty side are left out of ``result()``, and so are rows that could not
be stored; the page says which, under the table, so nothing disappears without a word.
"""

# ruff: noqa: N802

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from captioner.text_rules import Replacement, TextRules, rule_problem

HEARD, SHOWN = 0, 1
COLUMNS = ("Heard", "Shown as")


class _NamedEditorDelegate(QStyledItemDelegate):
    """Names each cell editor after its column, so a screen reader says which side is being typed."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        editor = super().createEditor(parent, option, index)
        editor.setAccessibleName(f"{COLUMNS[index.column()]}, row {index.row() + 1}")
        return editor


class WordsPage(QWidget):
    """``changed`` fires on every edit of the rules or the mask (the dialog may enable Apply on it)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        intro = QLabel("Words the model gets wrong, and how to show them. Whole words only; capitals do not "
                       "matter in what is heard; the words shown are used as typed.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setAccessibleName("Word rules")
        self.table.setAccessibleDescription("Each row replaces the words heard with the words shown")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()  # also hides the unnamed select-all corner button
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setItemDelegate(_NamedEditorDelegate(self.table))
        self.table.itemChanged.connect(lambda _: self._edited())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        delete = QAction("Remove the selected word rule", self.table)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)  # not while a cell editor has the focus
        delete.triggered.connect(self.remove_selected)
        self.table.addAction(delete)
        layout.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.add_button = QPushButton("&Add", self)
        self.add_button.setAccessibleName("Add a word rule")
        self.add_button.clicked.connect(self.add_rule)
        self.remove_button = QPushButton("&Remove", self)
        self.remove_button.setAccessibleName("Remove the selected word rule")
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)

        self.problems_label = QLabel(self)
        self.problems_label.setWordWrap(True)
        self.problems_label.setAccessibleName("Rules left out")
        self.problems_label.setStyleSheet("color: #b45309;")
        layout.addWidget(self.problems_label)

        self.mask_box = QCheckBox("&Mask profanity (shown as f***)", self)
        self.mask_box.setAccessibleName("Mask profanity")
        self.mask_box.setAccessibleDescription("Swear words and slurs show as their first letter and asterisks")
        self.mask_box.toggled.connect(lambda _: self._edited())
        layout.addWidget(self.mask_box)

        row = QHBoxLayout()
        try_label = QLabel("&Try it:", self)
        self.try_text = QLineEdit(self)
        self.try_text.setAccessibleName("Try the word rules")
        self.try_text.setPlaceholderText("Type what the model might write")
        self.try_text.setClearButtonEnabled(True)
        self.try_text.textChanged.connect(lambda _: self._update_preview())
        try_label.setBuddy(self.try_text)
        row.addWidget(try_label)
        row.addWidget(self.try_text, 1)
        layout.addLayout(row)
        self.preview = QLabel(self)
        self.preview.setWordWrap(True)
        self.preview.setAccessibleName("Shown as")
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.preview)
        self._refresh()

    # -- the API the dialog uses ------------------------------------------------------------------
    def load(self, rules: tuple[Replacement, ...], mask: bool) -> None:
        """Shows stored settings; edits start from here."""
        blocked = self.table.blockSignals(True)
        self.table.setRowCount(0)
        for rule in rules:
            self._append_row(rule.heard, rule.shown)
        self.table.blockSignals(blocked)
        blocked = self.mask_box.blockSignals(True)
        self.mask_box.setChecked(mask)
        self.mask_box.blockSignals(blocked)
        self._refresh()

    def result(self) -> tuple[tuple[Replacement, ...], bool]:
        """The rules as entered (complete, storable rows, in table order) and whether to mask profanity.

        A cell still being typed in counts, so OK right after typing keeps the last word.
        """
        self._commit_open_editor()
        return self._rules(), self.mask_box.isChecked()

    def problems(self) -> list[str]:
        """One sentence for each row that ``result()`` leaves out."""
        out = []
        for row in range(self.table.rowCount()):
            heard, shown = self._cell(row, HEARD), self._cell(row, SHOWN)
            if not heard.strip() and not shown.strip():
                continue
            if not shown.strip():
                out.append(f"The rule for “{heard.strip()}” has nothing under {COLUMNS[SHOWN]}, so it is not used.")
            elif not heard.strip():
                out.append(f"The rule showing “{shown.strip()}” has nothing under {COLUMNS[HEARD]}, "
                           "so it is not used.")
            elif problem := rule_problem(Replacement(heard, shown)):
                out.append(f"The rule for “{heard.strip()}” is not used: {problem}.")
        return out

    # -- buttons ----------------------------------------------------------------------------------
    def add_rule(self) -> None:
        """Adds an empty row and starts typing in its Heard cell."""
        self._commit_open_editor()
        row = self._append_row("", "")
        self.table.setCurrentCell(row, HEARD)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        item = self.table.item(row, HEARD)
        if item is not None:
            self.table.editItem(item)
        self._edited()

    def remove_selected(self) -> None:
        """Removes the current row and selects the one that took its place, so Remove can be pressed again."""
        row = self.table.currentRow()
        if row < 0:
            return
        self.table.removeRow(row)
        if self.table.rowCount():
            self.table.setCurrentCell(min(row, self.table.rowCount() - 1), HEARD)
        self._edited()

    # -- internals --------------------------------------------------------------------------------
    def _append_row(self, heard: str, shown: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, HEARD, QTableWidgetItem(heard))
        self.table.setItem(row, SHOWN, QTableWidgetItem(shown))
        return row

    def _cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def _rules(self) -> tuple[Replacement, ...]:
        rules = []
        for row in range(self.table.rowCount()):
            rule = Replacement(" ".join(self._cell(row, HEARD).split()), self._cell(row, SHOWN).strip())
            if rule.heard and rule.shown and rule_problem(rule) is None:
                rules.append(rule)
        return tuple(rules)

    def _commit_open_editor(self) -> None:
        if self.table.state() != QAbstractItemView.State.EditingState:
            return
        editor = self.table.indexWidget(self.table.currentIndex())
        if editor is not None:
            self.table.commitData(editor)
            self.table.closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)

    def _edited(self) -> None:
        self._refresh()
        self.changed.emit()

    def _refresh(self) -> None:
        problems = self.problems()
        self.problems_label.setText("\n".join(problems))
        self.problems_label.setVisible(bool(problems))
        self._update_buttons()
        self._update_preview()

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.table.currentRow() >= 0 and self.table.rowCount() > 0)

    def _update_preview(self) -> None:
        text = self.try_text.text()
        shown = TextRules(self._rules(), self.mask_box.isChecked()).apply(text) if text.strip() else ""
        self.preview.setText(f"Shown as: {shown}" if shown else "")
