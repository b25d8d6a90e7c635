"""Transcript file formats shared by ``captioner transcribe`` and the app's export."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from captioner.asr.segmenter import Segment

FORMATS = ("text", "json", "srt", "vtt")


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


def to_text(segments: Sequence[Segment]) -> str:
    return "".join(f"{s.text}\n" for s in segments if s.text)


def to_srt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{i}\n{srt_time(s.start_s)} --> {srt_time(max(s.end_s, s.start_s + 0.001))}\n{s.text}\n"
        for i, s in enumerate((s for s in segments if s.text), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{vtt_time(s.start_s)} --> {vtt_time(max(s.end_s, s.start_s + 0.001))}\n{s.text}\n"
        for s in segments if s.text
    ]
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
