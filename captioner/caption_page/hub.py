"""The caption state every page sees, and the fan-out of its changes to each connected page.

Publishing never touches a socket: it encodes an event once and drops it into each page's bounded queue. A page
whose queue is full (a stalled or dead client) is dropped and its connection aborted; when it comes back it
catches up from the history, so nothing it needs is lost and nobody else waits for it.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from captioner.caption_page import sse
from captioner.caption_page.model import PageCaption, PageStyle, css_variables

LIVE_CATCHUP = 12  # committed lines a live page gets on connect; it shows at most PageStyle.lines of them


class View(Enum):
    """Which page is listening: the live captions need the last few lines, the transcript needs all of them."""

    LIVE = "live"
    TRANSCRIPT = "transcript"


@dataclass(frozen=True)
class Outgoing:
    """One encoded event; an unsent event with the same ``key`` is superseded by it (tentative text, style)."""

    data: bytes
    key: str | None = None


class Subscriber:
    """One open event stream's queue: bounded, never blocks the publisher, closes itself when it overflows."""

    def __init__(self, view: View, limit: int, on_overflow: Callable[[], None] | None = None) -> None:
        self.view = view
        self._limit = limit
        self._on_overflow = on_overflow
        self._pending: deque[Outgoing] = deque()
        self._closed = False
        self._cond = threading.Condition()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def offer(self, event: Outgoing) -> bool:
        """Queue ``event``; False (and the subscriber is closed) when the client has fallen too far behind."""
        with self._cond:
            if self._closed:
                return False
            if event.key is not None:
                stale = [e for e in self._pending if e.key == event.key]
                for e in stale:
                    self._pending.remove(e)
            if len(self._pending) >= self._limit:
                self._closed = True
                self._pending.clear()
                self._cond.notify_all()
                overflowed = True
            else:
                self._pending.append(event)
                self._cond.notify_all()
                overflowed = False
        if overflowed and self._on_overflow is not None:
            self._on_overflow()
        return not overflowed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()

    def take(self, timeout: float) -> list[bytes] | None:
        """Everything queued, waiting up to ``timeout`` for something; [] on timeout, None once closed."""
        with self._cond:
            if not self._pending and not self._closed:
                self._cond.wait(timeout)
            if self._closed:
                return None
            out = [e.data for e in self._pending]
            self._pending.clear()
            return out


class CaptionHub:
    """Committed history, open tentative text, style and the set of subscribers, behind one lock.

    One lock keeps the order of events identical for every page and makes "replay the history, then follow the
    live events" atomic for a page that connects while captions are being published: no line twice, none missed.
    """

    def __init__(self, style: PageStyle, history: int, queue_limit: int, live_catchup: int = LIVE_CATCHUP) -> None:
        if history < 1:
            raise ValueError(f"history must be at least 1 line, got {history}")
        if queue_limit < 1:
            raise ValueError(f"queue_limit must be at least 1, got {queue_limit}")
        self._queue_limit = queue_limit
        self._live_catchup = live_catchup
        self._cond = threading.Condition()
        self._session = secrets.token_hex(8)
        self._seq = 0
        self._history: deque[tuple[int, bytes]] = deque(maxlen=history)
        self._tentative: dict[str, str] = {}
        self._slots: dict[str, int] = {}
        self._style = style
        self._subscribers: set[Subscriber] = set()

    # Publishing -------------------------------------------------------------------------------------------------

    def publish_committed(self, caption: PageCaption) -> None:
        """Append a final line; it also ends that source's tentative text, which it replaces on the page."""
        with self._cond:
            slot = self._slot(caption.source)
            self._seq += 1
            payload = {"source": caption.source, "slot": slot, "text": caption.text, "start": caption.start_s,
                       "end": caption.end_s, "gap": caption.gap}
            data = sse.encode("committed", payload, sse.EventId(self._session, self._seq))
            self._history.append((self._seq, data))
            self._tentative.pop(caption.source, None)
            self._broadcast(Outgoing(data))

    def publish_tentative(self, source: str, text: str) -> None:
        """Replace ``source``'s open text ("" clears it); repeats of the same text send nothing."""
        with self._cond:
            if self._tentative.get(source, "") == text:
                return
            if text:
                self._tentative[source] = text
            else:
                self._tentative.pop(source, None)
            self._broadcast(Outgoing(self._tentative_event(source), key=f"tentative:{source}"))

    def set_style(self, style: PageStyle) -> None:
        with self._cond:
            self._style = style
            self._broadcast(Outgoing(self._style_event(), key="style"))

    def clear(self) -> None:
        """Start a new session: pages drop what they show, and old event ids stop being resumable."""
        with self._cond:
            self._session = secrets.token_hex(8)
            self._history.clear()
            self._tentative.clear()
            self._slots.clear()
            self._broadcast(Outgoing(self._reset_event(self._seq)))

    # Subscribing ------------------------------------------------------------------------------------------------

    def subscribe(self, view: View, last_event_id: str | None,
                  on_overflow: Callable[[], None] | None = None) -> tuple[Subscriber, bytes]:
        """A new subscriber and the bytes that bring its page up to date, taken atomically with the registration.

        A page that reconnects with an id from this session, whose missed lines are all still in the history, gets
        only those lines; any other page is reset and gets the history (the last few lines for a live page).
        """
        resume = sse.parse_event_id(last_event_id)
        with self._cond:
            parts = [sse.retry_directive()]
            if resume is not None and self._can_resume(resume):
                lines = [data for seq, data in self._history if seq > resume.seq]
                if view is View.LIVE:
                    lines = lines[-self._live_catchup:]
            else:
                kept = list(self._history)
                if view is View.LIVE:
                    kept = kept[-self._live_catchup:]
                before = kept[0][0] - 1 if kept else self._seq
                parts.append(self._reset_event(before))
                lines = [data for _, data in kept]
            parts.append(self._style_event())
            parts.extend(lines)
            parts.extend(self._tentative_event(source) for source in self._slots)
            subscriber = Subscriber(view, self._queue_limit, on_overflow)
            self._subscribers.add(subscriber)
            self._cond.notify_all()
            return subscriber, b"".join(parts)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscriber.close()
        with self._cond:
            self._subscribers.discard(subscriber)
            self._cond.notify_all()

    def close_all(self) -> None:
        """End every stream (server stop): each waiting stream wakes up and finishes."""
        with self._cond:
            for subscriber in self._subscribers:
                subscriber.close()
            self._subscribers.clear()
            self._cond.notify_all()

    @property
    def style(self) -> PageStyle:
        with self._cond:
            return self._style

    @property
    def subscriber_count(self) -> int:
        with self._cond:
            return len(self._subscribers)

    def wait_for_subscribers(self, count: int, timeout: float) -> bool:
        """Wait until exactly ``count`` streams are open; False if that did not happen within ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._subscribers) == count, timeout)

    # Internals (called with the lock held) ----------------------------------------------------------------------

    def _can_resume(self, resume: sse.EventId) -> bool:
        if resume.session != self._session or resume.seq > self._seq:
            return False
        if resume.seq == self._seq:
            return True
        return bool(self._history) and self._history[0][0] <= resume.seq + 1

    def _slot(self, source: str) -> int:
        """A stable small number per source, in order of appearance, so every page colours a source alike."""
        return self._slots.setdefault(source, len(self._slots))

    def _broadcast(self, event: Outgoing) -> None:
        dropped = [s for s in list(self._subscribers) if not s.offer(event)]
        if dropped:
            self._subscribers.difference_update(dropped)
            self._cond.notify_all()

    def _tentative_event(self, source: str) -> bytes:
        payload = {"source": source, "slot": self._slot(source), "text": self._tentative.get(source, "")}
        return sse.encode("tentative", payload)

    def _style_event(self) -> bytes:
        payload: dict[str, Any] = {"vars": css_variables(self._style), "lines": self._style.lines,
                                   "transparent": self._style.transparent}
        return sse.encode("style", payload)

    def _reset_event(self, seq: int) -> bytes:
        sources = sorted(self._slots, key=self._slots.__getitem__)
        return sse.encode("reset", {"sources": sources}, sse.EventId(self._session, seq))
