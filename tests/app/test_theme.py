"""Light, dark (the desktop's choice by default) and high-contrast windows, every text pair readable."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from captioner.app.controller import CaptionerController
from captioner.app.main_window import MainWindow
from captioner.app.settings import AppTheme, OverlayStyle
from captioner.app.theme import PALETTES, READ_PAIRS, apply_theme, current, resolve
from captioner.contrast import AA_NORMAL, contrast_ratio, worst_case_contrast


@pytest.fixture
def light_again(qapp: QApplication) -> Iterator[QApplication]:
    """The theme is the whole application's: put the light one back for the tests after this one."""
    yield qapp
    apply_theme(qapp, AppTheme.LIGHT)


@pytest.mark.parametrize("theme", list(PALETTES))
def test_every_text_pair_of_every_theme_reaches_aa(theme: AppTheme) -> None:
    palette = PALETTES[theme]
    for text, background in READ_PAIRS:
        ratio = contrast_ratio(getattr(palette, text), getattr(palette, background))
        assert ratio >= AA_NORMAL, f"{theme}: {text} on {background} is {ratio:.2f}:1"
    for colour in palette.sources:
        assert contrast_ratio(colour, palette.card) >= AA_NORMAL, f"{theme}: source label {colour}"


def test_the_default_tentative_colour_is_readable_without_its_outline() -> None:
    style = OverlayStyle()
    assert worst_case_contrast(style.tentative_color, style.background_color, style.background_opacity) >= AA_NORMAL
    assert worst_case_contrast(style.text_color, style.background_color, style.background_opacity) >= AA_NORMAL


def test_the_system_theme_follows_the_desktops_colour_scheme() -> None:
    assert resolve(AppTheme.SYSTEM, Qt.ColorScheme.Dark) is AppTheme.DARK
    assert resolve(AppTheme.SYSTEM, Qt.ColorScheme.Light) is AppTheme.LIGHT
    assert resolve(AppTheme.SYSTEM, Qt.ColorScheme.Unknown) is AppTheme.LIGHT
    assert resolve(AppTheme.HIGH_CONTRAST, Qt.ColorScheme.Light) is AppTheme.HIGH_CONTRAST


@pytest.mark.parametrize("theme", [AppTheme.DARK, AppTheme.HIGH_CONTRAST])
def test_the_main_window_is_drawn_in_the_theme(qtbot: QtBot, light_again: QApplication, theme: AppTheme) -> None:
    assert apply_theme(light_again, theme) is theme
    assert current() is PALETTES[theme]
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(800, 500)
    window.show()
    qtbot.waitExposed(window)
    image = window.grab().toImage()
    background = image.pixelColor(3, image.height() // 2)  # the window's margin, beside the transcript
    assert background.name() == PALETTES[theme].window


def test_choosing_a_theme_in_settings_applies_it_at_once(qtbot: QtBot, controller_factory, model_dir: Path,  # type: ignore[no-untyped-def]
                                                        light_again: QApplication) -> None:
    c: CaptionerController = controller_factory("--model", str(model_dir))
    c.apply_settings(dataclasses.replace(c.settings, app_theme=AppTheme.DARK))
    assert current() is PALETTES[AppTheme.DARK] and PALETTES[AppTheme.DARK].window in light_again.styleSheet()
    dialog = c.open_settings()
    assert dialog.overlay_page.app_theme.currentData() == AppTheme.DARK.value
    dialog.overlay_page.app_theme.setCurrentIndex(dialog.overlay_page.app_theme.findData("high-contrast"))
    dialog.accept()
    assert c.settings.app_theme is AppTheme.HIGH_CONTRAST and current() is PALETTES[AppTheme.HIGH_CONTRAST]
