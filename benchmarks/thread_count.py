#!/usr/bin/env python
"""ONNX Runtime intra-op threads for one live stream: 1 against 2 (or any list), interleaved in one process.

For each model folder and lookahead the same audio streams through Captioner's recognizer (100 ms blocks,
features included) once per thread count per round, the thread counts alternating, and the table gives the
median wall RTF, the process CPU per audio second (what the setting costs the rest of the machine), the
per-chunk p95 against the chunk's length, and the speed-up of each thread count over the first one. The
recognizers for all thread counts are built first, so loading is not measured. Dev venv::

    .venv/bin/python -m benchmarks.thread_count models/full-size/imported work-tmp/same-run/imported-int8-block \
        models/captioner-demo-en --lookahead-ms 80 480 --threads 1 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", type=Path, nargs="+")
    ap.add_argument("--audio", type=Path, default=ROOT / "models" / "full-size" / "bench_60s.wav")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[80, 480])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "thread_count.json")
    args = ap.parse_args()

    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import StreamingRecognizer
    from captioner.audio.file_reader import load_audio

    audio = load_audio(args.audio, 16000)[: int(args.seconds * 16000)]
    audio_s = audio.size / 16000
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; audio {audio_s:.0f} s", flush=True)
    rows: list[dict[str, Any]] = []
    for model in args.models:
        folder = load_model_folder(model)
        label = model.name if model.name != "imported" else f"{model.parent.name}/imported"
        for ms in args.lookahead_ms:
            if ms not in folder.spec.lookaheads_ms():
                continue
            streaming = folder.spec.streaming_for(ms)
            chunk_ms = streaming.shift_frames[1] * folder.spec.preprocessor.frame_ms
            recs = {t: StreamingRecognizer(folder, lookahead_ms=ms, decoder="rnnt", provider="cpu", threads=t)
                    for t in args.threads}
            runs: dict[int, list[tuple[float, float, list[float]]]] = {t: [] for t in args.threads}
            for r in range(args.rounds + 1):  # round 0 warms up
                for t in (args.threads if r % 2 == 0 else list(reversed(args.threads))):
                    rec = recs[t]
                    rec.reset()
                    rec.step_seconds.clear()
                    c0, w0 = time.process_time(), time.perf_counter()
                    for start in range(0, audio.size, 1600):
                        rec.accept(audio[start : start + 1600])
                    rec.finish()
                    if r:
                        runs[t].append((time.perf_counter() - w0, time.process_time() - c0, list(rec.step_seconds)))
            base = statistics.median(w for w, _, _ in runs[args.threads[0]])
            for t, rs in runs.items():
                wall = statistics.median(w for w, _, _ in rs)
                steps = [s for _, _, st in rs for s in st]
                row = {"model": label, "lookahead_ms": ms, "threads": t, "chunk_ms": chunk_ms,
                       "rtf": wall / audio_s, "rtf_rounds": [round(w / audio_s, 4) for w, _, _ in rs],
                       "cpu_per_audio_s": statistics.median(c for _, c, _ in rs) / audio_s,
                       "p95_ms": 1000 * float(np.percentile(steps, 95)), "speedup": base / wall}
                rows.append(row)
                print(f"  {label} {ms} ms, {t} thr: RTF {row['rtf']:.3f} {row['rtf_rounds']}, CPU/audio "
                      f"{row['cpu_per_audio_s']:.3f}, p95 {row['p95_ms']:.1f} ms", flush=True)
            del recs
    print(f"\n| model | lookahead (chunk) | threads | RTF (rounds) | CPU s / audio s | p95 / chunk | "
          f"speed-up over {args.threads[0]} thr |")
    print("|---|---|---|---|---|---|---|")
    for x in rows:
        print(f"| {x['model']} | {x['lookahead_ms']} ms ({x['chunk_ms']:.0f} ms) | {x['threads']} | {x['rtf']:.3f} "
              f"({' '.join(f'{v:.3f}' for v in x['rtf_rounds'])}) | {x['cpu_per_audio_s']:.3f} "
              f"| {x['p95_ms']:.1f} ms ({100 * x['p95_ms'] / x['chunk_ms']:.0f} %) | {x['speedup']:.2f}x |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
