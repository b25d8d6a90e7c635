"""The Settings pages on their own: each applies its fields, the dialog composes them; the Overlay page's presets,
preview and contrast warning; a long model verdict that fits; keyboard focus that shows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QCheckBox, QDialogButtonBox, QPushButton, QTabBar, QWidget
from pytestqt.qtbot import QtBot

from captioner.app.settings import AppSettings, EchoHandling, OverlayStyle
from captioner.app.settings_dialog import SettingsDialog
from captioner.app.settings_pages.overlay_page import OverlayPage
from captioner.app.settings_pages.overlay_preview import SAMPLE
from captioner.app.settings_pages.widgets import FOCUS_COLOUR
from captioner.audio.devices import SourceInfo
from captioner.contrast import AA_NORMAL, worst_case_contrast
from captioner.text_rules import Replacement, parse_rules

SOURCES = [SourceInfo("default", "Default microphone", "default", None),
           SourceInfo("system:out.monitor", "System audio (Speakers)", "system", None)]


@pytest.fixture
def dialog(qtbot: QtBot) -> Iterator[SettingsDialog]:
    d = SettingsDialog(AppSettings(), SOURCES, None)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    yield d
    d.reject()


def _count(image: QImage, colour: str, tolerance: int = 40) -> int:
    """Pixels within ``tolerance`` (per channel) of ``colour``."""
    want = QColor(colour)
    found = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if (abs(c.red() - want.red()) <= tolerance and abs(c.green() - want.green()) <= tolerance
                    and abs(c.blue() - want.blue()) <= tolerance):
                found += 1
    return found


def test_result_composes_every_page(qtbot: QtBot) -> None:
    before = AppSettings(source_key="default", caption_page_token="secret", word_rules="a p i => API")
    d = SettingsDialog(before, SOURCES, None)
    qtbot.addWidget(d)
    d.audio_page.second_source.setCurrentIndex(d.audio_page.second_source.findData("system:out.monitor"))
    d.audio_page.keep_echo.setChecked(True)
    d.audio_page.microphone_label.setText("Me")
    d.overlay_page.lines.setValue(3)
    d.words_page.load((Replacement("k8s", "Kubernetes"),), True)
    d.caption_page.enabled.setChecked(True)
    d.caption_page.port.setValue(9000)
    after = d.result_settings()
    assert after.second_source_key == "system:out.monitor" and after.echo is EchoHandling.KEEP_BOTH
    assert after.microphone_label == "Me" and after.overlay.lines == 3
    assert parse_rules(after.word_rules) == (Replacement("k8s", "Kubernetes"),) and after.mask_profanity
    assert (after.caption_page_enabled, after.caption_page_port, after.caption_page_token) == (True, 9000, "secret")
    assert before == AppSettings(source_key="default", caption_page_token="secret", word_rules="a p i => API"), \
        "the settings the dialog was given are not touched"
    # Each page writes only its own fields.
    only_audio = dataclasses.replace(before)
    d.audio_page.apply(only_audio)
    assert only_audio.overlay == before.overlay and only_audio.word_rules == before.word_rules
    assert only_audio.microphone_label == "Me"
    d.reject()


def test_a_long_verdict_takes_the_height_it_needs(qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.resize(620, 300)
    page = dialog.model_page
    message = ("/home/someone/models/broken/encoder.onnx is not a readable ONNX graph (INVALID_PROTOBUF: "
               "Protobuf parsing failed). The file is probably truncated or corrupt: copy or export it again. ") * 4
    page.show_verdict(False, message)
    label, note = page.verdict, page.keep_note
    assert note.isVisible() and "stays active" in note.text()

    def fits() -> bool:
        return (label.heightForWidth(label.width()) <= label.height()
                and note.heightForWidth(note.width()) <= note.height())

    qtbot.waitUntil(fits)
    assert label.geometry().bottom() < note.geometry().top(), "the note starts below the verdict"
    assert note.geometry().bottom() < page.lookahead.geometry().top()
    dialog.resize(900, dialog.height())  # wider: fewer lines, and still no overlap
    qtbot.waitUntil(lambda: label.width() > 700 and fits())
    assert label.geometry().bottom() < note.geometry().top()


def test_presets_preview_live_and_stay_editable(qtbot: QtBot, dialog: SettingsDialog) -> None:
    page = dialog.overlay_page
    assert page.preset.currentData() == "default"
    page.font_size.setValue(40)
    assert page.preset.currentData() == "default", "the font is not part of a preset"
    with qtbot.waitSignal(dialog.overlayPreview) as sent:
        page.preset.setCurrentIndex(page.preset.findData("high-contrast"))
    style: OverlayStyle = sent.args[0]
    assert (style.text_color, style.background_color, style.background_opacity) == ("#ffff00", "#000000", 1.0)
    assert style.bold and style.outline and style.font_size == 40
    assert page.preview.grab().toImage().pixelColor(page.preview.box_rect().center().toPoint()) == QColor("#000000")
    page.outline.setChecked(False)  # still editable after the preset ...
    assert page.preset.currentData() == "custom"  # ... and then no longer that preset
    assert dialog.result_settings().overlay == dataclasses.replace(style, outline=False)
    page.preset.setCurrentIndex(page.preset.findData("docked"))
    assert page.overlay_style().docked and page.docked.isChecked()
    assert page.preview.box_rect().width() == page.preview.width(), "the preview shows a full-width strip"
    page.preset.setCurrentIndex(page.preset.findData("light"))
    assert not page.overlay_style().docked
    assert page.preview.box_rect().width() < page.preview.width()


def test_the_preview_draws_the_sample_in_the_style(qtbot: QtBot, dialog: SettingsDialog) -> None:
    page = dialog.overlay_page
    dialog.tabs.setCurrentWidget(page)
    qtbot.waitUntil(lambda: page.preview.isVisible() and page.preview.width() > 400)
    assert page.preview.shown_text() == SAMPLE  # nothing is being captioned, yet there are words to judge by
    page.set_overlay_style(dataclasses.replace(page.overlay_style(), text_color="#ff0000", tentative_color="#00ff00",
                                               outline=False))
    image = page.preview.grab().toImage()
    assert _count(image, "#ff0000") > 200 and _count(image, "#00ff00") > 20  # committed words and the tentative one
    page.lines.setValue(1)
    assert page.preview.shown_text().endswith("look.") and len(page.preview.shown_text()) <= len(SAMPLE)
    page.opacity.setValue(0)
    image = page.preview.grab().toImage()
    box = page.preview.box_rect().toRect()
    assert image.pixelColor(box.left() + 2, box.bottom() - 2) == QColor("#ffffff"), "a clear box shows the backdrop"


def test_a_hard_to_read_colour_is_warned_about_and_fixed(qtbot: QtBot, dialog: SettingsDialog) -> None:
    page = dialog.overlay_page
    dialog.tabs.setCurrentWidget(page)
    assert not page.contrast_warning.isVisibleTo(page)  # the default style passes, outline or not
    page.outline.setChecked(False)
    assert not page.contrast_warning.isVisibleTo(page)
    page.set_overlay_style(dataclasses.replace(page.overlay_style(), tentative_color="#9fb4c8", outline=True))
    assert "outline keeps it readable" in page.contrast_note.text()  # a paler colour: its outline carries it
    page.outline.setChecked(False)
    assert page.contrast_warning.isVisibleTo(page)
    assert "tentative words reach only 3.4:1" in page.contrast_message.text()
    page.set_overlay_style(dataclasses.replace(page.overlay_style(), text_color="#777777",
                                               background_color="#ffffff", background_opacity=1.0,
                                               tentative_color="#000000"))
    assert "text reach only 4.4:1" in page.contrast_message.text() and "tentative" not in page.contrast_message.text()
    box, message = page.contrast_warning, page.contrast_message

    def fits_snugly() -> bool:  # the message is not clipped, and no empty band is left around it either
        return (box.isVisible() and message.heightForWidth(message.width()) <= message.height()
                and box.height() <= box.heightForWidth(box.width()) + 2)

    qtbot.waitUntil(fits_snugly)
    assert page.contrast_warning.geometry().top() > page.outline.parentWidget().mapFrom(
        page.outline, page.outline.rect().bottomLeft()).y(), "the warning is under the colours"
    with qtbot.waitSignal(dialog.overlayPreview) as sent:
        page.fix_button.click()
    fixed: OverlayStyle = sent.args[0]
    assert fixed.text_color == "#767676" and fixed.tentative_color == "#000000"
    assert worst_case_contrast(fixed.text_color, fixed.background_color, fixed.background_opacity) >= AA_NORMAL
    assert not page.contrast_warning.isVisibleTo(page)


def test_fix_thickens_a_box_too_thin_for_any_colour(qtbot: QtBot) -> None:
    page = OverlayPage(dataclasses.replace(OverlayStyle(), background_opacity=0.1, outline=False))
    qtbot.addWidget(page)
    assert page.contrast_warning.isVisibleTo(page) and "box" in page.fix_button.toolTip()
    page.fix_button.click()
    style = page.overlay_style()
    assert style.background_opacity > 0.1 and not page.contrast_warning.isVisibleTo(page)
    for colour in (style.text_color, style.tentative_color):
        assert worst_case_contrast(colour, style.background_color, style.background_opacity) >= AA_NORMAL


@pytest.fixture
def themed(qapp: QApplication) -> Iterator[None]:
    """The app's own theme (tests otherwise run with Qt's defaults), put back afterwards."""
    from captioner.app.theme import apply_theme

    sheet, palette, font, style = qapp.styleSheet(), qapp.palette(), qapp.font(), qapp.style().name()
    apply_theme(qapp)
    yield
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setStyle(style)


def _focus_ring_pixels(qtbot: QtBot, widget: QWidget, other: QWidget) -> int:
    """How many pixels of ``widget`` turn the focus colour when it takes keyboard focus."""
    other.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(other.hasFocus)
    rect = QRect(0, 0, widget.width(), widget.height())
    before = _count(widget.grab(rect).toImage(), FOCUS_COLOUR, 30)
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus)
    return _count(widget.grab(rect).toImage(), FOCUS_COLOUR, 30) - before


def test_keyboard_focus_shows_on_every_kind_of_control(qtbot: QtBot, themed: None) -> None:
    d = SettingsDialog(AppSettings(), SOURCES, None)
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    d.activateWindow()
    qtbot.waitUntil(d.isActiveWindow)
    d.tabs.setCurrentWidget(d.overlay_page)
    page = d.overlay_page
    tab_bar = d.tabs.findChild(QTabBar)
    assert isinstance(tab_bar, QTabBar)
    ok = d.buttons.button(QDialogButtonBox.StandardButton.Ok)
    for widget in (ok, page.text_color, page.bold, page.preset, page.lines, tab_bar):
        other = page.font_size if widget is not page.font_size else page.lines
        ring = _focus_ring_pixels(qtbot, widget, other)
        # A ring around the control, or for a tab bar around the current tab: at least the length of one side.
        side = widget.width() if not isinstance(widget, QTabBar) else widget.tabRect(widget.currentIndex()).width()
        assert ring >= min(side, 40), (type(widget).__name__, ring)
    assert isinstance(page.bold, QCheckBox) and isinstance(ok, QPushButton)
    d.reject()
