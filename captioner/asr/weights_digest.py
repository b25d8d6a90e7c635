"""A fingerprint of ``weights.bin``, so a damaged copy is caught before it captions garbage.

A bit-rotted or half-copied ``weights.bin`` of the right size loads fine and yields NaNs or nonsense. The
manifest records the file's size, its full SHA-256 and a SHA-256 of three 1 MiB samples (start, middle, end).
Loading checks the size and the samples (a few milliseconds even for 2.5 GB); ``captioner inspect`` checks
the full hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class WeightsDigest:
    size: int
    sha256: str
    sampled_sha256: str


def sampled_sha256(path: Path, size: int) -> str:
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        for offset in sorted({0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}):
            handle.seek(offset)
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def full_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digest_of(path: Path) -> WeightsDigest:
    size = path.stat().st_size
    return WeightsDigest(size, full_sha256(path), sampled_sha256(path, size))
