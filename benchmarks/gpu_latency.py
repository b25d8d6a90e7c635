#!/usr/bin/env python
"""Per-chunk latency on a GPU at every lookahead, with the encoder caches on the host or kept on the device.

For the GPU machine (``onnxruntime-gpu`` with CUDA): each folder is streamed at each of its lookaheads with
the CUDA provider, once with host caches (numpy arrays fed to every run) and once with device caches (IO
binding, the default on CUDA), in interleaved rounds. Printed: RTF, per-chunk compute p50/p95, p95 as a share
of the chunk, and whether the tokens equal the host-cache run's. ``--provider cpu`` runs the same harness on
the CPU provider (how it is checked on a machine without a GPU; device caches then stay in host memory).

    python -m benchmarks.gpu_latency models/full-size/imported models/nemotron-shape/imported \\
        --audio models/full-size/bench_60s.wav --rounds 3
    python -m benchmarks.gpu_latency models/captioner-demo-en --audio SPEECH.wav --provider cpu --rounds 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.compare_folders import summarise


def run_once(model: Any, audio: np.ndarray, lookahead_ms: int, device_caches: bool) -> dict[str, Any]:
    from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples

    rec = StreamingRecognizer(model, lookahead_ms=lookahead_ms, device_caches=device_caches)
    start = time.perf_counter()
    tokens = transcribe_samples(rec, audio, block=1600) + rec.finish()
    wall = time.perf_counter() - start
    steps = list(rec.step_seconds)
    return {"rtf": sum(steps) / (audio.size / 16000), "wall_rtf": wall / (audio.size / 16000), "steps": steps,
            "ids": [t.id for t in tokens], "provider": rec.provider, "cache_device": rec.cache_device,
            "chunk_ms": rec.streaming.shift_frames[1] * model.folder.spec.preprocessor.frame_ms}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", type=Path, nargs="+")
    ap.add_argument("--audio", type=Path, required=True)
    ap.add_argument("--provider", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--lookahead-ms", type=int, nargs="+", help="default: every lookahead of each folder")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import LoadedModel
    from captioner.audio.file_reader import load_audio

    audio = load_audio(args.audio, 16000)
    rows: list[dict[str, Any]] = []
    for path in args.folders:
        model = LoadedModel(load_model_folder(path), args.provider)
        for ms in args.lookahead_ms or sorted(model.folder.spec.lookaheads_ms()):
            runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
            run_once(model, audio[:16000], ms, True)  # warm-up: CUDA kernels, allocator arenas
            for round_index in range(args.rounds):
                for device in (False, True) if round_index % 2 == 0 else (True, False):
                    runs[device].append(run_once(model, audio, ms, device))
            for results in runs.values():
                chunk_ms = results[0]["chunk_ms"]
                row = {"folder": str(path), "lookahead_ms": ms, "chunk_ms": chunk_ms,
                       "provider": results[0]["provider"], "caches": results[0]["cache_device"] or "host",
                       **summarise(results), "same_tokens": results[0]["ids"] == runs[False][0]["ids"]}
                row["p95_share"] = round(row["p95_ms"] / chunk_ms, 3)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| folder | provider | lookahead (chunk) | caches | RTF | p50 / chunk | p95 / chunk | p95 % of chunk "
          "| same tokens |")
    print("|---|---|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {Path(r['folder']).name} | {r['provider']} | {r['lookahead_ms']} ms ({r['chunk_ms']:.0f} ms) | "
              f"{r['caches']} | {r['rtf']:.3f} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | "
              f"{100 * r['p95_share']:.0f} % | {'yes' if r['same_tokens'] else 'NO'} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
