#!/usr/bin/env python
"""The speed issue's floor goal: per-chunk compute within 1.25x the time to read the encoder's weights once.

A batch-1 streaming step reads every encoder weight once, so no engine can step faster than
``weight bytes / memory bandwidth`` (the floor; bandwidth from a 512 MB array copy, read + write counted, as in
``benchmarks/quantized_speed.py``, measured at the start and the end of the run). The goal asks for the median
per-chunk compute (encoder + decoding of one chunk, Captioner's ``step_seconds``) to be at most 1.25x that floor.
For each model folder, weight format, lookahead and thread count the table gives RTF, p50 and p95 per chunk,
the floor, p50 / floor against the goal, and whether the step keeps up with real time (p95 below the chunk's
length, with the share of the chunk it takes). Rounds interleave the formats; medians.

The default models are the full-size 114.75 M folder (``models/full-size/imported``) and the 0.6 B Nemotron-shaped
one (``models/nemotron-shape/imported``: ``$NEMO_PYTHON -m tools.make_nemotron_shape_model`` then ``captioner import
models/nemotron-shape/nemotron-shape.nemo models/nemotron-shape/imported``); a missing folder is skipped. The
quantised copies (``captioner quantize --scheme``) are written into ``--work`` when missing. Dev venv::

    .venv/bin/python -m benchmarks.floor_goal --lookahead-ms 80 480 --threads 2 1 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.quantized_speed import bandwidth_bytes_per_s, encoder_weight_bytes, run_once

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.25
DEFAULT_MODELS = [ROOT / "models" / "full-size" / "imported", ROOT / "models" / "nemotron-shape" / "imported"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", type=Path, nargs="*", default=DEFAULT_MODELS, help="float32 model folders")
    ap.add_argument("--audio", type=Path, default=ROOT / "models" / "full-size" / "bench_60s.wav")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--schemes", nargs="+", default=["int8-block"],
                    choices=["int8-matmul", "int8-block", "int4-block"])
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[80, 480])
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--work", type=Path, default=ROOT / "work-tmp" / "floor-goal")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "floor_goal.json")
    args = ap.parse_args()

    import os

    from captioner.asr.model_folder import load_model_folder
    from captioner.audio.file_reader import load_audio
    from captioner.export.quantize import quantize_folder

    audio = load_audio(args.audio, 16000)[: int(args.seconds * 16000)]
    models = []
    for model in args.models:
        if (model / "captioner-model.json").is_file():
            models.append(model)
        else:
            print(f"skipping {model}: no model folder (see this script's help for how to make it)", flush=True)
    bandwidth = bandwidth_bytes_per_s()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; memory bandwidth (copy) "
          f"{bandwidth / 1e9:.1f} GB/s; audio {audio.size / 16000:.0f} s; goal p50 <= {GOAL}x floor", flush=True)
    rows: list[dict[str, Any]] = []
    for model in models:
        label = model.parent.name if model.name == "imported" else model.name
        folders = {"float32": model}
        for scheme in args.schemes:
            out = args.work / f"{label}-{scheme}"
            if not (out / "captioner-model.json").is_file():
                started = time.perf_counter()
                quantize_folder(model, out, scheme)
                print(f"quantised {label} ({scheme}) in {time.perf_counter() - started:.0f} s", flush=True)
            folders[scheme] = out
        spec = load_model_folder(model).spec
        for ms in args.lookahead_ms:
            streaming = spec.streaming_for(ms)
            chunk_ms = streaming.shift_frames[1] * spec.preprocessor.frame_ms
            weights = {name: encoder_weight_bytes(f, streaming.encoder_file) for name, f in folders.items()}
            for threads in args.threads:
                runs: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in folders}
                for r in range(args.rounds):
                    for name in (list(folders) if r % 2 == 0 else list(reversed(folders))):
                        rtf, steps, _ = run_once(folders[name], audio, ms, threads)
                        runs[name].append((rtf, steps))
                for name, rs in runs.items():
                    steps = [s for _, st in rs for s in st]
                    p50 = 1000 * float(np.percentile(steps, 50))
                    p95 = 1000 * float(np.percentile(steps, 95))
                    floor = 1000 * weights[name] / bandwidth
                    row = {"model": label, "format": name, "lookahead_ms": ms, "threads": threads,
                           "chunk_ms": chunk_ms, "rtf": statistics.median(x for x, _ in rs), "p50_ms": p50,
                           "p95_ms": p95, "weights_mb": weights[name] / 1e6, "floor_ms": floor,
                           "p50_over_floor": p50 / floor, "p95_share_of_chunk": p95 / chunk_ms}
                    rows.append(row)
                    print(f"  {label} {name} {ms} ms {threads} thr: RTF {row['rtf']:.3f}, p50 {p50:.1f} ms, "
                          f"floor {floor:.1f} ms, p50/floor {p50 / floor:.2f}", flush=True)
    bandwidth_end = bandwidth_bytes_per_s()
    print(f"\nmemory bandwidth at the end: {bandwidth_end / 1e9:.1f} GB/s (start {bandwidth / 1e9:.1f})")
    print("\n| model | format | lookahead (chunk) | thr | RTF | p50 / chunk | p95 / chunk | encoder weights | floor "
          f"| p50 / floor (goal <= {GOAL}) | p95 / chunk length |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for x in rows:
        verdict = "met" if x["p50_over_floor"] <= GOAL else "unmet"
        realtime = "keeps up" if x["p95_share_of_chunk"] < 1 else "falls behind"
        print(f"| {x['model']} | {x['format']} | {x['lookahead_ms']} ms ({x['chunk_ms']:.0f} ms) | {x['threads']} "
              f"| {x['rtf']:.3f} | {x['p50_ms']:.1f} ms | {x['p95_ms']:.1f} ms | {x['weights_mb']:.0f} MB "
              f"| {x['floor_ms']:.1f} ms | {x['p50_over_floor']:.2f} ({verdict}) "
              f"| {100 * x['p95_share_of_chunk']:.0f} % ({realtime}) |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"bandwidth_gb_s": [bandwidth / 1e9, bandwidth_end / 1e9], "rows": rows},
                                    indent=1) + "\n", encoding="utf-8")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
