"""The fan-out without sockets: catch-up and resume rules, coalescing, and dropping a page that lags."""

from __future__ import annotations

import json
import re
import threading

from captioner.caption_page import PageStyle
from captioner.caption_page.hub import CaptionHub, Outgoing, Subscriber, View

from .client import caption


def events(blob: bytes) -> list[tuple[str, dict[str, object], str | None]]:
    """(event, data, id) for each message in a catch-up blob."""
    out = []
    for block in blob.decode().split("\n\n"):
        fields = dict(re.findall(r"^(id|event|data): (.*)$", block, re.M))
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
    return out


def texts(blob: bytes) -> list[object]:
    return [data["text"] for name, data, _ in events(blob) if name == "committed"]


def hub(**kwargs: int) -> CaptionHub:
    return CaptionHub(PageStyle(), history=kwargs.get("history", 100), queue_limit=kwargs.get("queue_limit", 50),
                      live_catchup=kwargs.get("live_catchup", 12))


def test_fresh_page_is_reset_then_caught_up() -> None:
    h = hub(live_catchup=3)
    for i in range(5):
        h.publish_committed(caption(f"line {i}", "You" if i % 2 else "Others"))
    h.publish_tentative("You", "open")
    _, live = h.subscribe(View.LIVE, None)
    names = [name for name, _, _ in events(live)]
    assert names == ["reset", "style", "committed", "committed", "committed", "tentative", "tentative"]
    assert texts(live) == ["line 2", "line 3", "line 4"]
    reset = events(live)[0]
    assert reset[1] == {"sources": ["Others", "You"]}
    assert reset[2] is not None and reset[2].endswith(".2")  # resuming from the reset asks for line 3 onwards
    _, transcript = h.subscribe(View.TRANSCRIPT, None)
    assert texts(transcript) == [f"line {i}" for i in range(5)]


def test_reconnect_in_the_same_session_gets_only_what_it_missed() -> None:
    h = hub()
    for i in range(3):
        h.publish_committed(caption(f"line {i}"))
    _, first = h.subscribe(View.LIVE, None)
    last_id = events(first)[-2][2]  # the last committed line's id (the tentative event that follows has none)
    h.publish_committed(caption("missed"))
    _, again = h.subscribe(View.LIVE, last_id)
    assert [name for name, _, _ in events(again)] == ["style", "committed", "tentative"]
    assert texts(again) == ["missed"]


def test_reconnect_from_another_session_or_beyond_the_history_starts_over() -> None:
    h = hub(history=3)
    h.publish_committed(caption("old"))
    _, first = h.subscribe(View.LIVE, None)
    old_id = events(first)[2][2]
    for i in range(5):
        h.publish_committed(caption(f"new {i}"))
    _, too_old = h.subscribe(View.TRANSCRIPT, old_id)
    assert events(too_old)[0][0] == "reset" and texts(too_old) == ["new 2", "new 3", "new 4"]
    h.clear()
    _, other_session = h.subscribe(View.TRANSCRIPT, old_id)
    assert events(other_session)[0][0] == "reset" and texts(other_session) == []
    session = events(other_session)[0][2]
    assert session is not None
    _, future = h.subscribe(View.TRANSCRIPT, f"{session.split('.')[0]}.999")  # an id this session never sent
    assert events(future)[0][0] == "reset"


def test_committed_line_ends_its_sources_tentative_text() -> None:
    h = hub()
    h.publish_tentative("You", "hello wor")
    h.publish_tentative("Others", "yes")
    h.publish_committed(caption("Hello world.", "You"))
    _, blob = h.subscribe(View.LIVE, None)
    tentative = {data["source"]: data["text"] for name, data, _ in events(blob) if name == "tentative"}
    assert tentative == {"You": "", "Others": "yes"}


def test_newer_tentative_text_supersedes_unsent_text_and_keeps_order() -> None:
    h = hub()
    sub, _ = h.subscribe(View.LIVE, None)
    h.publish_tentative("You", "hel")
    h.publish_committed(caption("Earlier line.", "Others"))
    h.publish_tentative("You", "hello")
    h.publish_tentative("You", "hello")  # unchanged: nothing sent
    got = b"".join(sub.take(0) or [])
    assert [(name, data["text"]) for name, data, _ in events(got)] == [("committed", "Earlier line."),
                                                                      ("tentative", "hello")]


def test_lagging_subscriber_is_dropped_and_aborted_without_blocking() -> None:
    h = hub(queue_limit=5)
    aborted = threading.Event()
    sub, _ = h.subscribe(View.LIVE, None, on_overflow=aborted.set)
    healthy, _ = h.subscribe(View.TRANSCRIPT, None)
    for i in range(5):
        h.publish_committed(caption(f"line {i}"))
        assert healthy.take(0) is not None  # this one keeps up
    assert not aborted.is_set() and h.subscriber_count == 2
    h.publish_committed(caption("one too many"))
    assert aborted.is_set() and sub.closed and sub.take(0) is None
    assert h.subscriber_count == 1 and h.wait_for_subscribers(1, 0)


def test_subscriber_take_waits_for_events_and_close() -> None:
    sub = Subscriber(View.LIVE, limit=10)
    assert sub.take(0.01) == []
    waiter_result: list[list[bytes] | None] = []
    started = threading.Event()

    def waiter() -> None:
        started.set()
        waiter_result.append(sub.take(10))

    thread = threading.Thread(target=waiter)
    thread.start()
    started.wait(5)
    sub.offer(Outgoing(b"x"))
    thread.join(5)
    assert waiter_result == [[b"x"]]
    sub.close()
    assert sub.take(10) is None and not sub.offer(Outgoing(b"y"))


def test_style_update_reaches_subscribers() -> None:
    h = hub()
    sub, _ = h.subscribe(View.LIVE, None)
    h.set_style(PageStyle(font_size_px=30, lines=2))
    h.set_style(PageStyle(font_size_px=31, lines=2))
    got = events(b"".join(sub.take(0) or []))
    assert len(got) == 1 and got[0][0] == "style"
    assert got[0][1]["lines"] == 2 and got[0][1]["vars"]["--cp-font-size"] == "31px"  # type: ignore[index]
