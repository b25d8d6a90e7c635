"""``tools/wer.py``, the one WER: the accuracy benchmark, the demo model's training and the word-level tests use it."""

from __future__ import annotations

import pytest

from tools.wer import normalize, wer, word_count, word_errors


@pytest.mark.parametrize(("ref", "hyp", "errors"), [
    ("send the report", "send the report", 0),
    ("send the report", "send a report", 1),          # substitution
    ("send the report", "send report", 1),            # deletion
    ("send the report", "send the final report", 1),  # insertion
    ("send the report", "", 3),
    ("", "hello", 1),
    ("Let's meet at noon.", "let's meet at noon", 0),  # case and punctuation do not count
    ("a b c d", "b c d a", 2),
])
def test_word_errors(ref: str, hyp: str, errors: int) -> None:
    assert word_errors(ref, hyp) == errors


def test_wer_and_normalize() -> None:
    assert normalize("It's 5 O'Clock, Anna!") == ["it's", "5", "o'clock", "anna"]
    assert wer("one two three four", "one two tree four") == pytest.approx(0.25)
    assert word_count("It's 5 O'Clock, Anna!") == 4 and word_count("") == 0
    assert wer("", "") == 0.0


def test_case_punctuation_and_tags_do_not_count() -> None:
    from tools.wer import normalize, word_errors

    assert word_errors("good morning everyone can you hear me", "Good morning, everyone. Can you hear me?") == 0
    assert normalize("<en-US> Straße, CAFÉ-au-lait… it's") == ["strasse", "café", "au", "lait", "it's"]
    assert word_errors("the budget report", "The budget, report!") == 0
    assert word_errors("the budget report", "The budget reports") == 1


def test_the_training_and_the_benchmark_count_with_this_wer() -> None:
    """The demo model's dev WER and the held-out benchmark use these functions, not copies of their own."""
    import benchmarks.demo_model_wer as benchmark
    import tools.wer
    from tools.demo_model import train

    for user in (train, benchmark):
        assert user.word_errors is tools.wer.word_errors and user.word_count is tools.wer.word_count
