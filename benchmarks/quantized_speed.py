#!/usr/bin/env python
"""Every weight format of one model against the machine's floor, measured in the same run.

For a float32 model folder (``captioner import`` writes one), the run

* writes the quantised copies (``captioner quantize --scheme``) next to it in a temporary folder;
* measures the memory bandwidth with a large array copy, and from it the floor of each format: the time
  to read its encoder weights once, which a batch-1 step cannot beat;
* streams the same audio through every format, rounds interleaved, and prints RTF, per-chunk compute
  p50/p95, p50 over the floor, folder size, and the share of token ids equal to float32's.

    .venv/bin/python -m benchmarks.quantized_speed MODEL_DIR --audio models/full-size/bench_60s.wav \
        --lookahead-ms 80 480 --threads 2 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np


def bandwidth_bytes_per_s(megabytes: int = 512, repeats: int = 5) -> float:
    """Best of ``repeats`` copies of a ``megabytes`` array (read + write counted)."""
    source = np.ones(megabytes * (1 << 20) // 8)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return 2 * source.nbytes / best


def encoder_weight_bytes(folder: Path, encoder_file: str) -> int:
    """Bytes of the initializers one encoder graph reads (external data included)."""
    import onnx

    model = onnx.load(str(folder / encoder_file), load_external_data=False)
    total = 0
    for init in model.graph.initializer:
        length = next((int(e.value) for e in init.external_data if e.key == "length"), None)
        total += length if length is not None else len(init.raw_data) or init.ByteSize()
    return total


def run_once(folder: Path, audio: np.ndarray, lookahead_ms: int, threads: int) -> tuple[float, list[float], list[int]]:
    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples

    rec = StreamingRecognizer(load_model_folder(folder), lookahead_ms=lookahead_ms, provider="cpu", threads=threads)
    ids = [t.id for t in transcribe_samples(rec, audio, block=1600)]
    steps = list(rec.step_seconds)
    return sum(steps) / (audio.size / rec.sample_rate), steps, ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--audio", type=Path, required=True)
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[80, 480])
    ap.add_argument("--schemes", nargs="+", default=["int8-matmul", "int8-block", "int4-block"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from captioner.asr.model_folder import load_model_folder
    from captioner.audio.file_reader import load_audio
    from captioner.export.quantize import quantize_folder

    audio = load_audio(args.audio, 16000)
    bandwidth = bandwidth_bytes_per_s()
    print(f"memory bandwidth (copy): {bandwidth / 1e9:.1f} GB/s", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="captioner-quant-", dir=args.model_dir.parent) as tmp:
        folders = {"float32": args.model_dir}
        for scheme in args.schemes:
            folders[scheme] = Path(tmp) / scheme
            quantize_folder(args.model_dir, folders[scheme], scheme)
        for ms in args.lookahead_ms:
            runs: dict[str, list[tuple[float, list[float], list[int]]]] = {name: [] for name in folders}
            for round_index in range(args.rounds):
                order = list(folders) if round_index % 2 == 0 else list(reversed(folders))
                for name in order:
                    runs[name].append(run_once(folders[name], audio, ms, args.threads))
            reference = runs["float32"][0][2]
            for name, folder in folders.items():
                spec = load_model_folder(folder).spec
                encoder = spec.streaming_for(ms).encoder_file
                floor_ms = 1000 * encoder_weight_bytes(folder, encoder) / bandwidth
                steps = [s for r in runs[name] for s in r[1]]
                p50 = 1000 * float(np.percentile(steps, 50))
                row = {
                    "format": name, "lookahead_ms": ms,
                    "rtf": round(statistics.median(r[0] for r in runs[name]), 4),
                    "p50_ms": round(p50, 2), "p95_ms": round(1000 * float(np.percentile(steps, 95)), 2),
                    "floor_ms": round(floor_ms, 2), "p50_over_floor": round(p50 / floor_ms, 2),
                    "folder_mb": round(sum(p.stat().st_size for p in folder.iterdir()) / 1e6, 1),
                    "token_agreement": round(SequenceMatcher(a=reference, b=runs[name][0][2],
                                                             autojunk=False).ratio(), 4),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\n{'format':<12} {'lookahead':>9} {'RTF':>7} {'p50':>8} {'p95':>8} {'floor':>8} {'p50/floor':>9} "
          f"{'MB':>6} {'same tokens':>11}")
    for r in rows:
        print(f"{r['format']:<12} {r['lookahead_ms']:>6} ms {r['rtf']:>7.3f} {r['p50_ms']:>6.1f}ms "
              f"{r['p95_ms']:>6.1f}ms {r['floor_ms']:>6.1f}ms {r['p50_over_floor']:>9.2f} {r['folder_mb']:>6.0f} "
              f"{100 * r['token_agreement']:>10.1f}%")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
