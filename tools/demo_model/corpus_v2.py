"""The v2 corpus: book and dictionary text, generated meeting speech and random word runs, split by source.

v1's ~100 templates (744 words) taught the first model to complete templates; v2 mixes text a decoder
cannot guess. Every source keeps some sentences for dev and test, and one whole source (``HELD_OUT``)
goes to the test set only, so the benchmark also measures text of a kind never trained on. Sentences are
distinct across the whole corpus: a sentence found in two sources belongs to the first split that takes it,
the held-out source first.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from . import corpus, text_sources
from .corpus import CITIES, DAYS, MONTHS, NAMES, TEAMS, THINGS
from .spoken import to_spoken

HELD_OUT = "devil"  # the Devil's Dictionary: never trained on, test only
# Share of the training sentences per source; a source with fewer sentences gives all it has and the
# generated ones fill the rest.
TRAIN_SHARES = {"wordnet": 0.40, "kjv": 0.08, "jargon": 0.04, "templates": 0.18, "meeting": 0.20, "words": 0.10}
GENERATED = ("templates", "meeting", "words")
DEV_PER_SOURCE, TEST_PER_SOURCE = 100, 200



def _words(text: str) -> list[str]:
    return text.split()


MORE_NAMES = _words("Aaliyah Abdul Akira Alejandro Amara Anders Arjun Astrid Beatriz Bilal Bjorn Chen Chidi Chloe "
                    "Dmitri Esperanza Fatima Feng Giorgos Hamid Hiroshi Ines Isabella Jamal Jorge Kai Kenji Kwame "
                    "Leila Luca Magnus Malik Mateo Nadia Naveen Ngozi Nikos Oksana Olga Pedro Rahul Ravi Rin Sakura "
                    "Santiago Siddharth Sina Soren Tanvir Thandiwe Valentina Wei Xin Yara Yusuf Zainab Zofia O'Brien "
                    "McDonald")
SURNAMES = _words("Smith Johnson Garcia Nguyen Patel Kim Mueller Rossi Tanaka Okafor Silva Cohen Novak Larsen "
                  "Dubois Kowalski Fernandez Andersson Yamamoto Haddad Mensah Ivanova Papadopoulos Singh O'Connor")
ACRONYMS = _words("API CEO CFO CTO HR IT PR QA UX UI KPI OKR ROI SLA SQL PDF CSV URL VPN USB HDMI GPU CPU RAM SSD "
                  "FAQ ETA EOD FYI NDA RFP SDK AWS BBC EU UN UK USA NASA NATO UNICEF")


def _written_meeting(r: random.Random) -> str:
    """One meeting sentence in written form (digits, times, dates, acronyms, names), before to_spoken."""
    name = r.choice([*NAMES, *MORE_NAMES]).capitalize() if r.random() < 0.5 else \
        f"{r.choice(MORE_NAMES)} {r.choice(SURNAMES)}"
    ac, thing, team = r.choice(ACRONYMS), r.choice(THINGS), r.choice(TEAMS)
    h, m = r.randint(1, 12), r.choice([0, 5, 10, 15, 20, 30, 40, 45, 50])
    clock = f"{h}:{m:02d}" if m or r.random() < 0.5 else f"{h}{r.choice(['am', 'pm', ' a.m.', ' p.m.'])}"
    day, month = r.randint(1, 28), r.choice(MONTHS).capitalize()
    date = r.choice([f"{month} {day}th".replace("1th", "1st").replace("2th", "2nd").replace("3th", "3rd")
                     .replace("11st", "11th").replace("12nd", "12th").replace("13rd", "13th"),
                     f"{r.choice(DAYS).capitalize()}, {month} {day}", f"{month} {r.randint(1990, 2031)}"])
    n = r.choice([r.randint(2, 99), r.randint(100, 9999), r.randint(10000, 2_000_000)])
    money = r.choice(["$", "£", "€"]) + r.choice([str(r.randint(1, 999)), f"{r.randint(1, 99)}.{r.randint(10, 99)}",
                                                  f"{r.randint(1, 50)},000", f"{r.randint(1, 9)}.{r.randint(1, 9)}m"])
    pct = f"{r.randint(1, 99)}%" if r.random() < 0.7 else f"{r.randint(1, 9)}.{r.randint(1, 9)}%"
    forms = [
        f"{name} will send the {ac} {thing} by {date}.",
        f"Can we move the call with {name} to {clock} on {date}?",
        f"The {team} spent {money} on the {thing} in Q{r.randint(1, 4)}.",
        f"Our {ac} numbers are up {pct} since {month}.",
        f"We have {n:,} users in {r.choice(CITIES).capitalize()} and {r.randint(2, 900)} in the {ac} pilot.",
        f"Please ask {name} about ticket {r.randint(100, 99999)} before {clock}.",
        f"The {ac} review is on {date} at {clock} in room {r.randint(1, 9)}{r.randint(0, 2)}{r.randint(1, 9)}.",
        f"{name} joined the {team} in {r.randint(1995, 2031)}.",
        f"Version {r.randint(1, 12)}.{r.randint(0, 20)} fixes {r.randint(2, 60)} bugs in the {ac} client.",
        f"I think {name} said the {thing} costs about {money}.",
        f"Let's meet {name} at {clock}, it's the {r.randint(1, 31)}th floor.".replace("1th", "1st")
        .replace("2th", "2nd").replace("3th", "3rd").replace("11st", "11th").replace("12nd", "12th")
        .replace("13rd", "13th"),
        f"The deadline for the {ac} is {date}, so {name} needs {r.randint(2, 40)} more days.",
        f"My number is {r.randint(200, 999)} {r.randint(100, 999)} {r.randint(1000, 9999)}.",
        f"{name} from {r.choice(ACRONYMS)} called at {clock} about the {thing}.",
    ]
    return r.choice(forms)


def meeting_sentences(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` distinct (transcript, voice text) meeting sentences with names, numbers, dates, times, acronyms."""
    r = random.Random(seed)
    seen: set[str] = set()
    out = []
    for _ in range(50 * n):
        if len(out) == n:
            break
        written = _written_meeting(r)
        t, v = to_spoken(written), to_spoken(written, for_voice=True)
        if t and v and t not in seen:
            seen.add(t)
            out.append((t, v))
    return out


def word_runs(n: int, counts: Counter[str], seed: int) -> list[tuple[str, str]]:
    """``n`` runs of 4-16 words drawn by their frequency in ``counts``: text no language model can complete."""
    r = random.Random(seed)
    words, weights = list(counts), list(counts.values())
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < n and words:
        s = " ".join(r.choices(words, weights, k=r.randint(4, 16)))
        if s not in seen:
            seen.add(s)
            out.append((s, s))
    return out


@dataclass
class Corpus:
    """Sentences per split as (transcript, voice text, source), and what each source contributed."""
    train: list[tuple[str, str, str]] = field(default_factory=list)
    dev: list[tuple[str, str, str]] = field(default_factory=list)
    test: list[tuple[str, str, str]] = field(default_factory=list)
    available: dict[str, int] = field(default_factory=dict)

    def vocabulary(self, split: str = "train") -> Counter[str]:
        return vocabulary(t for t, _, _ in getattr(self, split))

    def stats(self) -> dict[str, object]:
        per: dict[str, dict[str, int]] = {}
        for split in ("train", "dev", "test"):
            for t, _, src in getattr(self, split):
                d = per.setdefault(src, {"train": 0, "dev": 0, "test": 0, "words": 0})
                d[split] += 1
                d["words"] += len(t.split())
        return {"sources": per, "available": self.available, "held_out_source": HELD_OUT,
                "train_sentences": len(self.train), "train_vocabulary": len(self.vocabulary()),
                "all_vocabulary": len(vocabulary(t for s in ("train", "dev", "test") for t, _, _ in getattr(self, s)))}


def vocabulary(sentences: object) -> Counter[str]:
    """Word counts of transcripts (words are what the tokenizer and WER split on: single spaces)."""
    c: Counter[str] = Counter()
    for s in sentences:  # type: ignore[attr-defined]
        c.update(s.split())
    return c


def dedup(pairs: list[tuple[str, str]], seen: set[str]) -> list[tuple[str, str]]:
    """``pairs`` without transcripts in ``seen`` or repeated; ``seen`` grows by the ones kept."""
    out = []
    for t, v in pairs:
        if t not in seen:
            seen.add(t)
            out.append((t, v))
    return out


def split_sources(texts: dict[str, list[tuple[str, str]]], n_train: int, seed: int,
                  make_generated: Callable[[str, int, Counter[str]], list[tuple[str, str]]]) -> Corpus:
    """Dev, test and training sentences of every source; the whole of ``HELD_OUT`` goes to test.

    ``texts`` are the read sources; ``make_generated(name, n, counts)`` makes ``n`` sentences of a generated
    source (``counts``: the training words so far, for the word runs).
    """
    r = random.Random(seed)
    c = Corpus(available={k: len(v) for k, v in texts.items()})
    seen: set[str] = set()
    if HELD_OUT in texts:
        c.test += [(t, v, HELD_OUT) for t, v in dedup(texts[HELD_OUT], seen)]
    read = [k for k in TRAIN_SHARES if k not in GENERATED]
    want = {k: round(n_train * TRAIN_SHARES[k]) for k in TRAIN_SHARES}
    for name in read:
        pairs = dedup(texts.get(name, []), seen)
        r.shuffle(pairs)
        c.dev += [(t, v, name) for t, v in pairs[:DEV_PER_SOURCE]]
        c.test += [(t, v, name) for t, v in pairs[DEV_PER_SOURCE: DEV_PER_SOURCE + TEST_PER_SOURCE]]
        rest = pairs[DEV_PER_SOURCE + TEST_PER_SOURCE:]
        c.train += [(t, v, name) for t, v in rest[: want[name]]]
    short = n_train - len(c.train) - sum(want[k] for k in GENERATED)
    gen_share = sum(TRAIN_SHARES[k] for k in GENERATED)
    for name in GENERATED:
        n = want[name] + max(0, round(short * TRAIN_SHARES[name] / gen_share))
        if name == GENERATED[-1]:
            n = n_train - len(c.train)
        counts = vocabulary(t for t, _, _ in c.train)
        pairs = dedup(make_generated(name, n + DEV_PER_SOURCE + TEST_PER_SOURCE, counts), seen)
        c.dev += [(t, v, name) for t, v in pairs[:DEV_PER_SOURCE]]
        c.test += [(t, v, name) for t, v in pairs[DEV_PER_SOURCE: DEV_PER_SOURCE + TEST_PER_SOURCE]]
        c.train += [(t, v, name) for t, v in pairs[DEV_PER_SOURCE + TEST_PER_SOURCE:][:n]]
    r.shuffle(c.train)
    check_split(c)
    return c


def check_split(c: Corpus) -> None:
    """Raise if the held-out source or any dev/test sentence is in the training split."""
    train = {t for t, _, _ in c.train}
    if any(src == HELD_OUT for _, _, src in c.train):
        raise AssertionError(f"held-out source {HELD_OUT} in train")
    overlap = train & {t for t, _, _ in c.dev + c.test}
    if overlap:
        raise AssertionError(f"{len(overlap)} dev/test sentences in train, e.g. {sorted(overlap)[0]!r}")
    if len(train) != len(c.train):
        raise AssertionError("repeated training sentences")


def generated(name: str, n: int, counts: Counter[str], seed: int) -> list[tuple[str, str]]:
    """``n`` sentences of generated source ``name`` (a few fewer if the generator runs out)."""
    if name == "templates":
        return [(s, s) for s in corpus.generate(n, 0, seed)[0]]
    if name == "meeting":
        return meeting_sentences(n, seed + 7)
    return word_runs(n, counts, seed + 11)


def build(n_train: int, seed: int) -> Corpus:
    """The v2 corpus from the installed sources (``text_sources.SOURCES``) and the generators."""
    texts = {name: text_sources.read_source(name) for name in text_sources.SOURCES}
    return split_sources(texts, n_train, seed, lambda name, n, counts: generated(name, n, counts, seed))
