"""Raw-socket HTTP and SSE clients for the caption page tests: full control over Host, headers and reading.

Every read has a socket timeout, so a missing event fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any

from captioner.caption_page import PageCaption

READ_TIMEOUT_S = 10.0


def caption(text: str, source: str = "You", start: float = 0.0, gap: bool = False) -> PageCaption:
    return PageCaption(source=source, text=text, start_s=start, end_s=start + 1.0, gap=gap)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Event:
    event: str
    data: Any
    id: str | None = None
    comments: list[str] = field(default_factory=list)


def request_bytes(method: str, path: str, host: str | None, extra: dict[str, str] | None = None,
                  version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines.extend(f"{k}: {v}" for k, v in (extra or {}).items())
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_head(reader: Any) -> tuple[int, dict[str, str]]:
    status_line = reader.readline().decode("latin-1")
    if not status_line:
        raise ConnectionError("the server closed the connection without answering")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = reader.readline().decode("latin-1").rstrip("\r\n")
        if not line:
            return status, headers
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()


def http(port: int, path: str, *, method: str = "GET", host: str | None = "", extra: dict[str, str] | None = None,
         version: str = "HTTP/1.1") -> Response:
    """One request; ``host`` "" means the correct ``127.0.0.1:PORT``, None sends no Host header."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S) as sock:
        sock.sendall(request_bytes(method, path, f"127.0.0.1:{port}" if host == "" else host, extra, version))
        reader = sock.makefile("rb")
        status, headers = _read_head(reader)
        body = reader.read()
        return Response(status, headers, body)


class EventStream:
    """An open ``/events`` stream read the way EventSource does (ids persist, comments are kept aside)."""

    def __init__(self, port: int, token: str, *, view: str = "live", last_event_id: str | None = None,
                 rcvbuf: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so the advertised window is small from the start
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(READ_TIMEOUT_S)
        self.sock.connect(("127.0.0.1", port))
        extra = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            extra["Last-Event-ID"] = last_event_id
        self.sock.sendall(request_bytes("GET", f"/events?view={view}&token={token}", f"127.0.0.1:{port}", extra))
        self.last_event_id = last_event_id
        self.status = 0
        self.headers: dict[str, str] = {}
        self._reader: Any = None

    def open(self) -> EventStream:
        """Read the response head (kept separate so a test can connect a client that never reads)."""
        self._reader = self.sock.makefile("rb")
        self.status, self.headers = _read_head(self._reader)
        return self

    def next(self, *, keep_comments: bool = False) -> Event:
        """The next dispatched event (or, with ``keep_comments``, a comment-only block as event ``":"``)."""
        name = "message"
        data: list[str] = []
        comments: list[str] = []
        event_id: str | None = None
        while True:
            raw = self._reader.readline()
            if not raw:
                raise ConnectionError("the event stream ended")
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    if event_id is not None:
                        self.last_event_id = event_id
                    return Event(name, json.loads("\n".join(data)), self.last_event_id, comments)
                if comments and keep_comments:
                    return Event(":", None, self.last_event_id, comments)
                name, event_id = "message", None
                comments = []
                continue
            if line.startswith(":"):
                comments.append(line[1:].strip())
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
            elif key == "id":
                event_id = value

    def take(self, count: int) -> list[Event]:
        return [self.next() for _ in range(count)]

    def until(self, event: str) -> list[Event]:
        """Events up to and including the first ``event``."""
        seen: list[Event] = []
        while not seen or seen[-1].event != event:
            seen.append(self.next())
        return seen

    def read_to_end(self) -> bytes:
        """Everything until the server closes the stream (raises on the read timeout)."""
        chunks = []
        while chunk := (self._reader.read1(65536) if self._reader else self.sock.recv(65536)):
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self.sock.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
