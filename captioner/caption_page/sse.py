"""The server-sent-events wire format: one place that turns events into bytes and reads back ``Last-Event-ID``.

Event ids are ``<session>.<seq>``: the session changes on every ``clear()`` (and every server start), so a page
that reconnects with an id from an older session is told to start over instead of being sent a gap.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

RETRY_MS = 2000
KEEPALIVE = b": keep-alive\n\n"
_EVENT_ID = re.compile(r"([0-9a-f]{8,32})\.([0-9]{1,18})")


class EventId(NamedTuple):
    """Where a page got to: the session it saw and the sequence number of the last committed line it has."""

    session: str
    seq: int

    def __str__(self) -> str:
        return f"{self.session}.{self.seq}"


def parse_event_id(value: str | None) -> EventId | None:
    """The ``Last-Event-ID`` a reconnecting page sends, or None when it is missing or not one of ours."""
    if not value:
        return None
    match = _EVENT_ID.fullmatch(value.strip())
    return EventId(match.group(1), int(match.group(2))) if match else None


def encode(event: str, data: object, event_id: EventId | None = None) -> bytes:
    """One SSE message; the JSON payload is a single line (JSON escapes CR and LF), so it needs one ``data:``."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id is not None else ""
    # A lone surrogate (text decoded badly upstream) must not kill the stream: it becomes U+FFFD.
    return f"{head}event: {event}\ndata: {payload}\n\n".encode("utf-8", "replace")


def retry_directive(ms: int = RETRY_MS) -> bytes:
    """Tells the browser how soon to reconnect when the stream drops."""
    return f"retry: {ms}\n\n".encode("ascii")
