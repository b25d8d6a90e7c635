#!/usr/bin/env python
"""Two model folders of the same model, streamed side by side: which graphs are faster, and are they equal?

For a change to how graphs are built (``captioner import`` of one version against another, a float32 folder
against its ``captioner quantize`` copy), the same audio goes through Captioner's recognizer on each folder in
interleaved rounds, so machine noise hits both alike. Printed per lookahead: RTF (compute / audio, median of
rounds), per-chunk compute p50/p95, the speed-up of the second folder over the first, and whether the token
ids are identical.

    # the graphs of an earlier commit, imported with that commit's code:
    git worktree add ../captioner-before COMMIT
    (cd ../captioner-before && PYTHONPATH=. ../main/.venv/bin/python -m captioner import \\
        ../main/models/full-size/fullsize.nemo ../main/work-tmp/before --lookahead-ms 80 480)
    .venv/bin/captioner import models/full-size/fullsize.nemo work-tmp/after --lookahead-ms 80 480
    .venv/bin/python -m benchmarks.compare_folders work-tmp/before work-tmp/after \\
        --audio models/full-size/bench_60s.wav --lookahead-ms 80 480 --threads 1 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np


def run_once(folder: Path, audio: np.ndarray, lookahead_ms: int, threads: int) -> dict[str, object]:
    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples

    rec = StreamingRecognizer(load_model_folder(folder), lookahead_ms=lookahead_ms, provider="cpu", threads=threads)
    tokens = transcribe_samples(rec, audio, block=1600)
    steps = list(rec.step_seconds)
    return {"rtf": sum(steps) / (audio.size / rec.sample_rate), "steps": steps, "ids": [t.id for t in tokens]}


def summarise(runs: list[dict[str, object]]) -> dict[str, float]:
    steps = [s for r in runs for s in r["steps"]]  # type: ignore[attr-defined]
    return {
        "rtf": round(statistics.median(float(r["rtf"]) for r in runs), 4),  # type: ignore[arg-type]
        "p50_ms": round(1000 * float(np.percentile(steps, 50)), 2),
        "p95_ms": round(1000 * float(np.percentile(steps, 95)), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", type=Path, help="the reference folder")
    ap.add_argument("second", type=Path, help="the folder measured against it")
    ap.add_argument("--audio", type=Path, required=True)
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[80, 480])
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from captioner.audio.file_reader import load_audio

    audio = load_audio(args.audio, 16000)
    folders = (args.first, args.second)
    rows: list[dict[str, Any]] = []
    for threads in args.threads:
        for ms in args.lookahead_ms:
            results: dict[Path, list[dict[str, object]]] = {f: [] for f in folders}
            for round_index in range(args.rounds):
                for folder in folders if round_index % 2 == 0 else reversed(folders):
                    results[folder].append(run_once(folder, audio, ms, threads))
            first, second = summarise(results[args.first]), summarise(results[args.second])
            row = {"lookahead_ms": ms, "threads": threads, "first": first, "second": second,
                   "speedup": round(first["rtf"] / second["rtf"], 3),
                   "identical_tokens": results[args.first][0]["ids"] == results[args.second][0]["ids"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\nfirst: {args.first}\nsecond: {args.second}\n")
    print("| lookahead | threads | first RTF | p50 / p95 | second RTF | p50 / p95 | speed-up | same tokens |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        a, b = r["first"], r["second"]
        print(f"| {r['lookahead_ms']} ms | {r['threads']} | {a['rtf']:.3f} | "
              f"{a['p50_ms']:.1f} / {a['p95_ms']:.1f} ms | {b['rtf']:.3f} | "
              f"{b['p50_ms']:.1f} / {b['p95_ms']:.1f} ms | {r['speedup']:.2f}x | "
              f"{'yes' if r['identical_tokens'] else 'NO'} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
