"""Caption segmentation and the transcript formats."""

from __future__ import annotations

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
    assert srt.startswith("1\n00:00:00,000 --> 00:00:00,680\nhello world.\n\n2\n01:01:01,500 --> ")
    vtt = to_vtt(segments)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:00.680\nhello world.\n")
    data = json.loads(segments_to_json(segments, model="m"))
    assert data["model"] == "m" and data["text"] == "hello world. next"
    assert data["segments"][1]["start"] == 3661.5
