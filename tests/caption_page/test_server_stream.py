"""Live updates over a real socket: order, catch-up on reconnect, keep-alive, slow clients and a prompt stop."""

from __future__ import annotations

import socket
import threading
import time

from captioner.caption_page import CaptionPageServer, PageCaption, PageStyle

from .client import Event, EventStream, caption, request_bytes
from .conftest import MakeServer


def open_stream(server: CaptionPageServer, **kwargs: object) -> EventStream:
    stream = EventStream(server.port, server.token, **kwargs).open()  # type: ignore[arg-type]
    assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")
    return stream


def summary(events: list[Event]) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for e in events:
        if e.event in ("committed", "tentative"):
            out.append((e.event, f"{e.data['source']}: {e.data['text']}"))
        else:
            out.append((e.event, None))
    return out


def closed_by_server(sock: socket.socket) -> bool:
    """The server ended the connection: end of stream, or a reset when it closed with bytes still unread."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_stream_delivers_committed_and_tentative_in_order(server: CaptionPageServer) -> None:
    with open_stream(server) as stream:
        assert [e.event for e in stream.take(2)] == ["reset", "style"]
        assert server.wait_for_clients(1, 5)
        server.publish_committed(caption("First line.", "You"))
        server.publish_tentative("Others", "so what")
        server.publish_committed(caption("Second line.", "Others", start=2.5))
        server.publish_tentative("You", "and then")
        server.publish_committed(PageCaption("", "[2.0 s of audio missing]", 4.0, 6.0, gap=True))
        got = stream.take(5)
    assert summary(got) == [("committed", "You: First line."), ("tentative", "Others: so what"),
                            ("committed", "Others: Second line."), ("tentative", "You: and then"),
                            ("committed", ": [2.0 s of audio missing]")]
    second = got[2].data
    assert (second["start"], second["end"], second["gap"], second["slot"]) == (2.5, 3.5, False, 1)
    assert got[4].data["gap"] is True
    ids = [e.id for e in got if e.event == "committed"]
    assert len(set(ids)) == 3 and all(i and i.split(".")[1].isdigit() for i in ids)
    assert [int(i.split(".")[1]) for i in ids if i] == sorted(int(i.split(".")[1]) for i in ids if i)


def test_new_page_gets_history_and_open_text_then_live_events(server: CaptionPageServer) -> None:
    for i in range(3):
        server.publish_committed(caption(f"Line {i}.", ("You", "Others")[i % 2]))
    server.publish_tentative("Others", "still talking")
    with open_stream(server) as stream:
        head = stream.until("style")
        assert head[0].event == "reset" and head[0].data == {"sources": ["You", "Others"]}
        catch_up = stream.take(5)
        server.publish_committed(caption("Live line.", "Others"))
        live = stream.next()
    assert summary(catch_up) == [("committed", "You: Line 0."), ("committed", "Others: Line 1."),
                                 ("committed", "You: Line 2."), ("tentative", "You: "),
                                 ("tentative", "Others: still talking")]
    assert summary([live]) == [("committed", "Others: Live line.")]


def test_reconnect_with_last_event_id_catches_up_on_missed_lines(server: CaptionPageServer) -> None:
    with open_stream(server) as stream:
        stream.take(2)
        server.publish_committed(caption("Before the drop 1."))
        server.publish_committed(caption("Before the drop 2."))
        stream.take(2)
        last_id = stream.last_event_id
        assert server.wait_for_clients(1, 5)
    assert server.wait_for_clients(0, 5), "the server never noticed the closed stream"
    server.publish_committed(caption("Missed 1.", "Others"))
    server.publish_committed(caption("Missed 2."))
    server.publish_tentative("Others", "typing")
    with open_stream(server, last_event_id=last_id) as again:
        resumed = again.take(5)
    assert summary(resumed) == [("style", None), ("committed", "Others: Missed 1."), ("committed", "You: Missed 2."),
                                ("tentative", "You: "), ("tentative", "Others: typing")]
    # A reload (no Last-Event-ID) starts over from the history instead.
    with open_stream(server) as fresh:
        names = [e.event for e in fresh.take(6)]
    assert names == ["reset", "style", "committed", "committed", "committed", "committed"]


def test_live_page_catch_up_is_the_last_lines_transcript_gets_all(make_server: MakeServer) -> None:
    server = make_server(history=50)
    for i in range(40):
        server.publish_committed(caption(f"Line {i}."))
    with open_stream(server) as live:
        live_lines = [e.data["text"] for e in live.until("tentative") if e.event == "committed"]
    with open_stream(server, view="transcript") as transcript:
        all_lines = [e.data["text"] for e in transcript.until("tentative") if e.event == "committed"]
    assert all_lines == [f"Line {i}." for i in range(40)]
    assert live_lines == all_lines[-len(live_lines):] and 3 <= len(live_lines) < 40


def test_clear_resets_open_pages_and_forgets_the_history(server: CaptionPageServer) -> None:
    server.publish_committed(caption("Old session."))
    with open_stream(server) as stream:
        old = [e for e in stream.until("tentative") if e.event == "committed"]
        server.clear()
        reset = stream.next()
        server.publish_committed(caption("New session.", "Others"))
        new = stream.next()
    assert reset.event == "reset" and reset.data == {"sources": []}
    assert reset.id and old[-1].id and reset.id.split(".")[0] != old[-1].id.split(".")[0]
    assert summary([new]) == [("committed", "Others: New session.")] and new.data["slot"] == 0
    with open_stream(server, last_event_id=old[-1].id) as stale:
        first = stale.next()
        lines = [e.data["text"] for e in stale.until("tentative") if e.event == "committed"]
    assert first.event == "reset" and lines == ["New session."]


def test_set_style_is_pushed_to_open_pages(server: CaptionPageServer) -> None:
    with open_stream(server) as stream:
        stream.take(2)
        server.set_style(PageStyle(font_size_px=60, text_color="#ffee00", transparent=True, lines=2))
        pushed = stream.next()
    assert pushed.event == "style" and pushed.data["lines"] == 2 and pushed.data["transparent"] is True
    assert pushed.data["vars"]["--cp-font-size"] == "60px" and pushed.data["vars"]["--cp-text"] == "#ffee00"


def test_idle_stream_gets_keepalive_comments(make_server: MakeServer) -> None:
    server = make_server(keepalive_s=0.2)
    with open_stream(server) as stream:
        stream.take(2)
        comment = stream.next(keep_comments=True)
        assert comment.event == ":" and comment.comments == ["keep-alive"]
        server.publish_committed(caption("Still alive."))
        assert stream.until("committed")[-1].data["text"] == "Still alive."


def test_stalled_client_does_not_block_publishing(make_server: MakeServer) -> None:
    """A client that connects and never reads fills its socket; publish must not wait, and the client is dropped."""
    server = make_server(history=64, queue_limit=64)
    stalled = EventStream(server.port, server.token, rcvbuf=1024)  # sent the request, never reads a byte
    assert server.wait_for_clients(1, 10)
    finished = threading.Event()
    published = [0]
    worst = [0.0]
    text = "word " * 1600  # 8 kB a line: the kernel's buffers (a few MB) fill after some hundreds of lines

    def flood() -> None:
        for i in range(5000):
            began = time.perf_counter()
            server.publish_committed(PageCaption("You", f"{i} {text}", i, i + 1))
            server.publish_tentative("You", f"{i} open")
            worst[0] = max(worst[0], time.perf_counter() - began)
            published[0] = i + 1
            if server.client_count == 0:
                break
        finished.set()

    threading.Thread(target=flood, name="flood", daemon=True).start()
    try:
        assert finished.wait(60), f"publishing blocked after {published[0]} lines on a client that never reads"
        assert server.wait_for_clients(0, 10), "the stalled client was never dropped"
        assert published[0] < 5000
        assert worst[0] < 1.0, f"one publish took {worst[0]:.2f} s"
        # Everyone else is served as before, and the dropped page catches up when it comes back.
        server.publish_committed(caption("After the stall."))
        with open_stream(server) as healthy:
            lines = [e.data["text"] for e in healthy.until("tentative") if e.event == "committed"]
        assert lines[-1] == "After the stall."
    finally:
        stalled.close()


def test_stop_is_prompt_with_clients_connected(make_server: MakeServer) -> None:
    server = make_server(queue_limit=100_000, history=10)
    readers = [open_stream(server), open_stream(server, view="transcript")]
    for reader in readers:
        reader.take(2)
    stalled = EventStream(server.port, server.token, rcvbuf=1024)
    silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)  # connects, never sends a request
    half = socket.create_connection(("127.0.0.1", server.port), timeout=10)  # half a request
    half.sendall(request_bytes("GET", f"/?token={server.token}", f"127.0.0.1:{server.port}")[:20])
    assert server.wait_for_clients(3, 10)
    for i in range(600):  # enough to leave the stalled client's thread blocked in a socket write
        server.publish_committed(caption(f"{i} " + "x" * 8000))
    began = time.monotonic()
    server.stop()
    took = time.monotonic() - began
    try:
        assert took < 3.0, f"stop() took {took:.1f} s"
        for reader in readers:
            reader.read_to_end()  # the server closed the stream (a hang would hit the read timeout)
        assert closed_by_server(silent) and closed_by_server(half)
        leftover = [t for t in threading.enumerate() if t.name.startswith("caption-page")]
        assert leftover == [], leftover
        assert server.client_count == 0
    finally:
        for stream in (*readers, stalled):
            stream.close()
        silent.close()
        half.close()
