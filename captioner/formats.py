"""Transcript formats, rendered by one function for ``captioner transcribe`` and the app's export alike.

Subtitle cues follow the usual reading rules: at most two lines of about 42 characters, on screen at
least a second (or until the next cue), never overlapping the next one. When several sources were
captioned, each line carries its source's label: "You: ..." in text and SRT, a ``<v You>`` voice tag in
WebVTT, a ``source`` field in JSON.
"""

from __future__ import annotations

import enum
import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from captioner.asr.segmenter import Segment

LINE_CHARS = 42
CUE_LINES = 2
MIN_CUE_S = 1.0


class TranscriptFormat(enum.Enum):
    TEXT = "text"
    TIMED_TEXT = "timed-text"
    SRT = "srt"
    VTT = "vtt"
    JSON = "json"

    @property
    def suffix(self) -> str:
        return {"text": ".txt", "timed-text": ".txt"}.get(self.value, f".{self.value}")


FORMATS = tuple(f.value for f in TranscriptFormat)


def _clock(seconds: float, decimal: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def srt_time(seconds: float) -> str:
    return _clock(seconds, ",")


def vtt_time(seconds: float) -> str:
    return _clock(seconds, ".")


def clock(seconds: float) -> str:
    """``hh:mm:ss``, for transcripts read by people."""
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def labelled(segment: Segment) -> str:
    """The line as a reader sees it: with its source's label when there is one."""
    return f"{segment.source}: {segment.text}" if segment.source and not segment.gap else segment.text


def in_time_order(segments: Sequence[Segment]) -> list[Segment]:
    """Lines of several sources arrive as each is decided; transcripts list them by when they were said."""
    return sorted(segments, key=lambda s: s.start_s)


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    lines: tuple[str, ...]
    voice: str = ""


def cues(segments: Sequence[Segment], width: int = LINE_CHARS, max_lines: int = CUE_LINES,
         label_in_text: bool = True) -> list[Cue]:
    """Subtitle cues: each segment wrapped to ``width``, cut into cues of ``max_lines`` (a longer segment's time
    shared out by characters), shown at least ``MIN_CUE_S`` or until the next cue, never overlapping it.
    ``label_in_text``: the source's label starts the text (SRT); otherwise it is the cue's ``voice`` (WebVTT)."""
    raw: list[Cue] = []
    for segment in in_time_order(segments):
        text = labelled(segment) if label_in_text else segment.text
        voice = "" if label_in_text or segment.gap else segment.source
        lines = textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)
        if not lines:
            continue
        groups = [tuple(lines[i:i + max_lines]) for i in range(0, len(lines), max_lines)]
        total = sum(len(" ".join(g)) for g in groups)
        start, span = segment.start_s, max(segment.end_s - segment.start_s, 0.0)
        for group in groups:
            share = span * len(" ".join(group)) / total
            raw.append(Cue(start, start + share, group, voice))
            start += share
    timed = []
    for i, cue in enumerate(raw):
        end = max(cue.end_s, cue.start_s + MIN_CUE_S)
        if i + 1 < len(raw):
            end = min(end, raw[i + 1].start_s)
        timed.append(Cue(cue.start_s, max(end, cue.start_s + 0.001), cue.lines, cue.voice))
    return timed


def to_text(segments: Sequence[Segment]) -> str:
    return "".join(f"{labelled(s)}\n" for s in in_time_order(segments) if s.text)


def to_timed_text(segments: Sequence[Segment]) -> str:
    return "".join(f"[{clock(s.start_s)}] {labelled(s)}\n" for s in in_time_order(segments) if s.text)


def to_srt(segments: Sequence[Segment]) -> str:
    blocks = [f"{i}\n{srt_time(c.start_s)} --> {srt_time(c.end_s)}\n" + "\n".join(c.lines) + "\n"
              for i, c in enumerate(cues(segments), start=1)]
    return "\n".join(blocks)


def _vtt_text(cue: Cue) -> str:
    text = "\n".join(cue.lines)
    if not cue.voice:
        return text
    voice = cue.voice.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<v {voice}>" + text


def to_vtt(segments: Sequence[Segment]) -> str:
    blocks = [f"{vtt_time(c.start_s)} --> {vtt_time(c.end_s)}\n" + _vtt_text(c) + "\n"
              for c in cues(segments, label_in_text=False)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def segment_record(segment: Segment) -> dict[str, Any]:
    """One line as JSON (the export and the autosave): ``source`` only when several sources were captioned."""
    record: dict[str, Any] = {"start": round(segment.start_s, 3), "end": round(segment.end_s, 3),
                              "text": segment.text, "gap": segment.gap}
    if segment.source:
        record["source"] = segment.source
    if segment.heard:
        record["heard"] = segment.heard
    return record


def segments_to_json(segments: Sequence[Segment], **extra: Any) -> str:
    ordered = in_time_order(segments)
    payload = {
        **extra,
        "text": " ".join(s.text for s in ordered if s.text and not s.gap),
        "segments": [segment_record(s) for s in ordered],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def render(segments: Sequence[Segment], fmt: TranscriptFormat, **json_extra: Any) -> str:
    """The whole transcript in ``fmt``; ``json_extra`` goes into the JSON object (model, settings...)."""
    if fmt is TranscriptFormat.TEXT:
        return to_text(segments)
    if fmt is TranscriptFormat.TIMED_TEXT:
        return to_timed_text(segments)
    if fmt is TranscriptFormat.SRT:
        return to_srt(segments)
    if fmt is TranscriptFormat.VTT:
        return to_vtt(segments)
    return segments_to_json(segments, **json_extra)
