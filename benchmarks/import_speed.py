#!/usr/bin/env python
"""``captioner import`` time and peak memory on real-sized checkpoints, against the I/O floor of the same run.

For each ``.nemo`` given, the same run measures

* the floor: reading the whole file once (what any converter must at least do);
* ``captioner import`` in a fresh process: wall time and peak resident memory (``wait4``'s ``ru_maxrss``),
  and that memory as a multiple of the checkpoint's weight bytes;
* with ``--compare-export DIR`` (a ``captioner export`` folder of the same model): the largest difference
  between the imported and the exported encoder graphs on the same step inputs, per lookahead.

Goals (issue: native importer): at most 60 s and peak RSS at most 2x the weights for the 114 M-parameter
full-size model on 2 cores. Run in the dev venv (no NeMo needed)::

    .venv/bin/python -m benchmarks.import_speed models/full-size/fullsize.nemo \
        --compare-export models/full-size/captioner
    .venv/bin/python -m benchmarks.import_speed models/nemotron-shape/nemotron-shape.nemo
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def read_floor(path: Path) -> float:
    """Seconds to read ``path`` once in 8 MiB blocks."""
    started = time.perf_counter()
    with open(path, "rb") as handle:
        while handle.read(8 << 20):
            pass
    return time.perf_counter() - started


def weight_bytes(path: Path) -> int:
    from captioner.asr.nemo_archive import NemoArchive

    with NemoArchive(path) as archive:
        return next(m.size for m in archive.members() if m.name.endswith("model_weights.ckpt"))


def run_import(nemo: Path, out: Path, weights: str) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes) of ``captioner import`` in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "captioner", "import", str(nemo), str(out), "--quiet",
                                "--weights", weights])
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"captioner import failed on {nemo}")
    return wall, usage.ru_maxrss * 1024


def compare(imported: Path, exported: Path) -> dict[str, float]:
    """Max abs difference of every encoder output, same random step inputs, imported vs exported graph."""
    import onnxruntime as ort

    from captioner.asr.model_folder import load_model_folder

    ours, theirs = load_model_folder(imported), load_model_folder(exported)
    rng = np.random.default_rng(0)
    enc = ours.spec.encoder
    worst: dict[str, float] = {}
    for mine, ref in zip(ours.spec.streaming, theirs.spec.streaming, strict=True):
        width = mine.chunk_frames[1] + mine.pre_encode_cache_size
        cache = mine.last_channel_cache_size
        feeds = {
            "audio_signal": (rng.standard_normal((1, enc.feat_in, width)) * 3 - 5).astype(np.float32),
            "length": np.array([width], np.int64),
            "cache_last_channel": rng.standard_normal((1, enc.n_layers, cache, enc.d_model)).astype(np.float32),
            "cache_last_time": rng.standard_normal((1, enc.n_layers, enc.d_model, enc.conv_cache_size)
                                                   ).astype(np.float32),
            "cache_last_channel_len": np.array([cache // 2], np.int64),
        }
        outputs = []
        for folder, spec in ((ours, mine), (theirs, ref)):
            session = ort.InferenceSession(str(folder.file(spec.encoder_file)), providers=["CPUExecutionProvider"])
            outputs.append(session.run(None, feeds))
            del session
        ms = mine.lookahead_ms(enc.subsampling_factor, ours.spec.preprocessor.frame_ms)
        worst[f"{ms} ms"] = max(float(np.max(np.abs(a.astype(np.float64) - b)))
                                for a, b in zip(*outputs, strict=True))
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nemo", nargs="+", type=Path)
    ap.add_argument("--weights", choices=("float32", "float16"), default="float32")
    ap.add_argument("--compare-export", type=Path, help="a captioner export folder of the (first) model")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    rows = []
    for index, nemo in enumerate(args.nemo):
        with tempfile.TemporaryDirectory(prefix="captioner-import-bench-", dir=nemo.parent) as tmp:
            out = Path(tmp) / "model"
            floor = read_floor(nemo)
            wall, rss = run_import(nemo, out, args.weights)
            weights = weight_bytes(nemo)
            row = {
                "model": nemo.name,
                "weights_mb": round(weights / 1e6, 1),
                "read_floor_s": round(floor, 2),
                "import_s": round(wall, 2),
                "import_vs_floor": round(wall / floor, 1) if floor else None,
                "peak_rss_mb": round(rss / 1e6, 1),
                "rss_vs_weights": round(rss / weights, 2),
                "folder_mb": round(sum(p.stat().st_size for p in out.iterdir()) / 1e6, 1),
            }
            if index == 0 and args.compare_export:
                row["max_abs_diff_vs_export"] = compare(out, args.compare_export)
            shutil.rmtree(out, ignore_errors=True)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'model':<28} {'weights':>9} {'read':>7} {'import':>8} {'x read':>7} {'peak RSS':>9} {'x weights':>9}")
    for r in rows:
        print(f"{r['model']:<28} {r['weights_mb']:>7.0f}MB {r['read_floor_s']:>6.1f}s {r['import_s']:>7.1f}s "
              f"{r['import_vs_floor']:>7} {r['peak_rss_mb']:>7.0f}MB {r['rss_vs_weights']:>9}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
