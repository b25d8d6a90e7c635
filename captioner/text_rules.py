"""Word rules for committed caption text: the user's replacements, then an optional profanity mask.

A streaming model spells names and acronyms the way they sound ("cooper netties", "a p i"); users list what
they hear and what they want shown, and every committed line goes through ``TextRules.apply`` before the
overlay, the transcript and the exports see it (the JSON export also keeps the model's own words).

Replacements match whole words only, case-insensitively, with punctuation around a word left where it was
("api," → "API,"); a phrase of several words matches across any run of spaces. The longest phrase wins, the
text is inserted as the user typed it, and is not looked at again (one pass: a rule's output never feeds
another rule). The one exception to "as typed": when the heard word was capitalised at the start of a
sentence and the replacement is all lower case, its first letter is capitalised too.

The profanity mask runs after the replacements, over the whole line, replacement text included: ticking the
box promises the viewer that no listed word shows, whatever the rules say. A rule can still give a listed
word a milder stand-in ("shit => shoot"), because the rule sees the word first. The word list is
``captioner/resources/profanity-en.txt`` (its header says how entries match word forms).

Rules are stored one a line as ``heard => shown`` (``parse_rules`` / ``format_rules``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

ARROW = "=>"
"""Separates the words heard from the words shown in the stored format; the only separator accepted."""

# A word starts where no word character (or word-internal apostrophe, as in "o'clock") comes before it...
_BEFORE = r"(?<!\w)(?<!\w['’])"
# ...and ends where no word character follows; an apostrophe may follow only to start an "'s", "'ll", "'re",
# "'ve", "'d" or "'m" (so "api's" and "api'll" match "api", but "don't" does not match "don").
_AFTER = r"(?!\w)(?!['’](?!(?:s|ll|re|ve|d|m)(?!\w))\w)"
_OPENERS = "\"'“‘([«"
_SENTENCE_ENDS = ".!?…"


@dataclass(frozen=True)
class Replacement:
    """One user rule: ``heard`` (one or more words, as the model writes them) is shown as ``shown``."""

    heard: str
    shown: str


class RulesFormatError(ValueError):
    """A stored rule line that cannot be read; ``line`` is 1-based, so the message can point the user at it."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"Line {line}: {reason}")
        self.line = line
        self.reason = reason


def _normal(rule: Replacement) -> Replacement:
    return Replacement(" ".join(rule.heard.split()), rule.shown.strip())


def rule_problem(rule: Replacement) -> str | None:
    """Why ``rule`` cannot be stored as a ``heard => shown`` line, or None when it can."""
    rule = _normal(rule)
    if ARROW in rule.heard:
        return f"the words heard cannot contain {ARROW!r}"
    if rule.heard.startswith("#"):
        return "the words heard cannot start with '#' (that line would read as a comment)"
    if "\n" in rule.shown or "\r" in rule.shown:
        return "the words shown must fit on one line"
    return None


def parse_rules(text: str) -> tuple[Replacement, ...]:
    """Reads rules stored one a line as ``heard => shown``.

    Blank lines and lines starting with ``#`` are skipped. Spaces around either side do not count, and runs of
    spaces inside the heard words count as one. The first ``=>`` splits the line, so the shown text may
    contain ``=>`` itself. Raises ``RulesFormatError`` (a ``ValueError``) naming the first bad line.
    """
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        heard, arrow, shown = line.partition(ARROW)
        if not arrow:
            hint = " ('->' and '=' are not used)" if "->" in line or "=" in line else ""
            raise RulesFormatError(number, f"expected 'heard {ARROW} shown', with {ARROW!r} between them{hint}")
        rule = _normal(Replacement(heard, shown))
        if not rule.heard:
            raise RulesFormatError(number, f"nothing before {ARROW!r}: write the words the model writes")
        if not rule.shown:
            raise RulesFormatError(number, f"nothing after {ARROW!r}: write the words to show instead")
        rules.append(rule)
    return tuple(rules)


def format_rules(rules: Iterable[Replacement]) -> str:
    """Writes rules for ``parse_rules``, one ``heard => shown`` a line; rules with an empty side are left out.

    Raises ``ValueError`` for a rule that would not read back the same (see ``rule_problem``).
    """
    lines = []
    for rule in map(_normal, rules):
        if not rule.heard or not rule.shown:
            continue
        problem = rule_problem(rule)
        if problem is not None:
            raise ValueError(f"Cannot store the rule {rule.heard!r}: {problem}.")
        lines.append(f"{rule.heard} {ARROW} {rule.shown}")
    return "".join(line + "\n" for line in lines)


def _mask_alternative(entry: str) -> str:
    prefix, suffix = entry.startswith("*"), entry.endswith("*")
    stem = re.escape(entry.strip("*"))
    if prefix or suffix:
        return (r"\w*" if prefix else "") + stem + (r"\w*" if suffix else "")
    forms = stem + "(?:e?s)?"
    if len(entry) > 2 and entry.endswith("y") and entry[-2] not in "aeiou":
        forms += "|" + re.escape(entry[:-1]) + "ies"
    return forms


def compile_word_list(text: str) -> re.Pattern[str] | None:
    """One case-insensitive whole-word pattern for a word list in the format of ``profanity-en.txt``."""
    words, never = [], []
    for raw in text.splitlines():
        entry = raw.strip().lower()
        if not entry or entry.startswith("#") or not entry.strip("!*"):
            continue
        if entry.startswith("!"):
            never.append(re.escape(entry[1:]))
        else:
            words.append(_mask_alternative(entry))
    if not words:
        return None
    exceptions = rf"(?!(?:{'|'.join(never)})(?!\w))" if never else ""
    return re.compile(rf"(?<!\w){exceptions}(?:{'|'.join(words)})(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=1)
def profanity_pattern() -> re.Pattern[str] | None:
    """The shipped English list, read and compiled once per process."""
    text = (resources.files("captioner") / "resources" / "profanity-en.txt").read_text(encoding="utf-8")
    return compile_word_list(text)


def mask_word(word: str) -> str:
    """"fucking" → "f******": the first letter says a word was there, the length how long it was."""
    return word[:1] + "*" * (len(word) - 1)


def _at_sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip().rstrip(_OPENERS).rstrip()
    return not before or before[-1] in _SENTENCE_ENDS


def _capitalised(shown: str) -> str:
    for i, char in enumerate(shown):
        if char.isalpha():
            return shown[:i] + char.upper() + shown[i + 1:]
    return shown


class TextRules:
    """Replacements plus an optional mask, compiled once into one regex each so every committed line is cheap.

    Empty rules (either side blank) and rules that would show exactly what was heard are dropped; when two rules
    hear the same words (ignoring case), the later one wins, as a later line in a list would.
    """

    def __init__(self, replacements: Iterable[Replacement] = (), mask_profanity: bool = False) -> None:
        by_heard: dict[str, Replacement] = {}
        for rule in map(_normal, replacements):
            if rule.heard and rule.shown:
                by_heard.pop(rule.heard.lower(), None)  # re-insert so the order says which came last
                by_heard[rule.heard.lower()] = rule
        rules = [rule for rule in by_heard.values() if rule.heard != rule.shown]
        # Most words first, then most characters: at one place in the text the longest phrase must be tried first.
        rules.sort(key=lambda r: (-len(r.heard.split()), -len(r.heard)))
        self.replacements: tuple[Replacement, ...] = tuple(rules)
        self.mask_profanity = mask_profanity
        self._shown = [rule.shown for rule in rules]
        self._pattern: re.Pattern[str] | None = None
        if rules:
            alternatives = ")|(".join(r"\s+".join(map(re.escape, rule.heard.split())) for rule in rules)
            self._pattern = re.compile(f"{_BEFORE}(?:({alternatives})){_AFTER}", re.IGNORECASE)
        self._mask = profanity_pattern() if mask_profanity else None

    @property
    def active(self) -> bool:
        """False when ``apply`` would return every text unchanged (callers may skip it)."""
        return self._pattern is not None or self._mask is not None

    def replace(self, text: str) -> str:
        """The user's replacements only."""
        return text if self._pattern is None else self._pattern.sub(self._replace_match, text)

    def mask(self, text: str) -> str:
        """The profanity mask only (unchanged when the mask is off)."""
        return text if self._mask is None else self._mask.sub(lambda m: mask_word(m.group()), text)

    def apply(self, text: str) -> str:
        """What the viewer sees: replacements first, then the mask over the result."""
        return self.mask(self.replace(text))

    def _replace_match(self, match: re.Match[str]) -> str:
        shown = self._shown[(match.lastindex or 1) - 1]
        if shown.islower() and match.group()[:1].isupper() and _at_sentence_start(match.string, match.start()):
            return _capitalised(shown)
        return shown

    def __repr__(self) -> str:
        return f"TextRules({self.replacements!r}, mask_profanity={self.mask_profanity})"
