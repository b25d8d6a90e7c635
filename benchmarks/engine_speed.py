#!/usr/bin/env python
"""Engine speed: Captioner vs NeMo PyTorch ``conformer_stream_step`` vs sherpa-onnx, same audio, same threads.

For every lookahead x thread count it streams the same audio through

* **Captioner**: ``StreamingRecognizer`` (RNNT, CPU provider), fed 100 ms blocks, features included;
* **Captioner int8** (``captioner-int8``): the same harness on the ``captioner quantize`` output
  (``MODEL_DIR/captioner-int8``: int8 encoder MatMul weights), with its token agreement with float32
  Captioner (share of identical token ids by position, and whether the sequences are equal);
* **NeMo**: ``CacheAwareStreamingAudioBuffer`` + ``conformer_stream_step`` (NeMo's streaming script loop,
  mode A, the model's own RNNT decoding), ``torch.set_num_threads(threads)``;
* **sherpa-onnx**: ``OnlineRecognizer.from_transducer`` on the encoder/decoder/joiner export of the same
  weights (``tools/export_sherpa_onnx.py``), ``num_threads=threads``, fed 100 ms blocks;

and prints RTF (compute seconds / audio seconds), per-chunk compute p50/p95 (ms and % of the chunk's
audio duration) and the throughput ratios. The machine may be shared, so the systems are
interleaved: each round runs all of them on the whole audio in a rotating order, and the table shows the
median over rounds (per-chunk percentiles pool all rounds).

Needs the full-size model (``tools/make_fullsize_model.py``) and the NeMo venv::

    $NEMO_PYTHON -m benchmarks.engine_speed                      # 60 s, 2 rounds
    $NEMO_PYTHON -m benchmarks.engine_speed --seconds 30 --rounds 1 --lookahead-ms 80
    .venv/bin/python -m captioner quantize models/full-size/captioner models/full-size/captioner-int8
    $NEMO_PYTHON -m benchmarks.engine_speed --lookahead-ms 80 --threads 2 \
        --systems captioner captioner-int8 nemo sherpa
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "models" / "full-size"
SR = 16000
BLOCK = 1600  # 100 ms
CAPTIONERS = ("captioner", "captioner-int8")  # system name = folder name under --model-dir
ALL_SYSTEMS = (*CAPTIONERS, "nemo", "sherpa")


@dataclass
class Run:
    seconds: float
    """Wall-clock compute for the whole stream (features + encoder + decoding + glue)."""
    steps: list[float]
    """Per-chunk compute, seconds."""
    tokens: list[Any]


def load_audio(path: Path | None, seconds: float) -> np.ndarray:
    import soundfile as sf

    if path is None:
        path = FULL / "bench_60s.wav"
    x, sr = sf.read(str(path), dtype="float32")
    if x.ndim > 1:
        x = x.mean(axis=1)
    if sr != SR:
        import soxr

        x = soxr.resample(x, sr, SR).astype(np.float32)
    n = int(seconds * SR)
    if len(x) < n:
        x = np.tile(x, int(np.ceil(n / len(x))))
    return np.ascontiguousarray(x[:n])


# ---------------------------------------------------------------------------------------------- systems
class CaptionerSystem:
    name = "captioner"

    def __init__(self, folder_path: Path, lookahead_ms: int, threads: int) -> None:
        from captioner.asr.model_folder import load_model_folder
        from captioner.asr.recognizer import StreamingRecognizer

        self.rec = StreamingRecognizer(load_model_folder(folder_path), decoder="rnnt", lookahead_ms=lookahead_ms,
                                       provider="cpu", threads=threads)
        s = self.rec.streaming
        self.chunk_ms = s.shift_frames[1] * self.rec.spec.preprocessor.frame_ms

    def run(self, audio: np.ndarray) -> Run:
        rec = self.rec
        rec.reset()
        rec.step_seconds.clear()
        tokens = []
        t0 = time.perf_counter()
        for start in range(0, audio.size, BLOCK):
            tokens += rec.accept(audio[start : start + BLOCK])
        tokens += rec.finish()
        wall = time.perf_counter() - t0
        return Run(wall, list(rec.step_seconds), [t.id for t in tokens])


class NemoSystem:
    name = "nemo"

    def __init__(self, model: Any, lookahead_ms: int, threads: int) -> None:
        import torch

        self.model = model
        self.threads = threads
        frame_ms = 10 * model.encoder.subsampling_factor
        ctx = [list(c) for c in model.encoder.att_context_size_all]
        self.att = next(c for c in ctx if c[1] * frame_ms == lookahead_ms)
        torch.set_num_threads(threads)

    def run(self, audio: np.ndarray) -> Run:
        import torch
        from nemo.collections.asr.parts.utils.streaming_utils import CacheAwareStreamingAudioBuffer

        torch.set_num_threads(self.threads)
        model = self.model
        model.encoder.set_default_att_context_size(self.att)
        model.encoder.setup_streaming_params()
        steps: list[float] = []
        t0 = time.perf_counter()
        with torch.inference_mode():
            buf = CacheAwareStreamingAudioBuffer(model=model, online_normalization=False, pad_and_drop_preencoded=False)
            buf.append_audio(audio, stream_id=-1)
            ch, tm, ln = model.encoder.get_initial_cache_state(batch_size=1, dtype=torch.float32)
            hyps = None
            pred = None
            for step, (chunk, lengths) in enumerate(iter(buf)):
                s0 = time.perf_counter()
                drop = 0 if step == 0 else model.encoder.streaming_cfg.drop_extra_pre_encoded
                pred, _, ch, tm, ln, hyps = model.conformer_stream_step(
                    processed_signal=chunk, processed_signal_length=lengths, cache_last_channel=ch,
                    cache_last_time=tm, cache_last_channel_len=ln, keep_all_outputs=buf.is_buffer_empty(),
                    previous_hypotheses=hyps, previous_pred_out=pred, drop_extra_pre_encoded=drop,
                    return_transcription=True)
                steps.append(time.perf_counter() - s0)
        wall = time.perf_counter() - t0
        ids = [int(x) for x in hyps[0].y_sequence.tolist()] if hyps else []
        return Run(wall, steps, ids)


class SherpaSystem:
    name = "sherpa"

    def __init__(self, folder: Path, lookahead_ms: int, threads: int) -> None:
        import sherpa_onnx

        self.rec = sherpa_onnx.OnlineRecognizer.from_transducer(
            tokens=str(folder / "tokens.txt"), encoder=str(folder / f"encoder-la{lookahead_ms}.onnx"),
            decoder=str(folder / "decoder.onnx"), joiner=str(folder / "joiner.onnx"), num_threads=threads,
            sample_rate=SR, feature_dim=80, decoding_method="greedy_search", provider="cpu")

    def run(self, audio: np.ndarray) -> Run:
        rec = self.rec
        stream = rec.create_stream()
        steps: list[float] = []
        t0 = time.perf_counter()
        for start in range(0, audio.size, BLOCK):
            stream.accept_waveform(SR, audio[start : start + BLOCK])
            while rec.is_ready(stream):
                s0 = time.perf_counter()
                rec.decode_stream(stream)
                steps.append(time.perf_counter() - s0)
        stream.input_finished()
        while rec.is_ready(stream):
            s0 = time.perf_counter()
            rec.decode_stream(stream)
            steps.append(time.perf_counter() - s0)
        wall = time.perf_counter() - t0
        return Run(wall, steps, list(rec.get_result_all(stream).tokens))


# ---------------------------------------------------------------------------------------------- main
def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else float("nan")


def agreement(a: list[Any], b: list[Any]) -> float:
    """Share of positions with the same token id, over the longer sequence (1.0 = identical)."""
    n = max(len(a), len(b))
    return sum(x == y for x, y in zip(a, b, strict=False)) / n if n else 1.0


def worker(conn: Any, name: str, model_dir: str, audio_path: str, seconds: float) -> None:
    """One system in its own process (its thread pools cannot disturb the others); driven by ``main``."""
    model_path = Path(model_dir)
    audio = load_audio(Path(audio_path), seconds)
    nemo_model = None
    if name == "nemo":
        import logging

        import torch
        from nemo.collections.asr.models import ASRModel
        from nemo.utils import logging as nemo_logging

        nemo_logging.setLevel(logging.ERROR)
        torch.set_grad_enabled(False)
        nemo_model = ASRModel.restore_from(str(model_path / "fullsize.nemo"), map_location="cpu")
        nemo_model.eval()
        nemo_model.change_decoding_strategy(decoder_type="rnnt", verbose=False)
    system: Any = None
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg[0] == "setup":
            la, threads = msg[1], msg[2]
            system = None
            gc.collect()
            if name in CAPTIONERS:
                system = CaptionerSystem(model_path / name, la, threads)
            elif name == "nemo":
                system = NemoSystem(nemo_model, la, threads)
            else:
                system = SherpaSystem(model_path / "sherpa", la, threads)
            system.run(audio[: 3 * SR])  # warm-up
            conn.send("ok")
        elif msg[0] == "run":
            run = system.run(audio)
            conn.send((run.seconds, run.steps, [int(t) if not isinstance(t, str) else t for t in run.tokens]))
        else:
            conn.send("bye")
            return


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", type=Path, default=FULL, help="folder with captioner/, sherpa/, fullsize.nemo")
    ap.add_argument("--audio", type=Path, default=None, help="audio file (default: model-dir/bench_60s.wav)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[1040, 480, 80, 0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--systems", nargs="+", default=["captioner", "nemo", "sherpa"], choices=ALL_SYSTEMS,
                    help="captioner-int8 needs MODEL_DIR/captioner-int8 (captioner quantize)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "engine_speed.json")
    args = ap.parse_args()

    import multiprocessing as mp

    import onnxruntime

    audio_path = args.audio if args.audio else args.model_dir / "bench_60s.wav"
    if "captioner-int8" in args.systems and not (args.model_dir / "captioner-int8").is_dir():
        print(f"skipping captioner-int8: no {args.model_dir / 'captioner-int8'} (run `captioner quantize "
              f"{args.model_dir / 'captioner'} {args.model_dir / 'captioner-int8'}`)", flush=True)
        args.systems = [s for s in args.systems if s != "captioner-int8"]
    audio_s = load_audio(audio_path, args.seconds).size / SR
    print(f"audio {audio_s:.1f} s ({audio_path.name}), rounds {args.rounds}, onnxruntime {onnxruntime.__version__}, "
          "one process per system", flush=True)
    ctx = mp.get_context("spawn")
    conns: dict[str, Any] = {}
    procs = []
    for name in args.systems:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(child, name, str(args.model_dir), str(audio_path), args.seconds),
                           daemon=True)
        proc.start()
        conns[name] = parent
        procs.append(proc)
    for c in conns.values():
        assert c.recv() == "ready"

    results: list[dict[str, Any]] = []
    for la in args.lookahead_ms:
        for threads in args.threads:
            for c in conns.values():  # one at a time: set-up and warm-up are not measured
                c.send(("setup", la, threads))
                assert c.recv() == "ok"
            runs: dict[str, list[Run]] = {name: [] for name in args.systems}
            for r in range(args.rounds):
                order = args.systems[r % len(args.systems):] + args.systems[: r % len(args.systems)]
                for name in order:
                    conns[name].send(("run",))
                    wall, steps, tokens = conns[name].recv()
                    runs[name].append(Run(wall, steps, tokens))
            row: dict[str, Any] = {"lookahead_ms": la, "threads": threads, "chunk_ms": (8 * (la // 80) + 8) * 10}
            for name, rs in runs.items():
                steps = [x for run in rs for x in run.steps]
                row[name] = {
                    "rtf": statistics.median(run.seconds for run in rs) / audio_s,
                    "rtf_all": [run.seconds / audio_s for run in rs],
                    "p50_ms": pct(steps, 50), "p95_ms": pct(steps, 95), "chunks": len(rs[0].steps),
                    "tokens": len(rs[0].tokens),
                }
            for name in CAPTIONERS:
                if name in runs and "nemo" in runs:
                    row[name]["identical_to_nemo"] = runs[name][0].tokens == runs["nemo"][0].tokens
            if "captioner" in runs and "captioner-int8" in runs:
                fp32, int8 = runs["captioner"][0].tokens, runs["captioner-int8"][0].tokens
                row["captioner-int8"]["agreement_fp32"] = agreement(fp32, int8)
                row["captioner-int8"]["identical_to_fp32"] = fp32 == int8
            results.append(row)
            print_row(row, header=len(results) == 1)
    for c in conns.values():
        c.send(("quit",))
        c.recv()
    for proc in procs:
        proc.join(timeout=10)

    print()
    print_table(results)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"audio_s": audio_s, "rounds": args.rounds, "rows": results}, indent=2) + "\n")
    print(f"\nJSON: {args.json}")
    return 0


def print_row(row: dict[str, Any], header: bool) -> None:
    parts = [f"la {row['lookahead_ms']:>4} ms, {row['threads']} thr:"]
    for name in ALL_SYSTEMS:
        if name in row:
            parts.append(f"{name} RTF {row[name]['rtf']:.3f} (p50 {row[name]['p50_ms']:.1f} / p95 "
                         f"{row[name]['p95_ms']:.1f} ms, {row[name]['tokens']} tok)")
    print("  ".join(parts), flush=True)


def _yn(value: bool | None) -> str:
    return {True: "yes", False: "NO"}.get(value, "-")


def print_table(results: list[dict[str, Any]]) -> None:
    """One line per Captioner variant and setting; NeMo / sherpa columns repeat the same run's numbers."""
    head = ("| lookahead | thr | chunk | system | RTF | p50 ms | p50 % chunk | p95 ms | p95 % chunk | NeMo RTF "
            "| sherpa RTF | x NeMo | x sherpa | tokens (N/S) | = NeMo | agreement with fp32 |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for row in results:
        ch = row["chunk_ms"]
        nemo = f"{row['nemo']['rtf']:.3f}" if "nemo" in row else "-"
        sherpa = f"{row['sherpa']['rtf']:.3f}" if "sherpa" in row else "-"
        others = "/".join(str(row[n]["tokens"]) if n in row else "-" for n in ("nemo", "sherpa"))
        for name in CAPTIONERS:
            c = row.get(name)
            if not c:
                continue
            ratio_n = f"{row['nemo']['rtf'] / c['rtf']:.2f}" if "nemo" in row else "-"
            ratio_s = f"{row['sherpa']['rtf'] / c['rtf']:.2f}" if "sherpa" in row else "-"
            agree = "-"
            if "agreement_fp32" in c:
                agree = f"{100 * c['agreement_fp32']:.1f}% ({'equal' if c['identical_to_fp32'] else 'not equal'})"
            print(f"| {row['lookahead_ms']} ms | {row['threads']} | {ch:.0f} ms | {name} | {c['rtf']:.3f} "
                  f"| {c['p50_ms']:.1f} | {100 * c['p50_ms'] / ch:.1f}% | {c['p95_ms']:.1f} "
                  f"| {100 * c['p95_ms'] / ch:.1f}% | {nemo} | {sherpa} | {ratio_n} | {ratio_s} "
                  f"| {c['tokens']} ({others}) | {_yn(c.get('identical_to_nemo'))} | {agree} |")
    goals = [(r, n) for r in results for n in CAPTIONERS if n in r]
    if goals:
        print("\nGoals (throughput = 1/RTF):")
        for r, name in goals:
            c = r[name]
            line = f"  {name:<14} la {r['lookahead_ms']:>4} ms, {r['threads']} thr:"
            if "sherpa" in r:
                x = r["sherpa"]["rtf"] / c["rtf"]
                line += f" vs sherpa {x:.2f}x ({'MET' if x >= 1.5 else 'unmet'}, goal 1.5x);"
            if "nemo" in r:
                x = r["nemo"]["rtf"] / c["rtf"]
                line += f" vs NeMo {x:.2f}x ({'MET' if x >= 3 else 'unmet'}, goal 3x);"
            if r["lookahead_ms"] == 80 and r["threads"] == 2:
                p = 100 * c["p95_ms"] / r["chunk_ms"]
                line += f" p95 chunk {p:.1f}% ({'MET' if p <= 20 else 'unmet'}, goal <= 20%)"
            print(line)


if __name__ == "__main__":
    sys.exit(main())
