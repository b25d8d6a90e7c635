"""Model downloads against a real HTTP server on 127.0.0.1: resume, verification, refusals, cancel, locks."""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
import resource
import signal
import threading
from pathlib import Path

import pytest

from captioner.model_manager.download import (
    DownloadCancelledError,
    DownloadError,
    DownloadProgress,
    download,
    partial_path,
)
from tests.model_manager.http_server import serve

DATA = os.urandom(3 * 1024 * 1024 + 123)
SHA = hashlib.sha256(DATA).hexdigest()


def test_full_download_verified(tmp_path: Path) -> None:
    seen: list[DownloadProgress] = []
    with serve({"m.nemo": DATA}) as server:
        path = download(server.url("m.nemo"), tmp_path / "m.nemo", size=len(DATA), sha256=SHA, progress=seen.append)
    assert path.read_bytes() == DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nemo"]
    assert seen[-1].done == len(DATA) and seen[-1].total == len(DATA) and seen[-1].eta_s == 0.0
    assert all(a.done <= b.done for a, b in itertools.pairwise(seen))


def test_interrupted_download_resumes_with_range(tmp_path: Path) -> None:
    target = tmp_path / "m.nemo"
    with serve({"m.nemo": DATA}, cut_after=1_000_000) as server:
        with pytest.raises(DownloadError, match="resume"):
            download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
        kept = partial_path(target).stat().st_size
        assert 0 < kept <= 1_000_000 and not target.exists()
        download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
        assert server.requests[-1]["range"] == f"bytes={kept}-" and server.requests[-1]["if_range"]
    assert target.read_bytes() == DATA and not partial_path(target).exists()


def test_server_without_range_support_starts_over(tmp_path: Path) -> None:
    target = tmp_path / "m.nemo"
    with serve({"m.nemo": DATA}, cut_after=500_000, ranges=False) as server:
        with pytest.raises(DownloadError):
            download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
        download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
        assert server.requests[-1]["range"]  # asked for the rest, got the whole file
    assert target.read_bytes() == DATA


def test_not_found(tmp_path: Path) -> None:
    with serve({}) as server, pytest.raises(DownloadError, match="HTTP 404"):
        download(server.url("gone.nemo"), tmp_path / "gone.nemo")
    assert list(tmp_path.iterdir()) == []


def test_wrong_size_is_refused_before_writing(tmp_path: Path) -> None:
    with serve({"m.nemo": DATA}) as server, pytest.raises(DownloadError, match="the file on the server changed"):
        download(server.url("m.nemo"), tmp_path / "m.nemo", size=len(DATA) + 1)
    assert not (tmp_path / "m.nemo").exists() and not partial_path(tmp_path / "m.nemo").exists()


def test_wrong_hash_removes_the_file(tmp_path: Path) -> None:
    with serve({"m.nemo": DATA}) as server, pytest.raises(DownloadError, match="does not match its published SHA-256"):
        download(server.url("m.nemo"), tmp_path / "m.nemo", size=len(DATA), sha256="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cancel_keeps_the_partial_for_later(tmp_path: Path) -> None:
    target = tmp_path / "m.nemo"
    stop = threading.Event()

    def on_progress(p: DownloadProgress) -> None:
        if p.done >= 300_000:
            stop.set()

    with serve({"m.nemo": DATA}, bytes_per_s=2_000_000) as server:
        with pytest.raises(DownloadCancelledError):
            download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA, progress=on_progress,
                     cancelled=stop.is_set)
        assert partial_path(target).stat().st_size >= 300_000
        server.bytes_per_s = None
        download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
    assert target.read_bytes() == DATA


def test_not_enough_disk_space_says_so_before_the_first_byte(tmp_path: Path) -> None:
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    with serve({"m.nemo": DATA}) as server, pytest.raises(DownloadError, match="MB are free"):
        download(server.url("m.nemo"), tmp_path / "m.nemo", size=free + 10**9)
    assert server.requests == []


def _download_with_file_size_limit(url: str, target: str, limit: int, queue: multiprocessing.Queue[str]) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        download(url, Path(target), size=len(DATA), sha256=SHA)
        queue.put("finished")
    except DownloadError as exc:
        queue.put(str(exc))


def test_disk_full_while_writing(tmp_path: Path) -> None:
    """A write that fails (here: a file-size limit, as a full disk would) keeps what was written, says why."""
    target = tmp_path / "m.nemo"
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    with serve({"m.nemo": DATA}) as server:
        process = context.Process(target=_download_with_file_size_limit,
                                  args=(server.url("m.nemo"), str(target), 1_500_000, queue))
        process.start()
        message = queue.get(timeout=120)
        process.join(timeout=120)
        assert "free some disk space" in message
        assert not target.exists() and partial_path(target).stat().st_size <= 1_500_000
        download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
    assert target.read_bytes() == DATA


def test_two_downloads_of_one_file_at_once(tmp_path: Path) -> None:
    target = tmp_path / "m.nemo"
    first_started = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow_progress(p: DownloadProgress) -> None:
        first_started.set()
        release.wait(timeout=60)

    with serve({"m.nemo": DATA}) as server:
        def first() -> None:
            try:
                download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA, progress=slow_progress)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=first)
        thread.start()
        assert first_started.wait(timeout=60)
        with pytest.raises(DownloadError, match="already being downloaded"):
            download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
        release.set()
        thread.join(timeout=120)
    assert errors == [] and target.read_bytes() == DATA


def _download_forever(url: str, target: str) -> None:
    download(url, Path(target), size=len(DATA), sha256=SHA)


def test_restart_in_the_middle_resumes(tmp_path: Path) -> None:
    """The process dies mid-download (its lock file stays); a new one takes the stale lock over and resumes."""
    target = tmp_path / "m.nemo"
    context = multiprocessing.get_context("fork")
    with serve({"m.nemo": DATA}, bytes_per_s=1_000_000) as server:
        process = context.Process(target=_download_forever, args=(server.url("m.nemo"), str(target)))
        process.start()
        partial = partial_path(target)
        deadline_checks = 0
        while not (partial.exists() and partial.stat().st_size > 200_000):
            process.join(timeout=0.05)
            deadline_checks += 1
            assert deadline_checks < 2400, "the first download never got going"
        os.kill(process.pid or 0, signal.SIGKILL)
        process.join(timeout=60)
        assert target.with_name("m.nemo.lock").exists()
        kept = partial.stat().st_size
        server.bytes_per_s = None
        download(server.url("m.nemo"), target, size=len(DATA), sha256=SHA)
        assert server.requests[-1]["range"] == f"bytes={kept}-"
    assert target.read_bytes() == DATA
