"""Settings → Words: ``captioner.app.words_page.WordsPage`` loaded from and applied to the settings."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from captioner.app.settings import AppSettings
from captioner.app.words_page import WordsPage
from captioner.text_rules import RulesFormatError, format_rules, parse_rules


class WordsSettingsPage(WordsPage):
    """The word rules page with the settings interface of the other pages."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        try:
            rules = parse_rules(settings.word_rules)
        except RulesFormatError:
            rules = ()  # the app has said so at start; the page starts from what it can read
        self.load(rules, settings.mask_profanity)

    def apply(self, settings: AppSettings) -> None:
        rules, mask = self.result()
        settings.word_rules = format_rules(rules)
        settings.mask_profanity = mask
