#!/usr/bin/env python
"""Word error rate of the bundled demo model on its held-out set (printed, not asserted).

The held-out set (``tools/make_demo_model.py data``) has sentences and voice settings never used in
training. Every clip is streamed through Captioner's own recognizer chunk by chunk, at every
lookahead the model provides, with the RNNT and the CTC decoder. Then the same clips are written
as 44.1 kHz and 48 kHz stereo WAV files and go through the file path that ``captioner transcribe``
and the app's ``--input-file`` use (read, downmix, streaming resampler to 16 kHz).

    python -m benchmarks.demo_model_wer [--test work-tmp/demo-model/data/test] [--model models/captioner-demo-en]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, transcribe_samples
from captioner.audio.file_reader import load_audio
from tools.wer import word_count, word_errors

ROOT = Path(__file__).resolve().parents[1]


def _run(job: tuple[str, str, int, str, list[str], list[str]]) -> dict[str, Any]:
    model_dir, label, lookahead, decoder, files, refs = job
    rec = StreamingRecognizer(load_model_folder(Path(model_dir)), lookahead_ms=lookahead, decoder=decoder,
                              provider="cpu", threads=1)
    errors = words = 0
    audio_s = 0.0
    t = time.perf_counter()
    worst: list[tuple[int, str, str]] = []
    per_clip: list[tuple[int, int]] = []
    for path, ref in zip(files, refs, strict=True):
        rec.reset()
        samples = load_audio(Path(path), rec.spec.preprocessor.sample_rate)
        audio_s += len(samples) / rec.spec.preprocessor.sample_rate
        hyp = rec.tokenizer.decode([tok.id for tok in transcribe_samples(rec, samples)]).strip()
        e = word_errors(ref, hyp)
        errors += e
        words += word_count(ref)
        per_clip.append((e, word_count(ref)))
        if e:
            worst.append((e, ref, hyp))
    worst.sort(reverse=True)
    return {"input": label, "lookahead_ms": lookahead, "decoder": decoder, "utterances": len(files),
            "words": words, "errors": errors, "wer": errors / max(1, words),
            "rtf": (time.perf_counter() - t) / max(1e-9, audio_s), "worst": worst[:3], "per_clip": per_clip}


def _resampled(files: list[str], rate: int, out: Path) -> list[str]:
    import soundfile as sf
    import soxr

    paths = []
    for f in files:
        x, sr = sf.read(f, dtype="float32")
        y = soxr.resample(x, sr, rate, quality="VHQ")
        stereo = np.stack([y, 0.8 * y], axis=1)  # a slightly unbalanced stereo pair, as devices give
        p = out / f"{rate}_{Path(f).stem}.wav"
        sf.write(str(p), stereo, rate, subtype="PCM_16")
        paths.append(str(p))
    return paths


def _print_by_voice(results: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """WER per voice (engine and voice; espeak-ng variants folded) for RNNT at each lookahead."""
    runs = [r for r in results if r["input"] == "16 kHz mono" and r["decoder"] == "rnnt"]
    if not runs:
        return

    def key(row: dict[str, Any]) -> str:
        return f"{row['voice']['engine']}/{row['voice']['voice']}"

    keys = sorted({key(row) for row in rows})
    header = "".join(f"{r['lookahead_ms']:>8} ms" for r in runs)
    print(f"\nRNNT WER by voice (held-out settings){'':<3}{header}   clips")
    for k in keys:
        cells = []
        for r in runs:
            pairs = [pc for pc, row in zip(r["per_clip"], rows, strict=True) if key(row) == k]
            cells.append(f"{100 * sum(e for e, _ in pairs) / max(1, sum(w for _, w in pairs)):>10.1f}%")
        print(f"  {k:<38}" + "".join(cells) + f"{sum(key(row) == k for row in rows):>7}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test", type=Path, default=ROOT / "work-tmp" / "demo-model" / "data" / "test")
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "captioner-demo-en")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N clips")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    rows = [json.loads(line) for line in (args.test / "manifest.jsonl").read_text().splitlines()]
    if args.limit:
        rows = rows[: args.limit]
    files = [str(args.test / r["audio"]) for r in rows]
    refs = [r["text"] for r in rows]
    spec = load_model_folder(args.model).spec
    print(f"model {spec.name} ({args.model}), {len(rows)} held-out utterances, "
          f"{sum(r['seconds'] for r in rows) / 60:.1f} min of speech, {sum(word_count(t) for t in refs)} words")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(str(args.model), "16 kHz mono", la, dec, files, refs)
                for la in spec.lookaheads_ms() for dec in spec.decoders()]
        for rate in (44100, 48000):
            resampled = _resampled(files, rate, Path(tmp))
            jobs += [(str(args.model), f"{rate / 1000:g} kHz stereo file", la, "rnnt", resampled, refs)
                     for la in (80, 480) if la in spec.lookaheads_ms()]
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(_run, jobs))
    print(f"\n{'input':<22}{'lookahead':>10}{'decoder':>9}{'WER':>9}{'errors/words':>15}{'RTF':>8}")
    for r in results:
        print(f"{r['input']:<22}{r['lookahead_ms']:>8} ms{r['decoder']:>9}{100 * r['wer']:>8.2f}%"
              f"{r['errors']:>8}/{r['words']:<6}{r['rtf']:>8.3f}")
    _print_by_voice(results, rows)
    print("\nGoals: RNNT WER <= 10% at 480 ms, <= 15% at 80 ms. Worst utterances (RNNT, 80 ms):")
    for r in results:
        if r["input"] == "16 kHz mono" and r["decoder"] == "rnnt" and r["lookahead_ms"] == 80:
            for e, ref, hyp in r["worst"]:
                print(f"  {e} errors\n    ref: {ref}\n    hyp: {hyp}")
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "per_clip"} for r in results], indent=1),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
