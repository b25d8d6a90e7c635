"""Sentences from English text that Debian packages ship under licences the project can use.

Each source is read from the files its package installs (``SOURCES`` names the package, the licence and
what is taken; ``SOURCES.md`` is the record) and cut into sentences or clauses of 3-30 words, which
``spoken.to_spoken`` turns into the transcript form. A source whose package is missing yields nothing,
so the corpus builder can say which packages to install rather than fail half-way.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .spoken import to_spoken

MIN_WORDS, MAX_WORDS = 3, 30


@dataclass(frozen=True)
class Source:
    name: str
    package: str
    licence: str
    taken: str
    files: tuple[str, ...]


SOURCES = {
    "wordnet": Source("wordnet", "wordnet-base", "WordNet 3.0 licence (permissive, BSD-like; keep the notice)",
                      "the glosses (definitions) and quoted usage examples of every synset",
                      tuple(f"/usr/share/wordnet/data.{pos}" for pos in ("noun", "verb", "adj", "adv"))),
    "kjv": Source("kjv", "bible-kjv-text (read with bible-kjv's `bible`)", "public domain (1611 translation)",
                  "the King James Version, cut into clauses at ; and :", ("/usr/lib/bible.data",)),
    "jargon": Source("jargon", "dict-jargon", "public domain (the Jargon File, 4.4.7)",
                     "the entries' prose, cut into sentences", ("/usr/share/dictd/jargon.dict.dz",)),
    "devil": Source("devil", "dict-devil", "public domain (Ambrose Bierce, 1911)",
                    "the definitions and their prose, cut into sentences", ("/usr/share/dictd/devil.dict.dz",)),
}


def installed(name: str) -> bool:
    """Whether the files of source ``name`` are there (and, for the Bible, its reader)."""
    if name == "kjv" and shutil.which("bible") is None:
        return False
    return all(Path(f).exists() for f in SOURCES[name].files)


def sentences_of(text: str) -> list[str]:
    """Prose cut into sentences at . ! ? followed by a space and a capital, a quote or a digit."""
    return [s.strip() for s in re.split(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z\"'(\d])", text) if s.strip()]


def transcript_pairs(pieces: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(transcript, text for the voice) of each piece that has a spoken form and a usable length."""
    for piece in pieces:
        piece = piece.strip().strip(";:,-").strip()
        t = to_spoken(piece)
        if t is None or not MIN_WORDS <= len(t.split()) <= MAX_WORDS:
            continue
        v = to_spoken(piece, for_voice=True)
        if v is not None and len(v.split()) == len(t.split()):
            yield t, v


def wordnet_pieces(lines: Iterable[str]) -> Iterator[str]:
    """Glosses and examples from WordNet ``data.*`` lines: ``... | gloss; gloss; "example"; "example"``."""
    for line in lines:
        if line.startswith("  ") or " | " not in line:
            continue  # the licence header
        gloss = line.split(" | ", 1)[1].strip()
        for part in re.split(r";\s*", gloss):
            part = part.strip()
            if part.startswith('"'):
                part = part.strip('"').strip()
                if '"' in part:  # '"a b" - Shakespeare': the quote without its author
                    part = part.split('"')[0]
            yield re.sub(r"\([^)]*\)", " ", part)


_HEADING = re.compile(r"^[1-3 ]*[A-Z][a-z]+( of [A-Z]\w+)? \d+$")  # "Genesis 1", "1 Kings 3"


_HEADING = re.compile(r"^[1-3 ]*[A-Z][a-z]+( of [A-Z]\w+)? \d+$")  # "Genesis 1", "1 Kings 3"


def kjv_pieces(text: str) -> Iterator[str]:
    """Clauses of the verses in ``bible``'s output (lines "  N text", wrapped; "Book N" headings)."""
    verses: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^\s+\d+\s+(.*)$", line)
        if m:
            verses.append(m.group(1))
        elif line and not line[0].isspace() and verses and not _HEADING.match(line):
            verses[-1] += " " + line.strip()
    for verse in verses:
        for clause in re.split(r"[;:]\s+", verse):
            yield from sentences_of(clause)


def dictd_pieces(text: str) -> Iterator[str]:
    """Sentences of a dictd database's prose: headwords, {cross references}, [tags], /pronunciations/ removed."""
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.splitlines()]
        if not lines or lines[0].startswith("00-database") or (len(lines) == 1 and " " not in lines[0]):
            continue
        body = " ".join(lines)
        body = re.sub(r"^[A-Z][A-Z' -]+,\s*(?:[a-z]+\.\s*)+", "", body)  # "ABSOLUTE, adj.  " headword
        body = re.sub(r"\{([^}]*)\}", r"\1", body)
        body = re.sub(r"\[[^\]]*\]|/[^/\s][^/]*/,?|\([^)]*\)", " ", body)
        body = re.sub(r"^\d+\.\s+", "", body)
        yield from sentences_of(" ".join(body.split()))


def raw_pieces(name: str) -> Iterator[str]:
    """The pieces of text of source ``name``, before normalisation."""
    src = SOURCES[name]
    if name == "wordnet":
        for f in src.files:
            with open(f, encoding="utf-8", errors="replace") as fh:
                yield from wordnet_pieces(fh)
    elif name == "kjv":
        out = subprocess.run(["bible", "gen1:1-rev22:21"], check=True, capture_output=True, text=True).stdout
        yield from kjv_pieces(out)
    else:
        with gzip.open(src.files[0], "rt", encoding="utf-8", errors="replace") as fh:
            yield from dictd_pieces(fh.read())


def read_source(name: str) -> list[tuple[str, str]]:
    """Distinct (transcript, voice text) pairs of one source, in the source's order; [] if not installed."""
    if not installed(name):
        return []
    seen: set[str] = set()
    out = []
    for t, v in transcript_pairs(raw_pieces(name)):
        if t not in seen:
            seen.add(t)
            out.append((t, v))
    return out
