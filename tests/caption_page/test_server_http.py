"""The HTTP surface of a real server on 127.0.0.1: who may ask (token, Host), what they get, with which headers."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from captioner.caption_page import CaptionPageServer, PageStyle, PortInUseError
from captioner.caption_page.server import CONTENT_SECURITY_POLICY

from .client import EventStream, caption, http
from .conftest import MakeServer

SECRET = "the secret caption text"
PATHS = ("/", "/transcript", "/page.js", "/style.css", "/events", "/events?view=transcript", "/nope")


def with_token(path: str, token: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}token={token}"


def assert_hardened(headers: dict[str, str]) -> None:
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    policy = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and "unsafe" not in CONTENT_SECURITY_POLICY


def test_urls_name_loopback_port_and_token(server: CaptionPageServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/?token={server.token}"
    assert server.transcript_url == f"http://127.0.0.1:{server.port}/transcript?token={server.token}"
    assert len(server.token) >= 32
    assert CaptionPageServer().token != CaptionPageServer().token


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("token", [None, "", "wrong-token-wrong-token-wrong", "DOUBLE"])
def test_requests_without_the_token_get_403_and_no_data(server: CaptionPageServer, path: str,
                                                         token: str | None) -> None:
    server.publish_committed(caption(SECRET))
    server.publish_tentative("You", SECRET)
    if token is None:
        target = path
    elif token == "DOUBLE":  # the right token next to a wrong one is still refused
        target = with_token(with_token(path, "wrong-token-wrong-token-wrong"), server.token)
    else:
        target = with_token(path, token)
    response = http(server.port, target)
    assert response.status == 403
    assert SECRET.encode() not in response.body and server.token.encode() not in response.body
    assert "event-stream" not in response.headers["content-type"]
    assert_hardened(response.headers)


@pytest.mark.parametrize(("path", "kind"), [("/", "text/html"), ("/transcript", "text/html"),
                                            ("/page.js", "text/javascript"), ("/style.css", "text/css")])
def test_the_token_opens_every_page(server: CaptionPageServer, path: str, kind: str) -> None:
    response = http(server.port, with_token(path, server.token))
    assert response.status == 200
    assert response.headers["content-type"].startswith(kind)
    assert int(response.headers["content-length"]) == len(response.body) > 100
    assert_hardened(response.headers)
    head = http(server.port, with_token(path, server.token), method="HEAD")
    assert head.status == 200 and head.body == b"" and head.headers["content-length"] == str(len(response.body))


def test_unknown_path_is_404_even_with_the_token(server: CaptionPageServer) -> None:
    response = http(server.port, with_token("/admin", server.token))
    assert response.status == 404
    assert_hardened(response.headers)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1", "localhost", "127.0.0.1:1",
                                  "0.0.0.0:{port}", "[::1]:{port}", "127.0.0.1:{port}.evil.example", None])
def test_foreign_host_header_is_refused(server: CaptionPageServer, host: str | None) -> None:
    server.publish_committed(caption(SECRET))
    for path in ("/", "/events"):
        response = http(server.port, with_token(path, server.token),
                        host=None if host is None else host.format(port=server.port))
        assert response.status == 403, (host, path)
        assert SECRET.encode() not in response.body and b"event:" not in response.body
        assert_hardened(response.headers)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}"])
def test_loopback_host_names_are_accepted(server: CaptionPageServer, host: str) -> None:
    response = http(server.port, with_token("/", server.token), host=host.format(port=server.port))
    assert response.status == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head(server: CaptionPageServer, method: str) -> None:
    response = http(server.port, with_token("/", server.token), method=method)
    assert response.status == 405 and response.headers["allow"] == "GET, HEAD"
    assert_hardened(response.headers)
    assert http(server.port, with_token("/", server.token), method="BREW").status == 501


def test_malformed_request_gets_a_plain_hardened_answer(server: CaptionPageServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /<script> HTTP/9.9\r\n\r\n")
        answer = sock.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.0 505") and b"<script>" not in answer
    assert b"Content-Type: text/plain" in answer and b"X-Content-Type-Options: nosniff" in answer


def test_event_stream_head_sends_headers_only(server: CaptionPageServer) -> None:
    response = http(server.port, with_token("/events", server.token), method="HEAD")
    assert response.status == 200 and response.body == b""
    assert response.headers["content-type"].startswith("text/event-stream")
    assert server.client_count == 0


def test_unknown_view_is_400(server: CaptionPageServer) -> None:
    assert http(server.port, with_token("/events?view=admin", server.token)).status == 400


def test_stylesheet_follows_set_style(server: CaptionPageServer) -> None:
    server.set_style(PageStyle(font_family="Atkinson Hyperlegible", font_size_px=52, text_color="#ffee00",
                               background="rgba(0, 0, 0, 0.5)", transparent=True))
    css = http(server.port, with_token("/style.css", server.token)).body.decode()
    for declaration in ('--cp-font-family: "Atkinson Hyperlegible", ', "--cp-font-size: 52px;", "--cp-text: #ffee00;",
                        "--cp-page-bg: transparent;", "--cp-box-bg: rgba(0, 0, 0, 0.5);"):
        assert declaration in css


def test_listening_socket_is_bound_to_loopback_only(server: CaptionPageServer) -> None:
    host, port = server.bound_address
    assert (host, port) == ("127.0.0.1", server.port) and port > 0
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp here (not Linux); getsockname above is the check")
    listening = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                listening[table] = address
    assert listening == {"/proc/net/tcp": "0100007F"}, "listening on something other than 127.0.0.1 alone"


def test_taken_port_is_a_clear_error(make_server: MakeServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError) as caught:
            make_server(port=port)
    message = str(caught.value)
    assert str(port) in message and "already in use" in message and "port 0" in message


def test_server_starts_once_and_stop_is_idempotent(server: CaptionPageServer) -> None:
    with pytest.raises(RuntimeError, match="already"):
        server.start()
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        CaptionPageServer(token="short")
    with pytest.raises(ValueError, match="token"):
        CaptionPageServer(token="has spaces and <html> in it")
    with pytest.raises(ValueError, match="port"):
        CaptionPageServer(port=70000)
    with pytest.raises(ValueError, match="history"):
        CaptionPageServer(history=0)
    assert CaptionPageServer(token="a" * 16 + "-_B9").token == "a" * 16 + "-_B9"


def test_a_given_token_is_what_the_page_needs(make_server: MakeServer) -> None:
    server = make_server(token="Stable-Token_0123456789")
    assert http(server.port, "/?token=Stable-Token_0123456789").status == 200
    with EventStream(server.port, "Stable-Token_0123456789").open() as stream:
        assert stream.status == 200


def test_requests_are_not_logged_to_stderr(server: CaptionPageServer, capfd: pytest.CaptureFixture[str]) -> None:
    http(server.port, with_token("/", server.token))
    http(server.port, "/?token=nope")
    sys.stderr.flush()
    assert server.token not in capfd.readouterr().err
