#!/usr/bin/env python
"""The running app's CPU while it captions silence, per thread setting: is numpy's OpenBLAS pool spinning?

Each setting starts the real app in its own process, as a user would (``captioner --input-file SILENCE.wav
--quit-when-done``: the file goes at real-time speed through the same ring buffer, resampler, pipeline thread
and recognizer as a microphone; offscreen unless ``DISPLAY`` is set), and reads the process's CPU time from
``/proc/PID/stat`` (utime + stime, all threads) and each thread's from ``/proc/PID/task/TID/stat`` over a window
that starts ``--warmup`` seconds after the pipeline reports "running". Reported as % of one core.

Settings (``--variants``):

* ``default``: ONNX Runtime's default intra-op threads (``captioner.asr.runtime.default_threads``), OpenBLAS as
  numpy starts it (one thread per core);
* ``ort1``: ONNX Runtime at 1 thread (the child replaces ``default_threads`` before the model loads; the app has
  no setting for it);
* ``blas1``: ``OPENBLAS_NUM_THREADS=1`` in the environment;
* ``ort1-blas1``: both.

The child lists the threads that exist right after ``import numpy`` (OpenBLAS starts its pool when it loads,
before the app makes any thread), so the per-thread table can name them. Runs in the dev venv::

    .venv/bin/python -m benchmarks.app_silence_threads                       # demo + full-size, 30 s each
    .venv/bin/python -m benchmarks.app_silence_threads --models models/captioner-demo-en --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"default": (None, False), "ort1": (1, False), "blas1": (None, True), "ort1-blas1": (1, True)}
"""name -> (ONNX Runtime intra-op threads or None for the app's default, OPENBLAS_NUM_THREADS=1)."""
TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------------------ child
def child(args: argparse.Namespace) -> int:
    """The app itself; prints JSON lines for the parent on stdout."""
    def tids() -> list[int]:
        return sorted(int(t) for t in os.listdir("/proc/self/task"))

    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))  # the pool exists once the library has loaded
    print(json.dumps({"blas_tids": [t for t in tids() if t != os.getpid()]}), flush=True)

    import captioner.app.main as app_main
    import captioner.asr.runtime as runtime

    if args.ort_threads:
        threads = int(args.ort_threads)
        runtime.default_threads = lambda: threads
    original_create_app = app_main.create_app

    def create_app(argv: list[str]) -> Any:
        controller = original_create_app(argv)

        def state(value: object) -> None:
            print(json.dumps({"state": str(value), "t": time.monotonic()}), flush=True)

        controller.worker.stateChanged.connect(state)
        controller.worker.modelLoaded.connect(
            lambda info: print(json.dumps({"model": info.summary(), "default_threads": runtime.default_threads()}),
                               flush=True))
        return controller

    app_main.create_app = create_app

    # How many feature frames each featurizer call makes (the mel matmul's width): OpenBLAS threads a GEMM
    # only above a size, so this tells whether its pool can wake at all. Counted, printed every 2 s.
    from captioner.asr.features import StreamingFeaturizer

    widths: dict[int, int] = {}
    emit = StreamingFeaturizer._emit

    def counted(self: StreamingFeaturizer, available: int, limit: int | None = None) -> Any:
        out = emit(self, available, limit)
        widths[out.shape[1]] = widths.get(out.shape[1], 0) + 1
        return out

    StreamingFeaturizer._emit = counted  # type: ignore[method-assign]

    def report() -> None:
        while True:
            time.sleep(2.0)
            print(json.dumps({"frames_per_call": {str(k): v for k, v in sorted(widths.items())}}), flush=True)

    threading.Thread(target=report, daemon=True, name="bench-report").start()
    return app_main.main(["--settings", args.settings, "--input-file", args.input_file, "--quit-when-done"])


# ------------------------------------------------------------------------------------------------ parent
def proc_times(pid: int) -> tuple[float, dict[int, tuple[str, float]]]:
    """CPU seconds of the process and of each of its threads (name, seconds)."""
    def cpu(stat_path: str) -> float:
        with open(stat_path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15 of stat)

    total = cpu(f"/proc/{pid}/stat")
    threads: dict[int, tuple[str, float]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            threads[int(tid)] = (name, cpu(f"/proc/{pid}/task/{tid}/stat"))
        except OSError:
            continue  # the thread ended
    return total, threads


@dataclass
class Result:
    model: str
    variant: str
    summary: str
    cpu_percent: float
    threads: list[tuple[str, float]]
    """(label, % of one core) of the busiest threads."""
    all_threads: int
    frames_per_call: dict[str, int]
    """Featurizer calls by the number of frames they made (the mel matmul's width), over the whole run."""
    blas_threads: int
    """OpenBLAS worker threads (those that existed right after ``import numpy``, the main thread excepted)."""
    blas_percent: float


def measure(model: str, variant: str, lookahead: int | None, wav: Path, tmp: Path, warmup: float,
            seconds: float) -> Result:
    from PySide6.QtCore import QSettings

    from captioner.app.settings import AppSettings, save_settings

    ort_threads, blas1 = VARIANTS[variant]
    ini = tmp / f"{variant}.ini"
    save_settings(AppSettings(model_dir=str(Path(model).resolve()), lookahead_ms=lookahead),
                  QSettings(str(ini), QSettings.Format.IniFormat))
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_STATE_HOME": str(tmp / "state"),
           "XDG_CONFIG_HOME": str(tmp / "config"), "PYTHONUNBUFFERED": "1"}
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("OPENBLAS_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)
    if blas1:
        env["OPENBLAS_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "benchmarks.app_silence_threads", "--child", "--settings", str(ini),
           "--input-file", str(wav)] + (["--ort-threads", str(ort_threads)] if ort_threads else [])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    info: dict[str, Any] = {}
    running = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            info.update(msg)
            if msg.get("state") == "running":
                running.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not running.wait(timeout=300):
            raise RuntimeError(f"the app did not start captioning ({model}, {variant}): {info}")
        time.sleep(warmup)
        c0, t0 = proc_times(proc.pid)
        w0 = time.monotonic()
        time.sleep(seconds)
        c1, t1 = proc_times(proc.pid)
        wall = time.monotonic() - w0
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if not alive:
        raise RuntimeError("the app quit inside the window: make the silent file longer")
    blas = set(info.get("blas_tids", []))
    per_thread = []
    for tid, (name, cpu) in t1.items():
        used = cpu - t0.get(tid, (name, 0.0))[1]
        label = f"{name} (OpenBLAS)" if tid in blas else (f"{name} (main/GUI)" if tid == proc.pid else name)
        per_thread.append((label, 100 * used / wall))
    per_thread.sort(key=lambda x: -x[1])
    blas_percent = sum(100 * (cpu - t0.get(tid, ("", 0.0))[1]) / wall for tid, (_, cpu) in t1.items() if tid in blas)
    return Result(Path(model).name, variant, str(info.get("model", "?")), 100 * (c1 - c0) / wall,
                  [p for p in per_thread if p[1] >= 0.1][:8], len(t1), dict(info.get("frames_per_call", {})),
                  len(blas), blas_percent)


def widths_text(counts: dict[str, int]) -> str:
    """``width x calls`` for each number of frames a featurizer call made."""
    return ", ".join(f"{k} x {v}" for k, v in sorted(counts.items(), key=lambda kv: int(kv[0]))) or "?"


def blas_probe(widths: tuple[int, ...] = (1, 2, 4, 8, 16, 24, 25, 26, 27, 32, 50), calls: int = 200,
               gap_s: float = 0.005) -> list[dict[str, float]]:
    """The featurizer's float64 mel matmul (80 x 257 @ 257 x width) alone, once every ``gap_s``, in this process:
    CPU of OpenBLAS's worker threads per wall second for each width (a spinning worker burns it between calls)."""
    import numpy as np

    workers = [int(t) for t in os.listdir("/proc/self/task") if int(t) != os.getpid()]  # right after numpy loads

    def worker_cpu() -> float:
        return sum(proc_times(os.getpid())[1].get(t, ("", 0.0))[1] for t in workers)

    rng = np.random.default_rng(0)
    mel = rng.random((80, 257))
    mel @ rng.random((257, 1))
    time.sleep(0.5)  # the pool's own start-up is not counted against the first width
    rows = []
    for width in widths:
        power = rng.random((width, 257))
        c0, p0, w0 = worker_cpu(), time.process_time(), time.perf_counter()
        for _ in range(calls):
            mel @ power.T
            time.sleep(gap_s)
        wall = time.perf_counter() - w0
        rows.append({"width": width, "workers": len(workers), "worker_percent": 100 * (worker_cpu() - c0) / wall,
                     "process_percent": 100 * (time.process_time() - p0) / wall})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+",
                    default=[str(ROOT / "models" / "captioner-demo-en"),
                             str(ROOT / "models" / "full-size" / "imported")])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--lookahead-ms", type=int, help="default: the app's live default (480 ms when the model has it)")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured window")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds after 'running' before the window")
    ap.add_argument("--rounds", type=int, default=1, help="repeat every setting, interleaved; medians shown")
    ap.add_argument("--rate", type=int, default=48000, help="sample rate of the silent stereo file")
    ap.add_argument("--no-blas-probe", dest="blas_probe", action="store_false",
                    help="skip the mel-matmul-alone probe of OpenBLAS's worker (about 10 s)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "app_silence_threads.json")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--settings", help=argparse.SUPPRESS)
    ap.add_argument("--input-file", help=argparse.SUPPRESS)
    ap.add_argument("--ort-threads", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)

    import numpy as np

    if args.blas_probe:
        setting = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        print(f"mel matmul alone (80 x 257 @ 257 x width, float64, every 5 ms; OPENBLAS_NUM_THREADS={setting}):")
        for row in blas_probe():
            print(f"  width {row['width']:>3}: OpenBLAS workers ({row['workers']:.0f}) {row['worker_percent']:5.1f} % "
                  f"of one core, whole process {row['process_percent']:5.1f} %", flush=True)
    import soundfile as sf

    models = [m for m in args.models if (Path(m) / "captioner-model.json").is_file()]
    for m in set(args.models) - set(models):
        print(f"skipping {m}: not a model folder", flush=True)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; window {args.seconds:.0f} s after "
          f"{args.warmup:.0f} s of warm-up; silent {args.rate} Hz stereo file at real-time speed", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="captioner-silence-") as name:
        tmp = Path(name)
        wav = tmp / "silence.wav"
        length = args.warmup + args.seconds + 60.0  # model load and start-up come first
        sf.write(wav, np.zeros((int(length * args.rate), 2), np.float32), args.rate, subtype="FLOAT")
        for r in range(args.rounds):
            for model in models:
                variants = args.variants if r % 2 == 0 else list(reversed(args.variants))
                for variant in variants:
                    res = measure(model, variant, args.lookahead_ms, wav, tmp, args.warmup, args.seconds)
                    results.append(res)
                    busiest = ", ".join(f"{label} {pct:.1f}%" for label, pct in res.threads)
                    print(f"  {res.model} [{variant}]: {res.cpu_percent:.1f} % of one core ({res.all_threads} "
                          f"threads, {res.blas_threads} OpenBLAS workers at {res.blas_percent:.1f} %; busiest: "
                          f"{busiest}; featurizer calls by frames made: {widths_text(res.frames_per_call)})  "
                          f"{res.summary}", flush=True)
    print("\n| model | setting | CPU, % of one core (rounds) | OpenBLAS workers | busiest threads (% of one core) |")
    print("|---|---|---|---|---|")
    table = []
    for model in dict.fromkeys(r.model for r in results):
        for variant in args.variants:
            rs = [r for r in results if r.model == model and r.variant == variant]
            if not rs:
                continue
            cpu = statistics.median(r.cpu_percent for r in rs)
            busiest = ", ".join(f"{label} {pct:.1f}" for label, pct in rs[0].threads)
            blas = statistics.median(r.blas_percent for r in rs)
            print(f"| {model} | {variant} | {cpu:.1f} ({' / '.join(f'{r.cpu_percent:.1f}' for r in rs)}) "
                  f"| {rs[0].blas_threads}: {blas:.1f} % | {busiest} |")
            table.append({"model": model, "variant": variant, "summary": rs[0].summary, "cpu_percent": cpu,
                          "rounds": [r.cpu_percent for r in rs], "blas_threads": rs[0].blas_threads,
                          "blas_percent": blas, "frames_per_call": rs[0].frames_per_call,
                          "threads": [list(t) for t in rs[0].threads]})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
