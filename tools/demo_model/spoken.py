"""Written English to the words a speaker says: the transcript form the demo model learns.

The model's output style is the v1 corpus's (``corpus.normalize``): lower case, letters, apostrophes and
single spaces. Text from dictionaries and books has digits, symbols, abbreviations and acronyms; each is
rewritten here as it is spoken ("$5" -> "five dollars", "1990" -> "nineteen ninety", "BBC" -> "b b c"),
so that the transcript matches what the synthetic voice reads. A sentence that still holds anything
else (another script, a formula) is dropped rather than guessed at: :func:`to_spoken` returns None.
"""

from __future__ import annotations

import re
import unicodedata

from .corpus import ONES, ORDINALS, TENS, number_words

# Acronyms said as a word; every other all-capitals token of 2-6 letters is spelled letter by letter.
WORD_ACRONYMS = frozenset({"nasa", "nato", "unesco", "unicef", "opec", "laser", "radar", "scuba", "aids",
                           "fifa", "ikea", "covid", "gif", "jpeg", "ascii", "basic", "cobol", "fortran",
                           "unix", "posix", "wysiwyg", "asap", "awol", "sars", "nafta", "seal",
                           "lord", "god"})
ABBREVIATIONS = {"dr.": "doctor", "mr.": "mister", "mrs.": "missus", "ms.": "miz", "st.": "saint",
                 "e.g.": "for example", "i.e.": "that is", "etc.": "et cetera", "vs.": "versus",
                 "approx.": "approximately", "jr.": "junior", "sr.": "senior", "prof.": "professor",
                 "mt.": "mount", "no.": "number", "esp.": "especially", "cf.": "compare", "fig.": "figure",
                 "a.m.": "a m", "p.m.": "p m", "u.s.": "u s", "u.k.": "u k", "b.c.": "b c", "a.d.": "a d"}
SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "=": " equals ", "@": " at ", "#": " number ",
           "°": " degrees "}
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
              "€": ("euro", "euros", "cent", "cents")}
_CLEAN = re.compile(r"[^a-z' ]")
_ALLOWED_BEFORE_CLEAN = re.compile(r"[^A-Za-z0-9' .,;:!?\-\"()\[\]/]")


def ordinal_words(n: int) -> str:
    """1 -> "first", 42 -> "forty second", 100 -> "one hundredth"."""
    if 1 <= n <= len(ORDINALS):
        return ORDINALS[n - 1]
    words = number_words(n).split()
    last = words[-1]
    irregular = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                 "nine": "ninth", "twelve": "twelfth"}
    if last in irregular:
        words[-1] = irregular[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_words(n: int) -> str:
    """A year as it is said: 1990 -> "nineteen ninety", 2005 -> "two thousand five", 1900 -> "nineteen hundred"."""
    if 2000 <= n <= 2009 or n < 1000 or n > 9999:
        return number_words(n)
    hi, lo = divmod(n, 100)
    if lo == 0:
        return f"{number_words(hi)} hundred"
    return f"{number_words(hi)} {('oh ' + ONES[lo]) if lo < 10 else number_words(lo)}"


def cardinal_words(digits: str) -> str:
    """Any run of digits: a count up to 999,999,999,999, else digit by digit (phone or serial numbers)."""
    n = int(digits)
    if (len(digits) > 1 and digits.startswith("0")) or n >= 10**12:
        return " ".join(ONES[int(d)] for d in digits)
    parts = []
    for value, name in ((10**9, "billion"), (10**6, "million")):
        if n >= value:
            parts.append(f"{number_words(n // value)} {name}")
            n %= value
    if n or not parts:
        parts.append(number_words(n))
    return " ".join(parts)


def time_words(hour: int, minute: int) -> str:
    """10:30 -> "ten thirty", 9:05 -> "nine oh five", 7:00 -> "seven o'clock"."""
    if minute == 0:
        return f"{number_words(hour)} o'clock"
    return f"{number_words(hour)} {('oh ' + ONES[minute]) if minute < 10 else number_words(minute)}"


def spell(letters: str) -> str:
    """An acronym letter by letter, in capitals ("BBC" -> "B B C") so that a voice reads letters, not words
    (a lone lower-case "a" is read as the article); the transcript lowers them."""
    return " ".join(letters.upper())


def _number(m: re.Match[str]) -> str:
    """A number token that is not a time, money, ordinal or year (those have their own rules)."""
    whole, frac = m.group(1).replace(",", ""), m.group(2)
    out = cardinal_words(whole)
    if frac:
        out += " point " + " ".join(ONES[int(d)] for d in frac)
    return f" {out} "


def _money(m: re.Match[str]) -> str:
    one, many, sub_one, sub_many = CURRENCIES[m.group(1)]
    whole = int(m.group(2).replace(",", ""))
    scale = {"k": " thousand", "m": " million", "million": " million", "billion": " billion",
             "bn": " billion"}.get((m.group(4) or "").lower().strip(), "")
    out = cardinal_words(str(whole)) + scale + " " + (one if whole == 1 and not scale else many)
    cents = m.group(3)
    if cents and not scale:
        c = int(cents.ljust(2, "0")[:2])
        out += f" and {number_words(c)} {sub_one if c == 1 else sub_many}" if c else ""
    elif cents and scale:
        out = cardinal_words(str(whole)) + " point " + " ".join(ONES[int(d)] for d in cents) + scale + " " + many
    return f" {out} "


def _ordinal(m: re.Match[str]) -> str:
    return f" {ordinal_words(int(m.group(1)))} "


def _year(m: re.Match[str]) -> str:
    return f" {year_words(int(m.group(1)))}{'s' if m.group(2) else ''} ".replace("ys ", "ies ")


def _time(m: re.Match[str]) -> str:
    h, mi, ampm = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower().replace(".", "")
    if h > 23 or mi > 59:
        return m.group(0)
    out = time_words(h, mi) if m.group(2) or not ampm else number_words(h)
    if ampm:
        out = out.replace(" o'clock", "") + " " + spell(ampm)
    return f" {out} "


def _acronym(m: re.Match[str]) -> str:
    word = m.group(1)
    plural = m.group(2) or ""
    if word.lower() in WORD_ACRONYMS:
        return f" {word.lower()}{plural} "
    return f" {spell(word + plural)} "  # "CDs" -> "C D S": the voice reads what the transcript says


_MONEY = re.compile(r"([$£€])\s?(\d[\d,]*)(?:\.(\d+))?(\s?(?:k|m|bn|million|billion)\b)?", re.I)
_RULES: list[tuple[re.Pattern[str], object]] = [
    (re.compile(r"\b(\d{1,2})(?::(\d\d))?\s?([ap]\.?m\.?)(?=\W|$)", re.I), _time),
    (re.compile(r"\b(\d{1,2}):(\d\d)()\b"), _time),
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.I), _ordinal),
    (re.compile(r"\b(1[1-9]\d\d|20\d\d)(s)?\b(?![.,]\d)"), _year),
    (re.compile(r"\b(\d[\d,]*\d|\d)(?:\.(\d+))?\b"), _number),
    (re.compile(r"\b([A-Z]{2,6})(s)?\b"), _acronym),
]


def to_ascii(text: str) -> str:
    """Accents dropped ("café" -> "cafe"), typographic quotes and dashes made plain; other letters (Greek,
    Cyrillic) stay, for :func:`to_spoken` to refuse."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = text.replace("—", " - ").replace("–", " - ").replace("…", "...")
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if unicodedata.category(ch) != "Mn")


def to_spoken(text: str, for_voice: bool = False) -> str | None:
    """``text`` in the transcript form, or None when something in it has no safe spoken form.

    ``for_voice`` gives the same words for a synthesiser: spelled letters stay capitals ("B B C").
    """
    text = to_ascii(_MONEY.sub(_money, text))  # before to_ascii, which would drop the pound and euro signs
    if _ALLOWED_BEFORE_CLEAN.search(text.translate({ord(k): " " for k in SYMBOLS})):  # another script, a formula
        return None
    for sym, words in SYMBOLS.items():
        text = text.replace(sym, words)
    low = f" {text} "
    for abbr, words in ABBREVIATIONS.items():
        low = re.sub(rf"(?<=[\s(]){re.escape(abbr)}", f" {words} ", low, flags=re.I)
    text = low
    for pattern, fn in _RULES:
        text = pattern.sub(fn, text)  # type: ignore[call-overload]
    if re.search(r"\d", text):
        return None
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # "well-known" -> "well known"
    text = re.sub(r"(?<![A-Za-z])'|'(?![A-Za-z])", " ", text)  # quotes, not apostrophes inside words
    words = [w if for_voice and len(w) == 1 and w.isupper() else w.lower() for w in text.split()]
    out = " ".join(_CLEAN.sub(" ", " ".join(words)).split()) if not for_voice else \
        " ".join(re.sub(r"[^A-Za-z' ]", " ", " ".join(words)).split())
    return out or None


__all__ = ["ABBREVIATIONS", "TENS", "WORD_ACRONYMS", "cardinal_words", "ordinal_words", "spell", "time_words",
           "to_spoken", "year_words"]
