"""Resumable, verified downloads: HTTP Range into a ``.partial`` file beside the target, renamed when complete.

Why each part:

* A 0.5–2.5 GB model over a home connection gets interrupted; the bytes already fetched stay in
  ``NAME.partial`` and the next attempt (after a restart too) asks only for the rest, with ``If-Range`` so a
  file changed on the server is fetched anew instead of spliced.
* Nothing partial ever carries the final name: the target appears only after its size and SHA-256 check out.
* The free space is checked before the first byte, so a full disk is reported up front, not as a crash at 90 %.
* Proxies come from the environment (``https_proxy``/``no_proxy``), as for every other program on the machine.
* One download per target at a time: a lock file beside it, created exclusively.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from captioner.errors import CaptionerError

CHUNK_BYTES = 1 << 20
TIMEOUT_S = 30.0
DISK_MARGIN_BYTES = 64 << 20
USER_AGENT = "Captioner model download"


class DownloadError(CaptionerError):
    """A download that failed for a reason the user can act on; the message says which and what to do."""


class DownloadCancelledError(DownloadError):
    """The user cancelled; what was fetched stays in the ``.partial`` file for a later resume."""


@dataclass(frozen=True)
class DownloadProgress:
    done: int
    total: int | None
    bytes_per_s: float

    @property
    def eta_s(self) -> float | None:
        if self.total is None or self.bytes_per_s <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.bytes_per_s)


ProgressCallback = Callable[[DownloadProgress], None]
CancelCheck = Callable[[], bool]


def partial_path(target: Path) -> Path:
    return target.with_name(target.name + ".partial")


def _meta_path(target: Path) -> Path:
    return target.with_name(target.name + ".partial.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _take_lock(lock: Path) -> int:
    """Create ``lock`` exclusively; a lock left by a process that no longer exists is taken over."""
    for _ in range(2):
        try:
            return os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            try:
                owner = int(lock.read_text(encoding="ascii").strip() or "0")
            except (OSError, ValueError):
                owner = 0
            if not owner or owner == os.getpid() or _alive(owner):
                break  # in use (an empty lock is one being written right now)
            with contextlib.suppress(OSError):
                lock.unlink()
    raise DownloadError(f"{lock.name.removesuffix('.lock')} is already being downloaded (by this or another "
                        "Captioner); wait for that download or cancel it.")


@contextlib.contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    lock = target.with_name(target.name + ".lock")
    fd = _take_lock(lock)
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


def _opener() -> urllib.request.OpenerDirector:
    """Proxies from the environment; redirects followed (Hugging Face serves files from a CDN)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler(urllib.request.getproxies()))


def _request(url: str, start: int, validator: str | None) -> urllib.request.Request:
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start:
        headers["Range"] = f"bytes={start}-"
        if validator:
            headers["If-Range"] = validator
    return urllib.request.Request(url, headers=headers)


def _hash_file(path: Path, length: int) -> Any:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        remaining = length
        while remaining > 0:
            block = handle.read(min(CHUNK_BYTES, remaining))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    return digest


def _check_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN_BYTES > free:
        raise DownloadError(f"The download needs {needed / 1e6:,.0f} MB in {folder} but only {free / 1e6:,.0f} MB "
                            "are free. Free some space (or choose another models folder) and try again.")


def _describe(exc: BaseException, url: str) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 404:
            return f"The server has no file at {url} (HTTP 404). The catalogue entry may be out of date."
        if exc.code in (401, 403):
            return (f"The server refused the download of {url} (HTTP {exc.code}); the model may require "
                    "accepting its licence on the publisher's page first.")
        return f"The server answered HTTP {exc.code} ({exc.reason}) for {url}."
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, socket.timeout | TimeoutError):
            return f"The connection to {url} timed out."
        return f"Could not reach {url} ({reason}). Check the network connection or proxy settings."
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"The connection to {url} stalled for {TIMEOUT_S:.0f} s."
    return f"The download from {url} broke off ({type(exc).__name__}: {exc})."


def download(url: str, target: Path, *, size: int | None = None, sha256: str | None = None,
             progress: ProgressCallback | None = None, cancelled: CancelCheck | None = None,
             opener: urllib.request.OpenerDirector | None = None) -> Path:
    """Fetch ``url`` to ``target`` (resuming ``target.partial``), verify ``size``/``sha256``, rename into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise DownloadError(f"{target} already exists; remove it first to download it again.")
    with _exclusive(target):
        return _download(url, target, size, sha256.lower() if sha256 else None, progress, cancelled,
                         opener or _opener())


def _download(url: str, target: Path, size: int | None, sha256: str | None, progress: ProgressCallback | None,
              cancelled: CancelCheck | None, opener: urllib.request.OpenerDirector) -> Path:
    partial, meta_path = partial_path(target), _meta_path(target)
    meta = _read_meta(meta_path, url)
    start = partial.stat().st_size if partial.exists() and meta else 0
    if start and size is not None and start > size:
        start = 0
    if size is not None:
        _check_space(target.parent, size - start)
    try:
        response = opener.open(_request(url, start, meta.get("validator") if meta else None), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start and size is not None and start == size:
            return _finish(partial, meta_path, target, size, sha256)  # everything was already here
        raise DownloadError(_describe(exc, url)) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(_describe(exc, url)) from exc
    with response:
        resumed = start > 0 and response.status == 206
        if not resumed:
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None and length.isdigit() else size
        if size is not None and total is not None and total != size:
            raise DownloadError(f"The server offers {total:,} bytes for {target.name} but the catalogue says "
                                f"{size:,}: the file on the server changed. Nothing was kept.")
        if total is not None and size is None:
            _check_space(target.parent, total - start)
        validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
        meta_path.write_text(json.dumps({"url": url, "validator": validator}), encoding="utf-8")
        with open(partial, "ab" if resumed else "wb") as out:
            _copy(response, out, start, total, url, progress, cancelled)
    return _finish(partial, meta_path, target, size, sha256)


def _read_meta(path: Path, url: str) -> dict[str, Any] | None:
    """What the earlier attempt recorded, if it was for the same URL."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("url") == url else None


def _copy(response: IO[bytes], out: IO[bytes], done: int, total: int | None, url: str,
          progress: ProgressCallback | None, cancelled: CancelCheck | None) -> None:
    started, first = time.monotonic(), done
    last_report = 0.0
    while True:
        if cancelled is not None and cancelled():
            raise DownloadCancelledError(f"The download was cancelled at {done / 1e6:,.1f} MB; it resumes from "
                                         "there when started again.")
        try:
            block = response.read(CHUNK_BYTES)
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            out.flush()
            raise DownloadError(_describe(exc, url) + " What was fetched is kept; start the download again to "
                                "resume it.") from exc
        if not block:
            break
        try:
            out.write(block)
        except OSError as exc:
            raise DownloadError(f"Writing the download failed ({exc.strerror or exc}); free some disk space and "
                                "start it again to resume.") from exc
        done += len(block)
        now = time.monotonic()
        if progress is not None and (now - last_report >= 0.1 or done == total):
            last_report = now
            progress(DownloadProgress(done, total, (done - first) / max(now - started, 1e-6)))
    out.flush()
    if total is not None and done < total:
        raise DownloadError(f"The connection closed after {done:,} of {total:,} bytes. What was fetched is kept; "
                            "start the download again to resume it.")


def _finish(partial: Path, meta: Path, target: Path, size: int | None, sha256: str | None) -> Path:
    got = partial.stat().st_size
    if size is not None and got != size:
        partial.unlink()
        meta.unlink(missing_ok=True)
        raise DownloadError(f"{target.name} arrived with {got:,} bytes instead of {size:,}; the damaged file was "
                            "removed. Start the download again.")
    if sha256 is not None:
        digest = _hash_file(partial, got).hexdigest()
        if digest != sha256:
            partial.unlink()
            meta.unlink(missing_ok=True)
            raise DownloadError(f"{target.name} does not match its published SHA-256 (got {digest[:16]}…, expected "
                                f"{sha256[:16]}…); the damaged file was removed. Start the download again; if it "
                                "happens again, the mirror serves a different file.")
    os.replace(partial, target)
    meta.unlink(missing_ok=True)
    return target
