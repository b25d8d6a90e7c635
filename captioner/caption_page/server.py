"""A caption page on 127.0.0.1 for a browser or an OBS browser source, with the standard library only.

Only this machine can reach it (loopback bind), only with the token (in the URL the app hands out), and only under
the names 127.0.0.1 and localhost (a rebinding DNS name in some web page gets 403). Live updates are server-sent
events; each open stream has its own thread and bounded queue, so the app's publishing never waits for a browser.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import logging
import re
import secrets
import select
import socket
import socketserver
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from captioner.caption_page import assets, sse
from captioner.caption_page.hub import CaptionHub, Subscriber, View
from captioner.caption_page.model import PageCaption, PageStyle

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
_ADDRESS_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}
_NO_PERMISSION = {errno.EACCES, getattr(errno, "WSAEACCES", errno.EACCES)}
_STOP_JOIN_S = 5.0
_LIVENESS_S = 1.0  # how often an idle stream checks that its page is still there
_ACCEPT_POLL_S = 0.2  # the longest stop() waits for the accept loop (and how often an idle server wakes up)

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                           "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


class CaptionPageError(RuntimeError):
    """The caption page cannot be served; the message says what the user can do about it."""


class PortInUseError(CaptionPageError):
    """The chosen port is taken by another program (or another Captioner)."""


class CaptionPageServer:
    """The live caption page and the transcript page, served until ``stop()``.

    Every ``publish_*``/``set_style``/``clear`` is thread-safe and returns at once whatever the browsers do. A server
    object is started once; to change the port, stop it and make a new one (keep ``token`` if the pages should
    reconnect on their own).
    """

    def __init__(self, port: int = 0, style: PageStyle | None = None, token: str | None = None,
                 history: int = 5000, *, keepalive_s: float = 15.0, queue_limit: int = 256) -> None:
        """``port`` 0 lets the system choose; ``token`` None makes a fresh one (16–128 URL-safe characters if
        given); ``history`` is how many committed lines are kept for the transcript page and reconnecting pages;
        ``keepalive_s`` is the idle time before a keep-alive comment; ``queue_limit`` is how many unsent events a
        page may lag behind before it is dropped (it then reconnects and catches up)."""
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0–65535, got {port}")
        if token is not None and not _TOKEN.fullmatch(token):
            raise ValueError("token must be 16–128 URL-safe characters (letters, digits, '-', '_')")
        if keepalive_s <= 0:
            raise ValueError(f"keepalive_s must be positive, got {keepalive_s}")
        self._requested_port = port
        self._token = token or secrets.token_urlsafe(24)
        self._keepalive_s = keepalive_s
        self._hub = CaptionHub(style or PageStyle(), history=history, queue_limit=queue_limit)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._started = False

    # Lifecycle ----------------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on 127.0.0.1 and serve in background threads; raises ``CaptionPageError`` if that is impossible."""
        if self._started:
            raise RuntimeError("CaptionPageServer.start() was already called; make a new server to start again")
        self._started = True
        port = self._requested_port
        try:
            httpd = _HTTPServer(port, self)
        except OSError as exc:
            if exc.errno in _ADDRESS_IN_USE:
                raise PortInUseError(
                    f"Port {port} on {HOST} is already in use by another program (or another Captioner window). "
                    f"Choose a different caption page port in Settings, or port 0 to let Captioner pick a free one."
                ) from exc
            if exc.errno in _NO_PERMISSION:
                raise CaptionPageError(
                    f"Not allowed to listen on port {port} on {HOST} (ports below 1024 need administrator rights, "
                    f"and some ports are reserved by the system). Choose a port between 1024 and 65535."
                ) from exc
            raise CaptionPageError(f"Cannot serve the caption page on {HOST}:{port}: {exc.strerror or exc}") from exc
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": _ACCEPT_POLL_S},
                                        name="caption-page-server", daemon=True)
        self._thread.start()
        log.info("Caption page listening on %s:%d", HOST, self.port)

    def stop(self) -> None:
        """Stop listening, end every open stream and request, and wait (briefly) for their threads."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()  # the accept loop ends within its poll interval
        self._hub.close_all()
        deadline = time.monotonic() + _STOP_JOIN_S
        for thread in httpd.abort_clients():
            thread.join(max(0.0, deadline - time.monotonic()))
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            self._thread = None

    def __enter__(self) -> CaptionPageServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Where it is --------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.bound_address[1]

    @property
    def bound_address(self) -> tuple[str, int]:
        """The listening socket's own address (always 127.0.0.1)."""
        if self._httpd is None:
            raise RuntimeError("the caption page server is not running")
        host, port = self._httpd.socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def token(self) -> str:
        return self._token

    @property
    def url(self) -> str:
        """The live caption page (give this to the browser or OBS)."""
        return f"http://{HOST}:{self.port}/?token={self._token}"

    @property
    def transcript_url(self) -> str:
        """The transcript so far, following along live."""
        return f"http://{HOST}:{self.port}/transcript?token={self._token}"

    @property
    def client_count(self) -> int:
        """How many pages have a live event stream open."""
        return self._hub.subscriber_count

    def wait_for_clients(self, count: int, timeout: float) -> bool:
        """Wait until exactly ``count`` pages have a stream open (for a "connected" indicator, and for tests)."""
        return self._hub.wait_for_subscribers(count, timeout)

    # Publishing ---------------------------------------------------------------------------------------------------

    def publish_committed(self, caption: PageCaption) -> None:
        """Add a final line (this also clears the source's tentative text: publish what remains open after it)."""
        self._hub.publish_committed(caption)

    def publish_tentative(self, source: str, text: str) -> None:
        """Show ``source``'s still-changing text; "" clears it."""
        self._hub.publish_tentative(source, text)

    def set_style(self, style: PageStyle) -> None:
        """Restyle the pages already open and the stylesheet new pages load."""
        self._hub.set_style(style)

    def clear(self) -> None:
        """A new session: pages empty themselves and the history starts again."""
        self._hub.clear()

    # For the request handler --------------------------------------------------------------------------------------

    @property
    def hub(self) -> CaptionHub:
        return self._hub

    @property
    def style(self) -> PageStyle:
        return self._hub.style

    @property
    def keepalive_s(self) -> float:
        return self._keepalive_s

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self._token.encode("ascii"))


class _HTTPServer(ThreadingHTTPServer):
    """The socket side: loopback only, one tracked thread per connection so ``stop()`` can end them all."""

    daemon_threads = True
    # On Windows SO_REUSEADDR would let two servers share a port; there the default exclusive bind is wanted.
    allow_reuse_address = sys.platform != "win32"

    def __init__(self, port: int, app: CaptionPageServer) -> None:
        self.app = app
        self._clients: dict[threading.Thread, socket.socket] = {}
        self._clients_lock = threading.Lock()
        self._closing = False
        super().__init__((HOST, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up the host's name (a DNS query); the page needs none.
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve_one, args=(request, client_address),
                                  name="caption-page-client", daemon=True)
        with self._clients_lock:
            if self._closing:
                self.shutdown_request(request)
                return
            self._clients[thread] = request
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._clients_lock:
                self._clients.pop(threading.current_thread(), None)

    def abort_clients(self) -> list[threading.Thread]:
        """Cut every open connection (a blocked read or write returns at once); the threads to join."""
        with self._clients_lock:
            self._closing = True
            clients = list(self._clients.items())
        for _, connection in clients:
            _abort(connection)
        return [thread for thread, _ in clients]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser closing a tab mid-response is normal; nothing for stderr.
        log.debug("caption page connection ended with an error", exc_info=True)


def _peer_closed(connection: socket.socket) -> bool:
    """Whether the page closed its end (a closed tab would otherwise hold its thread until the next write)."""
    if hasattr(select, "poll"):  # no FD_SETSIZE limit
        poller = select.poll()
        poller.register(connection, select.POLLIN)
        readable = bool(poller.poll(0))
    else:
        readable = bool(select.select([connection], [], [], 0)[0])
    if not readable:
        return False
    try:
        return connection.recv(4096) == b""  # anything else a client sends after its request is ignored
    except (BlockingIOError, InterruptedError, TimeoutError):
        return False
    except OSError:
        return True


def _abort(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """One request: Host and token checks first, then a page, an asset or an event stream."""

    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads to wait for
    server_version = "Captioner"
    sys_version = ""
    timeout = 30  # seconds a client may stall a read or a write before its connection is dropped

    def version_string(self) -> str:
        return self.server_version

    @property
    def app(self) -> CaptionPageServer:
        return cast(_HTTPServer, self.server).app

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _refuse_method(self) -> None:
        self._plain(HTTPStatus.METHOD_NOT_ALLOWED, "Only GET and HEAD.", extra=(("Allow", "GET, HEAD"),))

    # Other methods get 405 (unknown ones 501, from the base class through send_error below).
    def do_POST(self) -> None:
        self._refuse_method()

    def do_PUT(self) -> None:
        self._refuse_method()

    def do_DELETE(self) -> None:
        self._refuse_method()

    def do_PATCH(self) -> None:
        self._refuse_method()

    def do_OPTIONS(self) -> None:
        self._refuse_method()

    def _serve(self, send_body: bool) -> None:
        if not self._host_allowed():
            self._plain(HTTPStatus.FORBIDDEN, "Forbidden.", send_body)
            return
        parts = urlsplit(self.path)
        if not self.path.startswith("/") or parts.scheme or parts.netloc:
            self._plain(HTTPStatus.BAD_REQUEST, "Bad request.", send_body)
            return
        query = parse_qs(parts.query, keep_blank_values=True, max_num_fields=8)
        tokens = query.get("token", [])
        if len(tokens) != 1 or not self.app.token_matches(tokens[0]):
            self._plain(HTTPStatus.FORBIDDEN, "Forbidden: open the caption page with the link Captioner shows.",
                        send_body)
            return
        path = parts.path
        if path == "/":
            self._document("text/html; charset=utf-8", assets.live_page(self.app.token), send_body)
        elif path == "/transcript":
            self._document("text/html; charset=utf-8", assets.transcript_page(self.app.token), send_body)
        elif path == "/page.js":
            self._document("text/javascript; charset=utf-8", assets.PAGE_SCRIPT, send_body)
        elif path == "/style.css":
            self._document("text/css; charset=utf-8", assets.stylesheet(self.app.style), send_body)
        elif path == "/events":
            views = query.get("view", ["live"])
            try:
                view = View(views[0])
            except ValueError:
                self._plain(HTTPStatus.BAD_REQUEST, "Unknown view.", send_body)
                return
            self._stream(view, send_body)
        else:
            self._plain(HTTPStatus.NOT_FOUND, "Not found.", send_body)

    def _host_allowed(self) -> bool:
        """Only the names this server is really reached by: a DNS-rebinding page arrives under its own name."""
        host = (self.headers.get("Host") or "").strip().lower()
        port = cast(_HTTPServer, self.server).server_port
        return host in (f"{HOST}:{port}", f"localhost:{port}")

    def _stream(self, view: View, send_body: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        if not send_body:
            return
        connection = self.connection
        subscriber, catch_up = self.app.hub.subscribe(view, self.headers.get("Last-Event-ID"),
                                                      on_overflow=lambda: _abort(connection))
        try:
            self.wfile.write(catch_up)
            self._follow(subscriber)
        except (OSError, ValueError):
            pass  # the page went away (or was dropped for lagging); it reconnects and catches up on its own
        finally:
            self.app.hub.unsubscribe(subscriber)
            self.close_connection = True

    def _follow(self, subscriber: Subscriber) -> None:
        """Forward queued events; when idle, notice a page that has gone and keep proxies from timing out."""
        keepalive = self.app.keepalive_s
        last_write = time.monotonic()
        while True:
            chunks = subscriber.take(min(keepalive, _LIVENESS_S))
            if chunks is None:
                return
            if chunks:
                self.wfile.write(b"".join(chunks))
                last_write = time.monotonic()
                continue
            if _peer_closed(self.connection):
                return
            if time.monotonic() - last_write >= keepalive:
                self.wfile.write(sse.KEEPALIVE)
                last_write = time.monotonic()

    def _document(self, content_type: str, text: str, send_body: bool) -> None:
        body = text.encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _plain(self, status: HTTPStatus, message: str, send_body: bool = True,
               extra: tuple[tuple[str, str], ...] = ()) -> None:
        body = (message + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get the same plain, header-hardened answer as everything else (no echoed input)."""
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # a request too broken to parse still gets headers (nosniff, CSP)
        status = HTTPStatus(code)
        self._plain(status, status.phrase + ".", send_body=getattr(self, "command", None) != "HEAD")

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        # The default logs every request line to stderr, token included; the app's log gets no URLs.
        log.debug("caption page: %s", getattr(self, "command", None) or "?")
