#!/usr/bin/env python
"""Word error rate of each weight format of a trained model: the shipped float weights against every quantize scheme.

The bundled demo model (``models/captioner-demo-en``) ships its weights as float16 numbers (``float16-weights``:
float16 tensors behind a ``Cast`` to float32, so it computes in float32 with float16-rounded weights).
``captioner quantize`` quantises such a folder from the exact float32 values of those weights; this benchmark
quantises the shipped folder with every scheme (as ``captioner quantize MODEL OUT --scheme S`` does), also writes
an exact float32 copy (every float16 weight widened back: the same numbers, so it must give the same tokens),
and streams the held-out set (``python -m tools.make_demo_model testset``)
through each format's RNNT at each lookahead with Captioner's recognizer, one thread per job. It prints WER,
the change against the shipped float16 folder (clips whose text differs), the compute RTF (encoder + decoding
per audio second, ``step_seconds``) and the folder size. Runs in the dev venv::

    .venv/bin/python -m tools.make_demo_model testset
    .venv/bin/python -m benchmarks.quantized_wer [--model models/captioner-demo-en] [--lookahead-ms 480 80] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMES = ("int8-matmul", "int8-block", "int4-block")
def widen_to_float32(source: Path, target: Path) -> Path:
    """An exact float32 copy of a ``float16-weights`` folder (every float16 weight widened back, pooled again)."""
    import onnx

    from captioner.asr.manifest import MANIFEST_NAME, write_manifest
    from captioner.asr.model_folder import load_model_folder
    from captioner.export.compact import restore_float32, share_weights

    if (target / MANIFEST_NAME).is_file():
        return target
    spec = load_model_folder(source).spec
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    graphs = sorted(p.name for p in source.glob("*.onnx"))
    for item in source.iterdir():
        if item.name in graphs:
            model = onnx.load(str(item))  # external data (weights.bin) read in
            restore_float32(model)
            onnx.save(model, str(tmp / item.name))
        elif item.is_file() and item.name not in (MANIFEST_NAME, spec.weights_file):
            shutil.copy2(item, tmp / item.name)
    share_weights(tmp, graphs)
    write_manifest(replace(spec, quantization=None, name=f"{spec.name}-float32"), tmp)
    tmp.rename(target)
    return target


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) / 1e6


def run_job(job: tuple[str, str, int, list[str], list[str]]) -> dict[str, Any]:
    """One format at one lookahead over the whole set (RNNT, 1 thread); hypotheses kept for the comparison."""
    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
    from captioner.audio.file_reader import load_audio
    from tools.wer import word_count, word_errors

    label, folder, lookahead, files, refs = job
    rec = StreamingRecognizer(load_model_folder(Path(folder)), lookahead_ms=lookahead, decoder="rnnt",
                              provider="cpu", threads=1)
    rate = rec.spec.preprocessor.sample_rate
    errors = words = 0
    audio_s = compute_s = wall_s = 0.0
    hyps = []
    for path, ref in zip(files, refs, strict=True):
        samples = load_audio(Path(path), rate)
        rec.reset()
        rec.step_seconds.clear()
        t0 = time.perf_counter()
        hyp = rec.tokenizer.decode([tok.id for tok in transcribe_samples(rec, samples)]).strip()
        wall_s += time.perf_counter() - t0
        compute_s += sum(rec.step_seconds)
        audio_s += samples.size / rate
        errors += word_errors(ref, hyp)
        words += word_count(ref)
        hyps.append(hyp)
    return {"format": label, "lookahead_ms": lookahead, "errors": errors, "words": words, "wer": errors / max(1, words),
            "rtf": wall_s / audio_s, "compute_rtf": compute_s / audio_s, "hyps": hyps}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "captioner-demo-en")
    ap.add_argument("--test", type=Path, default=ROOT / "work-tmp" / "demo-model" / "data" / "test")
    ap.add_argument("--work", type=Path, default=ROOT / "work-tmp" / "quantized-wer",
                    help="the float32 copy and the quantised folders (kept; remade when missing)")
    ap.add_argument("--schemes", nargs="+", default=list(SCHEMES), choices=SCHEMES)
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[480, 80])
    ap.add_argument("--limit", type=int, default=0, help="only the first N clips")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "quantized_wer.json")
    args = ap.parse_args()

    from captioner.asr.model_folder import load_model_folder
    from captioner.export.quantize import quantize_folder
    from tools.wer import word_count

    manifest = args.test / "manifest.jsonl"
    if not manifest.is_file():
        print(f"no held-out set at {args.test}: run `python -m tools.make_demo_model testset` first", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    if args.limit:
        rows = rows[: args.limit]
    files = [str(args.test / r["audio"]) for r in rows]
    refs = [r["text"] for r in rows]

    spec = load_model_folder(args.model).spec
    shipped = spec.quantization or "float32"
    folders: dict[str, Path] = {f"{shipped} (as shipped)": args.model}
    if spec.quantization == "float16-weights":
        folders["float32 (widened copy)"] = widen_to_float32(args.model, args.work / f"{args.model.name}-float32")
    elif spec.quantization:
        print(f"{args.model} is already quantised ({spec.quantization}); give a float32 or float16 folder",
              file=sys.stderr)
        return 2
    for scheme in args.schemes:
        out = args.work / f"{args.model.name}-{scheme}"
        if not (out / "captioner-model.json").is_file():
            shutil.rmtree(out, ignore_errors=True)
            started = time.perf_counter()
            quantize_folder(args.model, out, scheme)  # as `captioner quantize MODEL OUT --scheme` does
            print(f"quantised {scheme} in {time.perf_counter() - started:.1f} s -> {out}", flush=True)
        folders[scheme] = out
    lookaheads = [ms for ms in args.lookahead_ms if ms in spec.lookaheads_ms()]
    print(f"model {spec.name}, {len(rows)} held-out utterances, {sum(r['seconds'] for r in rows) / 60:.1f} min, "
          f"{sum(word_count(t) for t in refs)} words; lookaheads {lookaheads}; formats {', '.join(folders)}",
          flush=True)
    # Interleaved by lookahead, so that the jobs of one lookahead run side by side under the same load.
    jobs = [(label, str(folder), ms, files, refs) for ms in lookaheads for label, folder in folders.items()]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(run_job, jobs))
    print(f"({len(jobs)} jobs, {args.workers} at a time, one thread each, in {time.perf_counter() - started:.0f} s)")

    base_label = next(iter(folders))
    print("\n| lookahead | format | RNNT WER | errors / words | clips changed vs shipped | compute RTF | RTF "
          "| folder MB |")
    print("|---|---|---|---|---|---|---|---|")
    for ms in lookaheads:
        base = next(r for r in results if r["lookahead_ms"] == ms and r["format"] == base_label)
        for r in (r for r in results if r["lookahead_ms"] == ms):
            changed = sum(a != b for a, b in zip(base["hyps"], r["hyps"], strict=True))
            r["clips_changed"] = changed
            r["folder_mb"] = round(folder_mb(folders[r["format"]]), 1)
            delta = "" if r is base else f" ({100 * (r['wer'] - base['wer']):+.2f})"
            print(f"| {ms} ms | {r['format']} | {100 * r['wer']:.2f}%{delta} | {r['errors']} / {r['words']} | "
                  f"{changed} / {len(rows)} | {r['compute_rtf']:.4f} | {r['rtf']:.4f} | {r['folder_mb']:.1f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "hyps"} for r in results], indent=1) + "\n",
                         encoding="utf-8")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
