"""The v2 demo-model corpus (``tools/demo_model``): spoken forms, source split, dedup, vocabulary.

Checked on small texts made here, so CI needs none of the Debian text packages; the readers' parsing of
each package's format is checked on excerpts in that format.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tools.demo_model import corpus, corpus_v2, spoken, text_sources


@pytest.mark.parametrize(("written", "said"), [
    ("The meeting is at 10:30 on March 3rd, 2025.", "the meeting is at ten thirty on march third twenty twenty five"),
    ("It costs $5.99 or £20, about 25% less.",
     "it costs five dollars and ninety nine cents or twenty pounds about twenty five percent less"),
    ("The BBC and NASA met in the 1990s.", "the b b c and nasa met in the nineteen nineties"),
    ("Dr. Smith sold 1,234,567 units at 3pm.",
     "doctor smith sold one million two hundred thirty four thousand five hundred sixty seven units at three p m"),
    ("Call 0800 now; version 2.5 is out.", "call zero eight zero zero now version two point five is out"),
    ("He was born in 1905 and left in 2003.", "he was born in nineteen oh five and left in two thousand three"),
    ("a well-known café, don't 'quote' me", "a well known cafe don't quote me"),
    ("the 42nd and the 101st", "the forty second and the one hundred first"),
])
def test_written_text_becomes_what_a_speaker_says(written: str, said: str) -> None:
    assert spoken.to_spoken(written) == said
    assert said == corpus.normalize(said), "the transcript form of the v1 tokenizer and WER"


def test_the_voice_text_has_the_same_words_with_spelled_letters_in_capitals() -> None:
    t, v = spoken.to_spoken("The CPU is at 9:05 am."), spoken.to_spoken("The CPU is at 9:05 am.", for_voice=True)
    assert t == "the c p u is at nine oh five a m"
    assert v == "the C P U is at nine oh five A M"
    assert v is not None and v.lower() == t


@pytest.mark.parametrize("text", ["x = y² + 1", "Αθήνα is Athens", "see §4", "5 × 3"])
def test_text_without_a_safe_spoken_form_is_dropped(text: str) -> None:
    assert spoken.to_spoken(text) is None


@pytest.mark.parametrize(("n", "words"), [(1, "first"), (12, "twelfth"), (40, "fortieth"), (42, "forty second"),
                                          (100, "one hundredth"), (1003, "one thousand third")])
def test_ordinals(n: int, words: str) -> None:
    assert spoken.ordinal_words(n) == words


@pytest.mark.parametrize(("n", "words"), [(1990, "nineteen ninety"), (1905, "nineteen oh five"),
                                          (1900, "nineteen hundred"), (2008, "two thousand eight"),
                                          (2024, "twenty twenty four")])
def test_years(n: int, words: str) -> None:
    assert spoken.year_words(n) == words


def test_meeting_sentences_are_spoken_distinct_and_reproducible() -> None:
    a = corpus_v2.meeting_sentences(300, 5)
    assert a == corpus_v2.meeting_sentences(300, 5)
    assert len({t for t, _ in a}) == len(a) == 300
    for t, v in a:
        assert t == corpus.normalize(t) and not any(ch.isdigit() for ch in v)
        assert v.lower() == t


def _texts() -> dict[str, list[tuple[str, str]]]:
    books = [(f"book sentence number {corpus.number_words(i)}", "") for i in range(600)]
    held = [(f"held out sentence {corpus.number_words(i)}", "") for i in range(50)]
    # a held-out sentence also in another source must not reach training through it
    return {"wordnet": books + held[:5], "kjv": [(f"verse {corpus.number_words(i)}", "") for i in range(400)],
            "jargon": [], corpus_v2.HELD_OUT: held}


def _generated(name: str, n: int, counts: Counter[str]) -> list[tuple[str, str]]:
    return corpus_v2.generated(name, n, counts, 3)


def test_the_held_out_source_is_only_in_the_test_split() -> None:
    c = corpus_v2.split_sources(_texts(), 2000, 1, _generated)
    assert len(c.train) == 2000
    train = {t for t, _, _ in c.train}
    held = {t for t, _ in _texts()[corpus_v2.HELD_OUT]}
    assert not train & held
    assert {s for _, _, s in c.test} >= {corpus_v2.HELD_OUT, "wordnet", "templates"}
    assert sum(s == corpus_v2.HELD_OUT for _, _, s in c.test) == len(held)
    assert not train & {t for t, _, _ in c.dev + c.test}
    assert {s for _, _, s in c.train} == {"wordnet", "kjv", "templates", "meeting", "words"}


def test_the_split_check_fails_on_a_leak() -> None:
    c = corpus_v2.split_sources(_texts(), 500, 1, _generated)
    c.train.append(c.test[0])
    with pytest.raises(AssertionError):
        corpus_v2.check_split(c)
    c.train.pop()
    c.train.append(("held out words", "", corpus_v2.HELD_OUT))
    with pytest.raises(AssertionError, match="held-out source"):
        corpus_v2.check_split(c)


def test_dedup_keeps_the_first_of_each_sentence_across_sources() -> None:
    seen: set[str] = set()
    assert corpus_v2.dedup([("a b c", "1"), ("a b c", "2"), ("d e f", "3")], seen) == [("a b c", "1"), ("d e f", "3")]
    assert corpus_v2.dedup([("d e f", "4"), ("g h i", "5")], seen) == [("g h i", "5")]


def test_vocabulary_counts_words_as_the_tokenizer_splits_them() -> None:
    v = corpus_v2.vocabulary(["don't stop now", "now or never", "never don't"])
    assert v == Counter({"don't": 2, "now": 2, "never": 2, "stop": 1, "or": 1})


def test_word_runs_draw_from_the_given_words() -> None:
    runs = corpus_v2.word_runs(50, Counter({"alpha": 5, "beta": 1, "gamma": 1}), 2)
    assert len({t for t, _ in runs}) == 50
    assert {w for t, _ in runs for w in t.split()} <= {"alpha", "beta", "gamma"}


WORDNET_LINES = [
    "  1 This software and database is being provided to you, the LICENSEE, by  ",
    "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known or inferred to have "
    "its own distinct existence (living or nonliving)  ",
    "00002137 03 v 01 run 0 001 @ 00001740 n 0000 | move fast by using one's feet; \"Don't run--you'll slip\"; "
    "\"the children ran to the store\"  ",
]


def test_wordnet_glosses_and_examples_are_read() -> None:
    got = [t for t, _ in text_sources.transcript_pairs(text_sources.wordnet_pieces(WORDNET_LINES))]
    assert got == ["that which is perceived or known or inferred to have its own distinct existence",
                   "move fast by using one's feet", "don't run you'll slip", "the children ran to the store"]


def test_dictd_prose_loses_headwords_and_cross_references() -> None:
    text = ("00-database-info\nThe Devil's Dictionary\n\nABSURDITY, n.  A statement or belief manifestly "
            "inconsistent with\none's own opinion.\n\nACADEMY, n.  [from {ACADEME}]   A modern school where "
            "football is\ntaught.  It has 12 rooms.\n")
    got = [t for t, _ in text_sources.transcript_pairs(text_sources.dictd_pieces(text))]
    assert got == ["a statement or belief manifestly inconsistent with one's own opinion",
                   "a modern school where football is taught", "it has twelve rooms"]


def test_bible_output_is_cut_into_clauses() -> None:
    out = ("\nGenesis 1\n\n  1 In the beginning God created the heaven and the earth.\n  2 And the earth was "
           "without form, and void; and darkness was upon the face of\nthe deep.\n")
    got = [t for t, _ in text_sources.transcript_pairs(text_sources.kjv_pieces(out))]
    assert got == ["in the beginning god created the heaven and the earth", "and the earth was without form and void",
                   "and darkness was upon the face of the deep"]
