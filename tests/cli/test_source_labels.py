"""Captions of several sources carry their labels into every transcript format and the CLI's output."""

from __future__ import annotations

import json
from pathlib import Path

from captioner.asr.segmenter import Segment
from captioner.formats import TranscriptFormat, render
from tests.cli.test_cli import MODEL, SPEECH, run

LINES = [
    Segment("can you share your screen", 0.5, 2.0, source="Others"),
    Segment("sure, one moment", 1.2, 2.6, source="You"),  # committed later, started earlier than the next
    Segment("[1.5 s of audio missing]", 3.0, 4.5, gap=True, source="You"),
]


def test_text_formats_prefix_the_label_and_keep_time_order() -> None:
    shuffled = [LINES[1], LINES[0], LINES[2]]
    assert render(shuffled, TranscriptFormat.TEXT) == (
        "Others: can you share your screen\nYou: sure, one moment\n[1.5 s of audio missing]\n")
    assert render(shuffled, TranscriptFormat.TIMED_TEXT).splitlines()[:2] == [
        "[00:00:00] Others: can you share your screen", "[00:00:01] You: sure, one moment"]


def test_srt_names_the_speaker_and_vtt_uses_voice_tags() -> None:
    srt = render(LINES, TranscriptFormat.SRT)
    assert "Others: can you share your screen" in srt and "You: sure, one moment" in srt
    vtt = render(LINES, TranscriptFormat.VTT)
    assert "<v Others>can you share your screen" in vtt and "<v You>sure, one moment" in vtt
    assert "<v You>[1.5 s" not in vtt, "a gap marker is nobody's words"


def test_json_gives_each_segment_its_source_and_one_source_stays_unlabelled() -> None:
    data = json.loads(render(LINES, TranscriptFormat.JSON))
    assert [s["source"] for s in data["segments"]] == ["Others", "You", "You"]
    plain = json.loads(render([Segment("hello", 0.0, 1.0)], TranscriptFormat.JSON))
    assert "source" not in plain["segments"][0]
    assert render([Segment("hello", 0.0, 1.0)], TranscriptFormat.TEXT) == "hello\n"


def test_cli_sources_are_labelled_and_merged_by_time(tmp_path: Path) -> None:
    result = run("transcribe", "--source", f"Others={SPEECH}", "--source", f"You={SPEECH}", "--model", MODEL,
                 "--lookahead-ms", "80", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    segments = data["segments"]
    assert {s["source"] for s in segments} == {"Others", "You"}
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    alone = json.loads(run("transcribe", SPEECH, "--model", MODEL, "--lookahead-ms", "80", "--format", "json").stdout)
    for name in ("Others", "You"):
        assert " ".join(s["text"] for s in segments if s["source"] == name) == alone["text"]
    assert [s["name"] for s in data["sources"]] == ["Others", "You"]


def test_cli_prefer_shows_words_heard_on_both_once() -> None:
    result = run("transcribe", "--source", f"Others={SPEECH}", "--source", f"You={SPEECH}", "--model", MODEL,
                 "--lookahead-ms", "80", "--prefer", "Others", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["segments"] and {s["source"] for s in data["segments"]} == {"Others"}
    assert data["echoes_dropped"] == len(data["segments"])


def test_cli_source_mistakes_are_explained() -> None:
    for args, expected in [
        (("--source", f"{SPEECH}"), "is not NAME=FILE"),
        (("--source", f"A={SPEECH}", "--source", f"A={SPEECH}"), "Two sources are called 'A'"),
        (("--source", f"A={SPEECH}", "--prefer", "B"), "names no --source"),
        ((SPEECH, "--source", f"A={SPEECH}"), "not both"),
        ((), "Give an AUDIO file"),
    ]:
        result = run("transcribe", *args, "--model", MODEL)
        assert result.returncode != 0 and expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
