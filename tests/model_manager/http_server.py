"""A real HTTP server on 127.0.0.1 for download tests: Range, ETag, 404, throttling and cut connections."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FileServer:
    files: dict[str, bytes]
    ranges: bool = True
    cut_after: int | None = None
    """Close the connection after sending this many body bytes (once), as a dropped network would."""
    bytes_per_s: float | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            server.requests.append({"path": self.path, "range": self.headers.get("Range", ""),
                                    "if_range": self.headers.get("If-Range", "")})
            data = server.files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404)
                return
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            etag = f'"{len(data)}-{hash(data) & 0xffff:x}"'
            if match and server.ranges and self.headers.get("If-Range", etag) == etag:
                start = int(match.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            limit = server.cut_after
            if limit is not None:
                server.cut_after = None
                body = body[:limit]
            step = 16384
            for offset in range(0, len(body), step):
                try:
                    self.wfile.write(body[offset:offset + step])
                    self.wfile.flush()
                except OSError:
                    return
                if server.bytes_per_s:
                    time.sleep(step / server.bytes_per_s)
            if limit is not None:
                self.close_connection = True

    return Handler


@contextmanager
def serve(files: dict[str, bytes], **options: object) -> Iterator[FileServer]:
    state = FileServer(files, **options)  # type: ignore[arg-type]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
