#!/usr/bin/env python
"""One run, one table: Captioner float32 and its quantised schemes against sherpa-onnx int8 and NeMo PyTorch.

Every system streams the same 16 kHz audio in 100 ms blocks with the same number of threads, in its own
process (so no thread pool disturbs another), and the rounds are interleaved in a rotating order so that the
load of a shared machine falls on all of them alike. The table gives the median RTF over the rounds, the
process CPU per audio second, per-chunk compute p50/p95 (all rounds pooled) and the throughput of each
system relative to Captioner float32 (``RTF(captioner) / RTF(system)``: below 1 means slower than Captioner).

Systems (``--systems``; all by default, each skipped with a message when it cannot run):

* ``captioner``: the float32 folder ``captioner import`` writes (streaming-native encoder graphs);
* ``int8-matmul``, ``int8-block``, ``int4-block``: ``captioner quantize --scheme ...`` copies of it, written
  into ``--work`` when missing (token agreement is with float32 Captioner);
* ``sherpa-int8``: sherpa-onnx's ``OnlineRecognizer`` on its own int8 pack of the same ``.nemo``
  (``tools/export_sherpa_onnx.py --pack --int8 also``: ``quantize_dynamic(QUInt8)`` on encoder, decoder and
  joiner, as sherpa-onnx publishes them), greedy search; ``sherpa``: the same on the float32 pack;
* ``captioner-sherpa-int8``: Captioner's engine on that same int8 pack (mode S), which separates the engine
  from the graphs;
* ``nemo``: NeMo's ``CacheAwareStreamingAudioBuffer`` + ``conformer_stream_step`` (mode A, RNNT) on the
  ``.nemo``, ``torch.set_num_threads``.

Threads: each worker gets ``threads`` intra-op threads (ONNX Runtime ``intra_op_num_threads``, sherpa-onnx
``num_threads``, ``torch.set_num_threads``) and ``OMP/OPENBLAS/MKL_NUM_THREADS=threads`` in its environment, so
no system uses more cores than the others through a side pool.

The Captioner systems run in this interpreter (the dev venv is enough). NeMo needs the NeMo venv
(``--nemo-python``, default ``$NEMO_PYTHON``); sherpa-onnx needs ``pip install sherpa-onnx`` in this
interpreter or in the NeMo one; exporting the sherpa packs needs NeMo. What is missing is skipped::

    NEMO_PYTHON=$NEMO_VENV/bin/python .venv/bin/python -m benchmarks.same_run_speed \
        --lookahead-ms 80 480 --threads 2 1 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import IO, Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "models" / "full-size"
SR = 16000
BLOCK = 1600  # 100 ms
SCHEMES = ("int8-matmul", "int8-block", "int4-block")
ALL_SYSTEMS = ("captioner", *SCHEMES, "sherpa-int8", "sherpa", "captioner-sherpa-int8", "nemo")
REFERENCE = {**{s: "captioner" for s in SCHEMES}, "sherpa-int8": "sherpa", "captioner-sherpa-int8": "sherpa-int8",
             "nemo": "captioner"}
"""Whose tokens each system's agreement is measured against."""


@dataclass
class Run:
    wall: float
    cpu: float
    steps: list[float]
    tokens: list[Any]


# ------------------------------------------------------------------------------------------------ workers
class CaptionerRunner:
    def __init__(self, folder: Path, lookahead_ms: int, threads: int) -> None:
        from captioner.asr.model_folder import load_model_folder
        from captioner.asr.recognizer import StreamingRecognizer

        self.rec = StreamingRecognizer(load_model_folder(folder), decoder="rnnt", lookahead_ms=lookahead_ms,
                                       provider="cpu", threads=threads)

    def run(self, audio: np.ndarray) -> Run:
        rec = self.rec
        rec.reset()
        rec.step_seconds.clear()
        tokens = []
        c0, t0 = time.process_time(), time.perf_counter()
        for start in range(0, audio.size, BLOCK):
            tokens += rec.accept(audio[start : start + BLOCK])
        tokens += rec.finish()
        return Run(time.perf_counter() - t0, time.process_time() - c0, list(rec.step_seconds), [t.id for t in tokens])


class SherpaRunner:
    def __init__(self, pack: Path, int8: bool, threads: int) -> None:
        import importlib

        sherpa_onnx = importlib.import_module("sherpa_onnx")  # only in the venv that runs sherpa-onnx
        suffix = ".int8.onnx" if int8 else ".onnx"
        self.ids: dict[str, int] = {}
        for line in (pack / "tokens.txt").read_text(encoding="utf-8").splitlines():
            piece, _, index = line.rpartition(" ")
            self.ids.setdefault(piece, int(index))
        self.rec = sherpa_onnx.OnlineRecognizer.from_transducer(
            tokens=str(pack / "tokens.txt"), encoder=str(pack / f"encoder{suffix}"),
            decoder=str(pack / f"decoder{suffix}"), joiner=str(pack / f"joiner{suffix}"), num_threads=threads,
            sample_rate=SR, feature_dim=80, decoding_method="greedy_search", provider="cpu")

    def run(self, audio: np.ndarray) -> Run:
        rec = self.rec
        stream = rec.create_stream()
        steps: list[float] = []
        c0, t0 = time.process_time(), time.perf_counter()

        def drain() -> None:
            while rec.is_ready(stream):
                s0 = time.perf_counter()
                rec.decode_stream(stream)
                steps.append(time.perf_counter() - s0)

        for start in range(0, audio.size, BLOCK):
            stream.accept_waveform(SR, audio[start : start + BLOCK])
            drain()
        stream.input_finished()
        drain()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        pieces = rec.get_result_all(stream).tokens  # ids via tokens.txt, to compare with Captioner on the pack
        return Run(wall, cpu, steps, [self.ids.get(p, -1) for p in pieces])


class NemoRunner:
    def __init__(self, model: Any, lookahead_ms: int, threads: int) -> None:
        import torch

        self.model = model
        self.threads = threads
        frame_ms = 10 * model.encoder.subsampling_factor
        contexts = [list(c) for c in model.encoder.att_context_size_all]
        self.context = next(c for c in contexts if c[1] * frame_ms == lookahead_ms)
        torch.set_num_threads(threads)

    def run(self, audio: np.ndarray) -> Run:
        import torch
        from nemo.collections.asr.parts.utils.streaming_utils import CacheAwareStreamingAudioBuffer

        torch.set_num_threads(self.threads)
        model = self.model
        model.encoder.set_default_att_context_size(self.context)
        model.encoder.setup_streaming_params()
        steps: list[float] = []
        hyps: Any = None
        c0, t0 = time.process_time(), time.perf_counter()
        with torch.inference_mode():
            buf = CacheAwareStreamingAudioBuffer(model=model, online_normalization=False, pad_and_drop_preencoded=False)
            buf.append_audio(audio, stream_id=-1)
            ch, tm, ln = model.encoder.get_initial_cache_state(batch_size=1, dtype=torch.float32)
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
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ids = [int(x) for x in hyps[0].y_sequence.tolist()] if hyps else []
        return Run(wall, cpu, steps, ids)


def worker(system: str, config: dict[str, Any]) -> int:
    """One system in its own process: JSON lines in on stdin, out on the original stdout (fd 1 goes to stderr)."""
    proto: IO[str] = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the libraries print must not reach the protocol
    audio = np.load(config["audio_npy"])
    threads = int(config["threads"])
    nemo_model: Any = None
    if system == "nemo":
        import logging

        import torch
        from nemo.collections.asr.models import ASRModel
        from nemo.utils import logging as nemo_logging

        nemo_logging.setLevel(logging.ERROR)
        torch.set_grad_enabled(False)
        nemo_model = ASRModel.restore_from(config["nemo"], map_location="cpu")
        nemo_model.eval()
        nemo_model.change_decoding_strategy(decoder_type="rnnt", verbose=False)
    proto.write(json.dumps({"ready": True}) + "\n")
    runner: Any = None
    for line in sys.stdin:
        msg = json.loads(line)
        if msg["op"] == "setup":
            runner = None
            ms = int(msg["lookahead_ms"])
            if system == "nemo":
                runner = NemoRunner(nemo_model, ms, threads)
            elif system in ("sherpa", "sherpa-int8"):
                runner = SherpaRunner(Path(config["folders"][str(ms)]), system == "sherpa-int8", threads)
            else:
                runner = CaptionerRunner(Path(config["folders"][str(ms)]), ms, threads)
            runner.run(audio[: 3 * SR])  # warm-up, not measured
            proto.write(json.dumps({"ok": True}) + "\n")
        elif msg["op"] == "run":
            r = runner.run(audio)
            proto.write(json.dumps({"wall": r.wall, "cpu": r.cpu, "steps": r.steps,
                                    "tokens": [t if isinstance(t, str) else int(t) for t in r.tokens]}) + "\n")
        else:
            return 0
    return 0


@dataclass
class Worker:
    system: str
    proc: subprocess.Popen[str]

    def ask(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.system} worker died (exit {self.proc.wait()}); see its stderr above")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=60)


# ------------------------------------------------------------------------------------------------ set-up
@cache
def python_can_import(python: str | None, module: str) -> bool:
    if not python or not Path(python).is_file():
        return False
    done = subprocess.run([python, "-c", f"import {module}"], capture_output=True, cwd=ROOT)
    return done.returncode == 0


def load_audio(path: Path, seconds: float) -> np.ndarray:
    from captioner.audio.file_reader import load_audio as read

    x = read(path, SR)
    n = int(seconds * SR)
    if len(x) < n:
        x = np.tile(x, int(np.ceil(n / len(x))))
    return np.ascontiguousarray(x[:n], dtype=np.float32)


def ensure_quantized(model: Path, work: Path, scheme: str) -> Path:
    out = work / f"{model.name}-{scheme}"
    if not (out / "captioner-model.json").is_file():
        print(f"writing {out} (captioner quantize --scheme {scheme})", flush=True)
        subprocess.run([sys.executable, "-m", "captioner", "quantize", str(model), str(out), "--scheme", scheme],
                       check=True, cwd=ROOT)
    return out


def ensure_sherpa_pack(nemo: Path, work: Path, ms: int, nemo_python: str | None) -> Path | None:
    pack = work / f"sherpa-la{ms}"
    if (pack / "encoder.int8.onnx").is_file() and (pack / "encoder.onnx").is_file():
        return pack
    if not python_can_import(nemo_python, "nemo.collections.asr"):
        return None
    print(f"exporting {pack} (tools.export_sherpa_onnx --pack --int8 also)", flush=True)
    subprocess.run([str(nemo_python), "-m", "tools.export_sherpa_onnx", str(nemo), str(pack), "--pack",
                    "--lookahead-ms", str(ms), "--int8", "also"], check=True, cwd=ROOT)
    return pack


def int8_only_view(pack: Path) -> Path:
    """A folder of links to the pack's int8 graphs only (Captioner opens the float graphs when all are there)."""
    view = pack.with_name(pack.name + "-int8-only")
    view.mkdir(exist_ok=True)
    for name in ("encoder.int8.onnx", "decoder.int8.onnx", "joiner.int8.onnx", "tokens.txt"):
        link = view / name
        if not link.exists():
            link.symlink_to((pack / name).resolve())
    return view


@dataclass
class Plan:
    systems: list[str]
    python: dict[str, str]
    folders: dict[str, dict[str, str]] = field(default_factory=dict)


def make_plan(args: argparse.Namespace) -> Plan:
    plan = Plan([], {})
    nemo_python = args.nemo_python
    nemo_ok = python_can_import(nemo_python, "nemo.collections.asr")
    sherpa_python = next((p for p in (sys.executable, nemo_python) if python_can_import(p, "sherpa_onnx")), None)
    for system in args.systems:
        if system == "nemo":
            if not nemo_ok or not args.nemo.is_file():
                print(f"skipping nemo: needs the NeMo venv (--nemo-python / $NEMO_PYTHON: {nemo_python}) and "
                      f"{args.nemo}", flush=True)
                continue
            plan.python[system] = str(nemo_python)
        elif system.startswith("sherpa") or system == "captioner-sherpa-int8":
            packs = {ms: ensure_sherpa_pack(args.nemo, args.work, ms, nemo_python) for ms in args.lookahead_ms}
            if any(p is None for p in packs.values()):
                print(f"skipping {system}: no sherpa packs in {args.work} and no NeMo to export them", flush=True)
                continue
            if system == "captioner-sherpa-int8":
                plan.folders[system] = {str(ms): str(int8_only_view(p)) for ms, p in packs.items() if p}
                plan.python[system] = sys.executable
            else:
                if sherpa_python is None:
                    print(f"skipping {system}: `pip install sherpa-onnx` (into this venv or the NeMo one)",
                          flush=True)
                    continue
                plan.folders[system] = {str(ms): str(p) for ms, p in packs.items()}
                plan.python[system] = sherpa_python
        else:
            folder = args.model if system == "captioner" else ensure_quantized(args.model, args.work, system)
            plan.folders[system] = {str(ms): str(folder) for ms in args.lookahead_ms}
            plan.python[system] = sys.executable
        plan.systems.append(system)
    return plan


def start_workers(plan: Plan, threads: int, audio_npy: Path, nemo: Path) -> Iterator[Worker]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    for system in plan.systems:
        config = {"audio_npy": str(audio_npy), "threads": threads, "nemo": str(nemo),
                  "folders": plan.folders.get(system, {})}
        proc = subprocess.Popen([plan.python[system], "-m", "benchmarks.same_run_speed", "--worker", system,
                                 "--worker-config", json.dumps(config)], cwd=ROOT, env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        yield Worker(system, proc)


# ------------------------------------------------------------------------------------------------ report
def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else float("nan")


def agreement(a: list[Any], b: list[Any]) -> float:
    return SequenceMatcher(a=a, b=b, autojunk=False).ratio() if (a or b) else 1.0


def summarize(runs: dict[str, list[Run]], audio_s: float, ms: int, threads: int) -> dict[str, Any]:
    chunk_ms = (8 * (ms // 80) + 8) * 10
    row: dict[str, Any] = {"lookahead_ms": ms, "threads": threads, "chunk_ms": chunk_ms, "systems": {}}
    for name, rs in runs.items():
        steps = [s for r in rs for s in r.steps]
        row["systems"][name] = {
            "rtf": statistics.median(r.wall for r in rs) / audio_s,
            "rtf_rounds": [round(r.wall / audio_s, 4) for r in rs],
            "cpu_per_audio_s": statistics.median(r.cpu for r in rs) / audio_s,
            "p50_ms": pct(steps, 50), "p95_ms": pct(steps, 95), "chunks": len(rs[0].steps),
            "tokens": len(rs[0].tokens),
        }
        ref = REFERENCE.get(name)
        if ref in runs:
            a, b = runs[ref][0].tokens, rs[0].tokens
            row["systems"][name]["agreement"] = {"with": ref, "ratio": agreement(a, b), "equal": a == b}
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| lookahead | thr | system | RTF | RTF per round | CPU s / audio s | p50 ms | p95 ms | p95 % chunk "
          "| x Captioner fp32 | tokens | same tokens as |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        base = row["systems"].get("captioner", {}).get("rtf")
        for name, s in row["systems"].items():
            ratio = f"{base / s['rtf']:.2f}" if base else "-"
            agree = "-"
            if "agreement" in s:
                a = s["agreement"]
                agree = f"{a['with']}: {100 * a['ratio']:.1f}%{' (equal)' if a['equal'] else ''}"
            print(f"| {row['lookahead_ms']} ms | {row['threads']} | {name} | {s['rtf']:.3f} | "
                  f"{' '.join(f'{x:.3f}' for x in s['rtf_rounds'])} | {s['cpu_per_audio_s']:.3f} | "
                  f"{s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {100 * s['p95_ms'] / row['chunk_ms']:.1f}% | {ratio} | "
                  f"{s['tokens']} | {agree} |")


def print_goals(rows: list[dict[str, Any]]) -> None:
    """Throughput of each Captioner format over sherpa-onnx (int8 and float32) and NeMo; goals 1.5x and 3x."""
    print("\n| lookahead | thr | Captioner format | x sherpa-onnx int8 | x sherpa-onnx fp32 | x NeMo |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        systems = row["systems"]
        for name in ("captioner", *SCHEMES):
            if name not in systems:
                continue
            rtf = systems[name]["rtf"]
            cells = []
            for other, goal in (("sherpa-int8", 1.5), ("sherpa", 1.5), ("nemo", 3.0)):
                if other in systems:
                    x = systems[other]["rtf"] / rtf
                    cells.append(f"{x:.2f}x{' (goal met)' if x >= goal else ''}")
                else:
                    cells.append("-")
            print(f"| {row['lookahead_ms']} ms | {row['threads']} | {name} | {' | '.join(cells)} |")


# ------------------------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=FULL / "imported", help="float32 Captioner folder")
    ap.add_argument("--nemo", type=Path, default=FULL / "fullsize.nemo", help="the same model's .nemo")
    ap.add_argument("--audio", type=Path, default=FULL / "bench_60s.wav")
    ap.add_argument("--work", type=Path, default=ROOT / "work-tmp" / "same-run",
                    help="quantised folders and sherpa packs are kept here (made when missing)")
    ap.add_argument("--nemo-python", default=os.environ.get("NEMO_PYTHON"),
                    help="the NeMo venv's python (default: $NEMO_PYTHON)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[80, 480])
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--systems", nargs="+", default=list(ALL_SYSTEMS), choices=ALL_SYSTEMS)
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "same_run_speed.json")
    ap.add_argument("--from-json", type=Path, nargs="+", help="only print the tables of earlier runs' JSON files")
    ap.add_argument("--worker", choices=ALL_SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--worker-config", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, json.loads(args.worker_config))
    if args.from_json:
        saved = [row for path in args.from_json for row in json.loads(path.read_text())["rows"]]
        print_table(saved)
        print_goals(saved)
        return 0

    import onnxruntime

    if not (args.model / "captioner-model.json").is_file():
        print(f"no model folder {args.model}: `python -m tools.make_fullsize_model` then `captioner import "
              f"{args.nemo} {args.model}`", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    audio = load_audio(args.audio, args.seconds)
    audio_s = audio.size / SR
    audio_npy = args.work / "audio.npy"
    np.save(audio_npy, audio)
    plan = make_plan(args)
    versions = {"onnxruntime (captioner)": onnxruntime.__version__}
    for system, python in plan.python.items():
        if system.startswith("sherpa"):
            out = subprocess.run([python, "-c", "import sherpa_onnx; print(sherpa_onnx.__version__)"],
                                 capture_output=True, text=True, cwd=ROOT)
            versions["sherpa-onnx"] = out.stdout.strip()
        if system == "nemo":
            out = subprocess.run([python, "-c", "import torch, nemo; print(torch.__version__, nemo.__version__)"],
                                 capture_output=True, text=True, cwd=ROOT)
            versions["torch, nemo"] = out.stdout.strip()
    print(f"audio {audio_s:.1f} s ({args.audio.name}), {args.rounds} rounds, systems {', '.join(plan.systems)}; "
          f"{versions}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)

    rows: list[dict[str, Any]] = []
    for threads in args.threads:
        workers = list(start_workers(plan, threads, audio_npy, args.nemo))
        try:
            for w in workers:
                assert w.read().get("ready")
            for ms in args.lookahead_ms:
                for w in workers:  # one at a time: loading and warm-up are not measured
                    assert w.ask({"op": "setup", "lookahead_ms": ms}).get("ok")
                runs: dict[str, list[Run]] = {w.system: [] for w in workers}
                load = os.getloadavg()[0]
                for r in range(args.rounds):
                    shift = r % len(workers)
                    for w in workers[shift:] + workers[:shift]:
                        reply = w.ask({"op": "run"})
                        runs[w.system].append(Run(reply["wall"], reply["cpu"], reply["steps"], reply["tokens"]))
                        print(f"  la {ms} ms, {threads} thr, round {r + 1}: {w.system:<22} "
                              f"RTF {reply['wall'] / audio_s:.3f}", flush=True)
                row = summarize(runs, audio_s, ms, threads)
                row["load_average_before"] = round(load, 2)
                rows.append(row)
                print_table([row])
        finally:
            for w in workers:
                w.close()
    print("\nAll settings:")
    print_table(rows)
    print_goals(rows)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"audio_s": audio_s, "rounds": args.rounds, "versions": versions, "rows": rows},
                                    indent=1) + "\n")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
