"""Caption segmentation and the transcript formats."""

from __future__ import annotations

import itertools
import json

from captioner.asr.recognizer import Token
from captioner.asr.segmenter import CaptionSegmenter, segment_tokens
from captioner.formats import segments_to_json, srt_time, to_srt, to_text, to_vtt

WORDS = {1: " hello", 2: " world", 3: ".", 4: " next", 5: " line", 6: "s"}


def decode(ids: object) -> str:
    return "".join(WORDS[i] for i in ids)  # type: ignore[attr-defined]


def tok(i: int, t: float) -> Token:
    return Token(i, WORDS[i], round(t / 0.08), t)


def test_sentence_end_and_pause_commit() -> None:
    seg = CaptionSegmenter(decode, frame_s=0.08, pause_s=0.8)
    update = seg.push([tok(1, 0.0), tok(2, 0.3)], now_s=0.5)
    assert update.committed == [] and update.tentative == "hello world"
    update = seg.push([tok(3, 0.5), tok(4, 0.7)], now_s=0.9)
    assert [s.text for s in update.committed] == ["hello world."]
    assert update.tentative == "next"
    update = seg.push([], now_s=1.6)
    assert [s.text for s in update.committed] == ["next"] and update.tentative == ""
    assert update.committed[0].start_s == 0.7


def test_long_line_breaks_only_at_word_start() -> None:
    seg = CaptionSegmenter(decode, frame_s=0.08, pause_s=10.0, max_line_s=1.0)
    out = seg.push([tok(4, 0.0), tok(5, 0.5), tok(6, 1.2), tok(4, 1.3)], now_s=1.3)
    assert [s.text for s in out.committed] == ["next lines"]
    assert out.tentative == "next"


def test_gap_marker() -> None:
    seg = CaptionSegmenter(decode, frame_s=0.08)
    seg.push([tok(1, 0.0)], now_s=0.1)
    out = seg.mark_gap(2.0, 5.0)
    assert [s.gap for s in out] == [False, True]
    assert "3.0 s skipped" in out[1].text


def test_formats() -> None:
    segments = segment_tokens([tok(1, 0.0), tok(2, 0.4), tok(3, 0.6), tok(4, 3661.5)], decode, 0.08)
    assert to_text(segments) == "hello world.\nnext\n"
    assert srt_time(3661.5) == "01:01:01,500"
    srt = to_srt(segments)
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,000\nhello world.\n\n2\n01:01:01,500 --> ")  # 1 s at least
    vtt = to_vtt(segments)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhello world.\n")
    data = json.loads(segments_to_json(segments, model="m"))
    assert data["model"] == "m" and data["text"] == "hello world. next"
    assert data["segments"][1]["start"] == 3661.5


def test_cli_lists_every_transcript_format() -> None:
    from captioner.cli.main import FORMATS
    from captioner.formats import TranscriptFormat

    assert set(FORMATS) == {f.value for f in TranscriptFormat}


def _token(i: int, text: str, start: float) -> Token:
    return Token(i, text, int(start / 0.08), start)


def test_long_lines_break_at_phrases_and_cues_follow_reading_rules() -> None:
    from captioner.formats import MIN_CUE_S, cues, to_srt, to_timed_text

    sentence = ("so the plan for this quarter is to finish the installer and the model manager, then we look at "
                "the two source captioning that people keep asking for in the tracker")
    words = sentence.split(" ")
    tokens, t = [], 0.0
    for i, word in enumerate(words):
        t += 0.45 if word == "then" else 0.25  # a longer pause before "then": a phrase boundary
        tokens.append(_token(i, " " + word, t))
    texts = {i: " " + w for i, w in enumerate(words)}
    segments = segment_tokens(tokens, lambda ids: "".join(texts[i] for i in ids), 0.08)
    assert all(len(s.text) <= 84 for s in segments) and len(segments) >= 2
    assert segments[0].text.endswith("model manager,")  # after the comma, not in the middle of a phrase
    made = cues(segments)
    assert all(len(c.lines) <= 2 and all(len(line) <= 42 for line in c.lines) for c in made)
    assert all(c.end_s - c.start_s >= MIN_CUE_S - 1e-9 or c.end_s == nxt.start_s for c, nxt in itertools.pairwise(made))
    assert all(c.end_s <= nxt.start_s for c, nxt in itertools.pairwise(made)), "cues never overlap"
    assert to_srt(segments).count(" --> ") == len(made)
    assert to_timed_text(segments).splitlines()[0].startswith("[00:00:00] so the plan")


def test_short_cues_last_a_second_unless_the_next_comes_sooner() -> None:
    from captioner.asr.segmenter import Segment
    from captioner.formats import cues

    made = cues([Segment("yes", 1.0, 1.08), Segment("no", 1.5, 1.58), Segment("fine", 5.0, 5.08)])
    assert [(c.start_s, c.end_s) for c in made] == [(1.0, 1.5), (1.5, 2.5), (5.0, 6.0)]
