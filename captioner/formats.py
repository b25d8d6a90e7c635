"""Transcript formats, rendered by one function for ``captioner transcribe`` and the app's export alike.

Subtitle cues follow the usual reading rules: at most two lines of about 42 characters, on screen at
least a second (or until the next cue), never overlapping the next one.
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


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    lines: tuple[str, ...]


def cues(segments: Sequence[Segment], width: int = LINE_CHARS, max_lines: int = CUE_LINES) -> list[Cue]:
    """Subtitle cues: each segment wrapped to ``width``, cut into cues of ``max_lines`` (a longer segment's time
    shared out by characters), shown at least ``MIN_CUE_S`` or until the next cue, never overlapping it."""
    raw: list[Cue] = []
    for segment in segments:
        lines = textwrap.wrap(segment.text, width=width, break_long_words=False, break_on_hyphens=False)
        if not lines:
            continue
        groups = [tuple(lines[i:i + max_lines]) for i in range(0, len(lines), max_lines)]
        total = sum(len(" ".join(g)) for g in groups)
        start, span = segment.start_s, max(segment.end_s - segment.start_s, 0.0)
        for group in groups:
            share = span * len(" ".join(group)) / total
            raw.append(Cue(start, start + share, group))
            start += share
    timed = []
    for i, cue in enumerate(raw):
        end = max(cue.end_s, cue.start_s + MIN_CUE_S)
        if i + 1 < len(raw):
            end = min(end, raw[i + 1].start_s)
        timed.append(Cue(cue.start_s, max(end, cue.start_s + 0.001), cue.lines))
    return timed


def to_text(segments: Sequence[Segment]) -> str:
    return "".join(f"{s.text}\n" for s in segments if s.text)


def to_timed_text(segments: Sequence[Segment]) -> str:
    return "".join(f"[{clock(s.start_s)}] {s.text}\n" for s in segments if s.text)


def to_srt(segments: Sequence[Segment]) -> str:
    blocks = [f"{i}\n{srt_time(c.start_s)} --> {srt_time(c.end_s)}\n" + "\n".join(c.lines) + "\n"
              for i, c in enumerate(cues(segments), start=1)]
    return "\n".join(blocks)


def to_vtt(segments: Sequence[Segment]) -> str:
    blocks = [f"{vtt_time(c.start_s)} --> {vtt_time(c.end_s)}\n" + "\n".join(c.lines) + "\n" for c in cues(segments)]
    return "WEBVTT\n\n" + "\n".join(blocks)


def segments_to_json(segments: Sequence[Segment], **extra: Any) -> str:
    payload = {
        **extra,
        "text": " ".join(s.text for s in segments if s.text and not s.gap),
        "segments": [
            {"start": round(s.start_s, 3), "end": round(s.end_s, 3), "text": s.text, "gap": s.gap}
            for s in segments
        ],
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
