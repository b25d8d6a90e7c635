#!/usr/bin/env python
"""The streaming graph (projected key/value caches, precomputed position projections) against NeMo's layout.

Both folders are imported from the same ``.nemo`` by ``captioner import`` in this run (``--attention-cache``
picks the layout), then the same audio is streamed through each with Captioner's recognizer, in interleaved
rounds so machine noise hits both alike. Printed per lookahead: RTF (compute / audio, median of rounds),
per-chunk compute p50/p95, the speed-up, and whether the token ids are identical.

    .venv/bin/python -m benchmarks.streaming_graph models/full-size/fullsize.nemo \
        --audio models/full-size/bench_60s.wav --lookahead-ms 80 480 --threads 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.compare_folders import run_once, summarise


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nemo", type=Path)
    ap.add_argument("--audio", type=Path, required=True)
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[80, 480])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from captioner.asr.spec import AttentionCache
    from captioner.audio.file_reader import load_audio
    from captioner.nemo_import.importer import import_nemo

    audio = load_audio(args.audio, 16000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="captioner-graphs-", dir=args.nemo.parent) as tmp:
        folders = {}
        for cache in AttentionCache:
            folders[cache] = Path(tmp) / cache.value
            import_nemo(args.nemo, folders[cache], lookaheads_ms=args.lookahead_ms, attention_cache=cache)
        for ms in args.lookahead_ms:
            results: dict[AttentionCache, list[dict[str, object]]] = {c: [] for c in AttentionCache}
            for round_index in range(args.rounds):
                order = list(AttentionCache) if round_index % 2 == 0 else list(reversed(AttentionCache))
                for cache in order:
                    results[cache].append(run_once(folders[cache], audio, ms, args.threads))
            row: dict[str, object] = {"lookahead_ms": ms}
            for cache, runs in results.items():
                row[cache.value] = summarise(runs)
            fast, plain = row["projected-kv"], row["layer-inputs"]
            row["speedup"] = round(plain["rtf"] / fast["rtf"], 2)  # type: ignore[index]
            row["identical_tokens"] = results[AttentionCache.PROJECTED_KV][0]["ids"] == \
                results[AttentionCache.LAYER_INPUTS][0]["ids"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"\n{'lookahead':>9} {'NeMo layout RTF':>16} {'p95':>8} {'streaming RTF':>14} {'p95':>8} {'speed-up':>9} "
          f"{'same tokens':>11}")
    for r in rows:
        fast, plain = r["projected-kv"], r["layer-inputs"]
        print(f"{r['lookahead_ms']:>7} ms {plain['rtf']:>16.3f} {plain['p95_ms']:>6.1f}ms "  # type: ignore[index]
              f"{fast['rtf']:>14.3f} {fast['p95_ms']:>6.1f}ms {r['speedup']:>8.2f}x "  # type: ignore[index]
              f"{r['identical_tokens']!s:>11}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
