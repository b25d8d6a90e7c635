#!/usr/bin/env python
"""Engine memory over a long stream: RSS must stay flat.

Streams ``--minutes`` of audio (the benchmark clip repeated, each repetition perturbed: gain, time shift,
a little noise, so no two are identical) through one ``StreamingRecognizer`` in 100 ms blocks, never
resetting, and prints the process RSS every ``--every`` seconds of audio. Tokens are counted and dropped
as an app would after showing them.

    .venv/bin/python -m benchmarks.engine_memory                       # full-size model, 30 min, 80 ms
    .venv/bin/python -m benchmarks.engine_memory --model tests/fixtures/models/tiny-a --minutes 120

Works in either venv (it needs only Captioner's runtime dependencies; soundfile to read the clip).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SR = 16000
BLOCK = 1600
FULL = ROOT / "models" / "full-size"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def base_clip(path: Path | None) -> np.ndarray:
    candidates = [path] if path else [FULL / "bench_60s.wav"]
    for p in candidates:
        if p and p.exists():
            import soundfile as sf

            x, sr = sf.read(str(p), dtype="float32")
            if x.ndim > 1:
                x = x.mean(axis=1)
            if sr == SR:
                return x
    # deterministic speech-like fallback: harmonics with a syllable envelope plus noise bursts
    rng = np.random.default_rng(7)
    t = np.arange(60 * SR) / SR
    phase = 2 * np.pi * np.cumsum(120 + 40 * np.sin(2 * np.pi * 0.37 * t)) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 15))
    env = np.clip(np.sin(2 * np.pi * 2.3 * t), 0, None) ** 2
    x = 0.3 * voiced * env + 0.1 * rng.standard_normal(t.size) * np.clip(np.sin(2 * np.pi * 1.7 * t), 0, None) ** 4
    return (x / np.abs(x).max() * 0.5).astype(np.float32)


def perturbed(clip: np.ndarray, i: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + i)
    y = np.roll(clip, int(rng.integers(0, clip.size))) * np.float32(rng.uniform(0.4, 1.0))
    return (y + rng.standard_normal(clip.size).astype(np.float32) * np.float32(0.003)).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=FULL / "captioner")
    ap.add_argument("--audio", type=Path, default=None)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--lookahead-ms", type=int, default=80)
    ap.add_argument("--decoder", default="rnnt", choices=["rnnt", "ctc"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--every", type=float, default=120.0, help="report every N seconds of audio")
    args = ap.parse_args()

    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import StreamingRecognizer

    rss0 = rss_mb()
    rec = StreamingRecognizer(load_model_folder(args.model), decoder=args.decoder, lookahead_ms=args.lookahead_ms,
                              provider="cpu", threads=args.threads)
    clip = base_clip(args.audio)
    total = int(args.minutes * 60 * SR)
    print(f"model {args.model}, {args.decoder}, lookahead {args.lookahead_ms} ms, {args.threads} threads, "
          f"{args.minutes:g} min of audio; RSS before load {rss0:.0f} MB, after load {rss_mb():.0f} MB", flush=True)
    print(f"{'audio min':>9} {'RSS MB':>8} {'dRSS MB':>8} {'py blocks':>10} {'tokens':>8} {'RTF':>6}", flush=True)

    fed = tokens = 0
    next_report = 0.0
    points: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    rep = 0
    first_rss = None
    while fed < total:
        audio = perturbed(clip, rep)
        rep += 1
        for start in range(0, audio.size, BLOCK):
            if fed >= total:
                break
            block = audio[start : start + BLOCK][: total - fed]
            tokens += len(rec.accept(block))
            fed += block.size
            if fed / SR >= next_report:
                gc.collect()
                rss = rss_mb()
                first_rss = rss if first_rss is None else first_rss
                points.append((fed / SR / 60, rss))
                rtf = (time.perf_counter() - t0) / max(fed / SR, 1e-9)
                print(f"{fed / SR / 60:9.1f} {rss:8.1f} {rss - first_rss:+8.1f} {sys.getallocatedblocks():10d} "
                      f"{tokens:8d} {rtf:6.3f}", flush=True)
                next_report += args.every
    tokens += len(rec.finish())
    gc.collect()
    points.append((fed / SR / 60, rss_mb()))
    print(f"{fed / SR / 60:9.1f} {points[-1][1]:8.1f} {points[-1][1] - (first_rss or 0):+8.1f} "
          f"{sys.getallocatedblocks():10d} {tokens:8d}   (finished)")

    # flatness: compare the second half of the run with the reports after the first 10%
    settled = [p for p in points if p[0] >= 0.1 * args.minutes] or points
    growth = settled[-1][1] - settled[0][1]
    hours = max((settled[-1][0] - settled[0][0]) / 60, 1e-9)
    slope = np.polyfit([p[0] for p in settled], [p[1] for p in settled], 1)[0] * 60 if len(settled) > 2 else 0.0
    flat = abs(growth) < max(8.0, 0.02 * settled[0][1])
    print(f"\nRSS from {settled[0][0]:.1f} to {settled[-1][0]:.1f} min of audio: "
          f"{settled[0][1]:.1f} -> {settled[-1][1]:.1f} MB "
          f"({growth:+.1f} MB, fitted slope {slope:+.1f} MB/hour over {hours:.2f} h): {'FLAT' if flat else 'GROWING'}")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
