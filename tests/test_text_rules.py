"""Word replacements and the profanity mask (captioner.text_rules): matching, case, masking, the stored format."""

from __future__ import annotations

from importlib import resources

import pytest

from captioner.text_rules import (
    Replacement,
    RulesFormatError,
    TextRules,
    compile_word_list,
    format_rules,
    mask_word,
    parse_rules,
)


def rules(*pairs: tuple[str, str], mask: bool = False) -> TextRules:
    return TextRules(tuple(Replacement(h, s) for h, s in pairs), mask_profanity=mask)


def test_whole_words_only_never_inside_another_word() -> None:
    r = rules(("api", "API"), ("cat", "Cat"))
    assert r.apply("the api and rapid apis, api") == "the API and rapid apis, API"
    assert r.apply("concatenate the catalogue; cat") == "concatenate the catalogue; Cat"
    assert r.apply("api_key api2 2api") == "api_key api2 2api"


def test_case_insensitive_and_inserted_as_typed() -> None:
    r = rules(("cooper netties", "Kubernetes"), ("GRAPH q l", "GraphQL"))
    assert r.apply("on COOPER Netties with graph Q L") == "on Kubernetes with GraphQL"


def test_punctuation_attached_to_words_stays() -> None:
    r = rules(("api", "API"))
    assert r.apply("api, (api) \"api\" api. api? api-driven") == "API, (API) \"API\" API. API? API-driven"
    assert r.apply("the api's docs; the api'll change") == "the API's docs; the API'll change"


def test_apostrophes_inside_words_are_not_boundaries() -> None:
    r = rules(("don", "Don"), ("clock", "CLOCK"))
    assert r.apply("don't stop at five o'clock, don") == "don't stop at five o'clock, Don"


def test_multi_word_phrases_match_across_spaces_but_not_punctuation() -> None:
    r = rules(("a p i", "API"))
    assert r.apply("the a p i and the a  p   i") == "the API and the API"
    assert r.apply("a, p i") == "a, p i"
    assert r.apply("a p in") == "a p in", "the last word must be whole too"


def test_longest_phrase_first_whatever_the_order_given() -> None:
    r = rules(("new york", "New York"), ("new york city", "NYC"), ("new", "novel"))
    assert r.apply("new york city, new york, new") == "NYC, New York, novel"


def test_one_pass_a_rule_output_is_not_replaced_again() -> None:
    r = rules(("a", "b"), ("b", "c"))
    assert r.apply("a b") == "b c"


def test_capital_kept_at_sentence_start_for_all_lower_case_replacement() -> None:
    r = rules(("jason", "json"), ("kuber", "Kubernetes"))
    assert r.apply("Jason is fine. Jason! \"Jason, said Jason") == 'Json is fine. Json! "Json, said json'
    assert r.apply("jason at the start") == "json at the start", "lower case heard stays as typed"
    assert r.apply("Kuber. kuber") == "Kubernetes. Kubernetes", "not all lower case: as typed"


def test_empty_duplicate_and_no_op_rules() -> None:
    r = rules(("  ", "x"), ("y", " "), ("same", "same"), ("api", "Api"), ("API", "A.P.I."))
    assert r.replacements == (Replacement("API", "A.P.I."),), "the later rule for the same words wins"
    assert r.apply("same y api") == "same y A.P.I."
    assert not rules(("same", "same")).active and not TextRules().active
    assert TextRules().apply("anything at all") == "anything at all"


def test_regex_characters_in_rules_are_literal() -> None:
    r = rules(("c plus plus", "C++"), ("a.b", "$1 \\1"))
    assert r.apply("c plus plus and a.b, axb") == "C++ and $1 \\1, axb"


def test_profanity_masked_with_word_forms() -> None:
    r = rules(mask=True)
    assert r.apply("Fuck this shit.") == "F*** this s***."
    assert r.apply("fucking motherfuckers, shitty bullshitting") == "f****** m************, s***** b***********"
    assert r.apply("bitches and pussies; the asshole's ass") == "b****** and p******; the a******'s a**"
    assert r.apply("he's pissed, pissing") == "he's p*****, p******"


def test_scunthorpe_words_stay() -> None:
    r = rules(mask=True)
    innocent = ("class assume Scunthorpe passage bass cockpit cocktail Dickens Pissarro arsenal spice "
                "niggling shitake hello Wankel title assassin")
    assert r.apply(innocent) == innocent


def test_mask_is_off_by_default_and_runs_after_replacements() -> None:
    assert rules().apply("oh shit") == "oh shit"
    assert rules(("shit", "shoot"), mask=True).apply("oh shit") == "oh shoot", "a rule can soften a word first"
    assert rules(("duck", "fuck"), mask=True).apply("oh duck") == "oh f***", "the mask covers rule output too"


def test_every_shipped_entry_is_masked() -> None:
    text = (resources.files("captioner") / "resources" / "profanity-en.txt").read_text(encoding="utf-8")
    entries = [line.strip().strip("*") for line in text.splitlines()
               if line.strip() and not line.lstrip().startswith(("#", "!"))]
    assert len(entries) >= 50
    r = rules(mask=True)
    for word in entries:
        assert r.apply(word) == mask_word(word), word


def test_word_list_format() -> None:
    pattern = compile_word_list("# comment\nfoo\nbar*\n*baz\n*qux*\nberry\n!barn\n")
    assert pattern is not None

    def masked(word: str) -> bool:
        return pattern.fullmatch(word) is not None

    assert masked("foo") and masked("FOOS") and masked("fooes") and not masked("food")
    assert masked("bars") and masked("barbecue") and not masked("barn") and not masked("crowbar")
    assert masked("mybaz") and not masked("bazaar")
    assert masked("aquxb")
    assert masked("berries") and masked("berrys")
    assert compile_word_list("# nothing\n\n") is None


def test_parse_format_round_trip() -> None:
    stored = "# my words\ncooper netties => Kubernetes\n\n  a   p i =>API  \nx => a => b\n"
    parsed = parse_rules(stored)
    assert parsed == (Replacement("cooper netties", "Kubernetes"), Replacement("a p i", "API"),
                      Replacement("x", "a => b"))
    assert format_rules(parsed) == "cooper netties => Kubernetes\na p i => API\nx => a => b\n"
    assert parse_rules(format_rules(parsed)) == parsed
    assert format_rules([Replacement("", "x"), Replacement("y", "")]) == ""
    assert parse_rules("") == ()


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a => b\nno arrow here", 2, "expected"),
    ("a => b\n\nc -> d", 3, "'->'"),
    ("  => shown", 1, "nothing before"),
    ("# c\nheard =>   ", 2, "nothing after"),
])
def test_malformed_lines_name_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(RulesFormatError) as caught:
        parse_rules(text)
    assert isinstance(caught.value, ValueError)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"Line {line}: ") and words in str(caught.value)


def test_unstorable_rules_are_refused_not_mangled() -> None:
    with pytest.raises(ValueError, match="cannot contain"):
        format_rules([Replacement("a => b", "c")])
    with pytest.raises(ValueError, match="comment"):
        format_rules([Replacement("#tag", "c")])
