#!/usr/bin/env python
"""One audio source against two on one loaded model: compute, memory and caption latency per source.

The live pipeline (``captioner/live/pipeline.py``) keeps one loaded model and gives every source its own
recognizer stream over the model's ONNX sessions. This measures what the second source costs:

1. Compute. espeak-ng speech (``--seconds`` per source, two different voices and sentence sets, written to a
   temporary folder) goes through ``LivePipeline`` with ``catch_up=False`` as fast as the model goes: source
   "Others" alone, "You" alone, then both at once, in rotating order for ``--rounds`` rounds (medians). Wall
   time, process CPU time (``time.process_time``: every thread, ONNX Runtime's pool and OpenBLAS's included),
   the CPU time of the one thread that feeds the streams, the sum of the streams' encoder+decoder steps
   (``StreamingRecognizer.step_seconds``), real-time factors per source and for all audio, and the ratio
   two / one (the mean of the two single-source runs). The same audio also goes straight into
   ``StreamingRecognizer``s of one ``LiveModel`` (two fed alternately in 0.5 s blocks) without the pipeline, to
   separate the pipeline's overhead (file feeder threads, ring buffers, segmenter, sink) from the model's
   compute. These runs keep every line (no preferred source), so token ids can be compared: each source's ids
   with two sources must equal its ids alone. One more run with "Others" preferred (the app's default) lists
   the lines of "You" that the echo filter dropped, although the two sources say different things.
2. Memory, in a fresh process per model and lookahead: RSS (``VmRSS``) after loading the model (which builds
   the first stream), after the second stream, after running both over the audio (twice, to see growth), and
   after loading the same model a second time and running it: the cost of a second stream against a second
   model.
3. Caption latency in real time (skip with ``--no-realtime``): both sources through ``FileFeeder(speed=1.0)``
   with ``catch_up=True`` for ``--realtime-seconds``; for every emission, monotonic time minus the time the
   newest captioned audio entered its ring buffer (what the sink's ``caption_timed`` gets), and for every token
   the same from the token's own audio. Median and p95 per source. ``caption_timed`` carries no source, so the
   pipeline is subclassed to note which source ``_publish`` is publishing; the run also counts how often the
   sink alone (the source of the last ``tentative_changed`` / ``segment_committed`` before it) would have
   guessed that source.

Printed, not asserted (a shared 2-core machine is noisy).

    .venv/bin/python -m benchmarks.two_sources                       # demo model, 480 and 80 ms lookahead
    .venv/bin/python -m benchmarks.two_sources --model tests/fixtures/models/tiny-a --lookahead-ms 80 --no-realtime
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from captioner.asr.recognizer import StreamingRecognizer, Token
from captioner.asr.segmenter import Segment
from captioner.audio.file_feeder import FileFeeder
from captioner.live.channel import SourceChannel
from captioner.live.commands import LoadModel, Quit, SourceRequest, StartSession
from captioner.live.model_loading import LiveModel, ModelRequest, load_live_model
from captioner.live.pipeline import LivePipeline
from captioner.live.sink import QuietSink, Stats

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = ROOT / "models" / "captioner-demo-en"
SR = 16000
BLOCK_S = 0.5  # the direct runs' block: the pipeline's MAX_CHUNK_S
Audio = npt.NDArray[np.float32]

# Two sources as the app labels them: system audio ("Others", kept when both hear the same words) and the
# microphone ("You"). Different voices, different sentences (the demo model's meeting vocabulary).
SOURCES: dict[str, tuple[str, int, list[str]]] = {
    "Others": ("en-us", 160, [
        "good morning everyone thank you for joining the meeting today",
        "can you send the budget report to maria by friday",
        "the design team will share the new plan in the afternoon",
        "we need to move the review to next tuesday at ten",
        "please check the numbers before the call with the sales team",
        "i will book the room on the third floor for thursday",
        "the first draft is ready and the second one comes next week",
        "let us talk about the schedule after lunch",
    ]),
    "You": ("en-gb-x-rp+f2", 150, [
        "thanks that sounds good to me",
        "could you repeat the last number please",
        "i think the support team should see this first",
        "my train leaves at six so i have to go early",
        "send me the slides and i will read them tonight",
        "the finance team asked for the report in march",
        "can we meet again on monday morning",
        "i agree with paul about the new office",
    ]),
}


# -- audio ------------------------------------------------------------------------------------------------
def espeak(text: str, voice: str, rate: int, work: Path) -> Audio:
    import soundfile as sf
    import soxr

    wav = work / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text], check=True, capture_output=True)
    x, sr = sf.read(str(wav), dtype="float32")
    if x.ndim > 1:
        x = x.mean(axis=1)
    return np.asarray(soxr.resample(x, sr, SR, quality="HQ"), dtype=np.float32)


def make_speech(voice: str, rate: int, sentences: list[str], seconds: float, work: Path) -> Audio:
    """The sentences spoken one after another with 0.4 s pauses, repeated until ``seconds`` and cut there."""
    pause = np.zeros(int(0.4 * SR), np.float32)
    clips = [np.concatenate([espeak(s, voice, rate, work), pause]) for s in sentences]
    one_pass = np.concatenate(clips)
    x = np.tile(one_pass, int(np.ceil(seconds * SR / one_pass.size)))[: int(seconds * SR)]
    return (x / max(float(np.max(np.abs(x))), 1e-9) * 0.6).astype(np.float32)


def write_audio(path: Path, x: Audio, rate: int) -> Audio:
    """Write ``x`` (16 kHz) as a 16-bit WAV at ``rate`` (48 kHz: stereo, as a device delivers); returns what
    a 16 kHz reader gets back from the file at 16 kHz (the int16 rounding included) for the direct runs."""
    import soundfile as sf
    import soxr

    if rate == SR:
        sf.write(str(path), x, SR, subtype="PCM_16")
        return np.asarray(sf.read(str(path), dtype="float32")[0], dtype=np.float32)
    y = np.asarray(soxr.resample(x, SR, rate, quality="HQ"), dtype=np.float32)
    sf.write(str(path), np.stack([y, y], axis=1), rate, subtype="PCM_16")
    return x


# -- measuring ----------------------------------------------------------------------------------------------
def rss_mb() -> float:
    """Resident set size of this process (``VmRSS``, Linux) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class TimedPipeline(LivePipeline):
    """The live pipeline, noting which source each ``_publish`` is for (the sink's ``caption_timed`` has no
    source argument), each token's delay from its own audio, and each source's stream."""

    def __init__(self, sink: BenchSink, *, catch_up: bool, model: LiveModel) -> None:
        super().__init__(sink, catch_up=catch_up, loader=lambda _request: model)
        self.publishing: str | None = None
        self.token_delays: dict[str, list[float]] = defaultdict(list)
        self.streams: dict[str, StreamingRecognizer] = {}

    def _publish(self, channel: SourceChannel, committed: list[Segment], tentative: str,
                 tokens: list[Token]) -> None:
        if channel.stream is not None:
            self.streams[channel.label] = channel.stream
        if tokens:
            now = time.monotonic()
            for token in tokens:
                arrival = channel.arrival_of(token.start_s)
                if arrival is not None:
                    self.token_delays[channel.label].append(now - arrival)
        self.publishing = channel.label
        try:
            super()._publish(channel, committed, tentative, tokens)
        finally:
            self.publishing = None


@dataclass
class BenchSink(QuietSink):
    """Records what a benchmark needs; quits the pipeline when the last file has been read."""

    files_left: int
    pipeline: TimedPipeline | None = None
    started: float = 0.0
    segments: list[Segment] = field(default_factory=list)
    finished_at: dict[str, float] = field(default_factory=dict)
    emission_delays: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    last_source: str | None = None  # of the last tentative_changed / segment_committed
    guessed_right: int = 0
    guessed_wrong: int = 0
    max_behind_s: float = 0.0
    dropped_s: float = 0.0
    stats_rtf: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def tentative_changed(self, text: str, source: str) -> None:
        self.last_source = source

    def segment_committed(self, segment: Segment) -> None:
        self.segments.append(segment)
        self.last_source = segment.source

    def caption_timed(self, arrival: float) -> None:
        now = time.monotonic()
        source = self.pipeline.publishing if self.pipeline is not None else None
        if source is None:
            self.failures.append("caption_timed outside _publish")
            return
        self.emission_delays[source].append(now - arrival)
        if self.last_source == source:
            self.guessed_right += 1
        else:
            self.guessed_wrong += 1

    def stats_updated(self, stats: Stats) -> None:
        self.max_behind_s = max(self.max_behind_s, stats.behind_s)
        self.dropped_s = max(self.dropped_s, stats.dropped_s)
        if stats.rtf:
            self.stats_rtf.append(stats.rtf)

    def model_failed(self, message: str) -> None:
        self.failures.append(message)

    def input_failed(self, message: str, source: str) -> None:
        self.failures.append(f"{source}: {message}")

    def input_finished(self, problem: str, source: str) -> None:
        self.finished_at[source] = time.perf_counter() - self.started
        if problem:
            self.failures.append(f"{source}: {problem}")
        self.files_left -= 1
        if self.files_left == 0 and self.pipeline is not None:
            self.pipeline.put(Quit())


@dataclass
class Run:
    """One measured run over ``audio_s`` seconds per source."""

    sources: tuple[str, ...]
    audio_s: float
    wall_s: float
    cpu_s: float  # the whole process
    thread_cpu_s: float  # the thread that feeds the streams (the pipeline's, or the caller's when direct)
    steps_s: float  # encoder + decoder steps, all streams
    ids: dict[str, list[int]]
    finished_at: dict[str, float] = field(default_factory=dict)
    stats_rtf: float = 0.0  # the pipeline's own Stats.rtf, last report
    echoes_dropped: int = 0


def run_pipeline(model: LiveModel, files: dict[str, Path], audio_s: float, *, realtime: bool = False,
                 prefer: str | None = None, timeout_s: float = 600.0) -> tuple[Run, BenchSink, TimedPipeline]:
    """``files`` through one pipeline, one source each (labelled by its key); ``prefer``: the source whose lines
    are kept when both hear the same words (the app prefers system audio, "Others"); None keeps every line."""
    sink = BenchSink(files_left=len(files))
    pipeline = TimedPipeline(sink, catch_up=realtime, model=model)
    sink.pipeline = pipeline
    speed = 1.0 if realtime else float("inf")
    pipeline.put(LoadModel(ModelRequest(str(model.info.path))))  # the loader hands over the loaded model
    pipeline.put(StartSession(tuple(
        SourceRequest(lambda p=path: FileFeeder(p, speed=speed), label, label == prefer)  # type: ignore[misc]
        for label, path in files.items())))
    thread_cpu = [0.0]

    def target() -> None:
        started = time.thread_time()
        try:
            pipeline.run()
        finally:
            thread_cpu[0] = time.thread_time() - started

    runner = threading.Thread(target=target, name="two-sources-pipeline", daemon=True)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    sink.started = wall0
    runner.start()
    runner.join(timeout=timeout_s)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if runner.is_alive():
        raise RuntimeError(f"the pipeline did not finish within {timeout_s:.0f} s")
    if sink.failures:
        raise RuntimeError("; ".join(sink.failures))
    ids = {label: [i for s in sink.segments if s.source == label and not s.gap for i in s.token_ids]
           for label in files}
    steps = sum(sum(stream.step_seconds) for stream in pipeline.streams.values())
    run = Run(tuple(files), audio_s, wall, cpu, thread_cpu[0], steps, ids, dict(sink.finished_at),
              sink.stats_rtf[-1] if sink.stats_rtf else 0.0, pipeline.echoes_dropped)
    return run, sink, pipeline


def run_direct(model: LiveModel, audio: dict[str, Audio]) -> Run:
    """The same audio straight into one stream per source of ``model``, fed alternately in 0.5 s blocks."""
    streams = {label: model.new_stream() for label in audio}
    ids: dict[str, list[int]] = {label: [] for label in audio}
    block = int(BLOCK_S * SR)
    longest = max(x.size for x in audio.values())
    wall0, cpu0, thread0 = time.perf_counter(), time.process_time(), time.thread_time()
    for pos in range(0, longest, block):
        for label, x in audio.items():
            if pos < x.size:
                ids[label] += [t.id for t in streams[label].accept(x[pos:pos + block])]
    for label, stream in streams.items():
        ids[label] += [t.id for t in stream.finish()]
    wall, cpu, thread = time.perf_counter() - wall0, time.process_time() - cpu0, time.thread_time() - thread0
    steps = sum(sum(s.step_seconds) for s in streams.values())
    seconds = max(x.size for x in audio.values()) / SR
    return Run(tuple(audio), seconds, wall, cpu, thread, steps, ids)


def median_run(runs: list[Run]) -> Run:
    """Medians of the timings; ids, finish times and stats of the run with the median wall time."""
    mid = sorted(runs, key=lambda r: r.wall_s)[len(runs) // 2]
    return Run(mid.sources, mid.audio_s, statistics.median(r.wall_s for r in runs),
               statistics.median(r.cpu_s for r in runs), statistics.median(r.thread_cpu_s for r in runs),
               statistics.median(r.steps_s for r in runs), mid.ids, mid.finished_at, mid.stats_rtf,
               mid.echoes_dropped)


# -- 1. compute -----------------------------------------------------------------------------------------------
def compute(model: LiveModel, files: dict[str, Path], audio: dict[str, Audio], seconds: float,
            rounds: int) -> dict[str, dict[str, Run]]:
    """Medians of one source alone (each of them) and both, through the pipeline and direct; every line kept
    (no preferred source), so each source's token ids can be compared with its ids alone."""
    setups: list[tuple[str, ...]] = [(label,) for label in files] + [tuple(files)]
    combos = [(kind, setup) for setup in setups for kind in ("pipeline", "direct")]
    results: dict[str, dict[tuple[str, ...], list[Run]]] = {"pipeline": defaultdict(list), "direct": defaultdict(list)}
    run_direct(model, {label: x[: 5 * SR] for label, x in audio.items()})  # warm-up: first session runs
    for r in range(rounds):  # rotating order, so machine noise and warm caches hit every combination alike
        shift = (r * len(combos)) // max(rounds, 1)
        for kind, setup in combos[shift:] + combos[:shift]:
            if kind == "pipeline":
                results[kind][setup].append(run_pipeline(model, {k: files[k] for k in setup}, seconds)[0])
            else:
                results[kind][setup].append(run_direct(model, {k: audio[k] for k in setup}))
    return {kind: {"+".join(setup): median_run(runs) for setup, runs in by_setup.items()}
            for kind, by_setup in results.items()}


def compute_rows(la: int, kind: str, runs: dict[str, Run], same: dict[str, str]) -> list[dict[str, object]]:
    singles = [r for key, r in runs.items() if "+" not in key]
    one_wall = statistics.mean(r.wall_s for r in singles)
    one_cpu = statistics.mean(r.cpu_s for r in singles)
    rows = []
    for key, r in runs.items():
        n = len(r.sources)
        rows.append({
            "lookahead_ms": la, "kind": kind, "sources": key, "audio_per_source_s": round(r.audio_s, 1),
            "wall_s": round(r.wall_s, 3), "cpu_s": round(r.cpu_s, 3), "thread_cpu_s": round(r.thread_cpu_s, 3),
            "steps_s": round(r.steps_s, 3),
            "rtf_per_source": round(r.wall_s / r.audio_s, 4), "rtf_total": round(r.wall_s / (n * r.audio_s), 4),
            "cpu_rtf_per_source": round(r.cpu_s / r.audio_s, 4),
            "x_one_wall": round(r.wall_s / one_wall, 2), "x_one_cpu": round(r.cpu_s / one_cpu, 2),
            "finished_at_s": {k: round(v, 2) for k, v in r.finished_at.items()},
            "stats_rtf": round(r.stats_rtf, 4), "same_tokens": same.get(key, "-"),
            "tokens": {k: len(v) for k, v in r.ids.items()},
        })
    return rows


def print_compute(rows: list[dict[str, object]]) -> None:
    print(f"\n{'look':>6} {'path':<8} {'sources':<10} {'audio/src':>9} {'wall s':>7} {'CPU s':>7} {'thread CPU':>10} "
          f"{'steps s':>7} "
          f"{'RTF/src':>7} {'RTF all':>7} {'CPU RTF/src':>11} {'x one wall':>10} {'x one CPU':>9} "
          f"{'tokens':<18} {'finished at (s)':<22} {'same tokens':<20}")
    for r in rows:
        tokens = " ".join(f"{k}:{v}" for k, v in r["tokens"].items())  # type: ignore[attr-defined]
        finished = " ".join(f"{k}:{v}" for k, v in r["finished_at_s"].items())  # type: ignore[attr-defined]
        print(f"{r['lookahead_ms']:>4}ms {r['kind']:<8} {r['sources']:<10} {r['audio_per_source_s']:>8}s "
              f"{r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} {r['thread_cpu_s']:>10.2f} {r['steps_s']:>7.2f} "
              f"{r['rtf_per_source']:>7.3f} "
              f"{r['rtf_total']:>7.3f} {r['cpu_rtf_per_source']:>11.3f} {r['x_one_wall']:>9.2f}x "
              f"{r['x_one_cpu']:>8.2f}x {tokens:<18} {finished or '-':<22} {r['same_tokens']!s:<20}")


def same_tokens(res: dict[str, dict[str, Run]], labels: list[str], compare_direct: bool) -> dict[str, str]:
    """Per setup: do each source's ids equal the ids it gets alone (and, at 16 kHz, the direct run's)?"""
    both = "+".join(labels)
    out: dict[str, str] = {}
    for kind in ("pipeline", "direct"):
        alone = {label: res[kind][label].ids[label] for label in labels}
        checks = [res[kind][both].ids[label] == alone[label] for label in labels]
        text = "yes" if all(checks) else "NO: " + ",".join(k for k, ok in zip(labels, checks, strict=True) if not ok)
        if kind == "pipeline" and compare_direct:
            direct = all(alone[label] == res["direct"][label].ids[label] for label in labels)
            text += ", =direct" if direct else ", NOT =direct"
        out[f"{kind}:{both}"] = text
    return out


# -- 2. memory (child process) ----------------------------------------------------------------------------------
def memory_child(model_dir: str, la: int | None, threads: int | None, files: list[Path]) -> dict[str, float]:
    """RSS at each stage, in this fresh process."""
    import soundfile as sf

    audio = [np.asarray(sf.read(str(p), dtype="float32")[0], dtype=np.float32) for p in files]
    block = int(BLOCK_S * SR)

    def feed(streams: list[StreamingRecognizer], clips: list[Audio]) -> None:
        for pos in range(0, max(x.size for x in clips), block):
            for stream, x in zip(streams, clips, strict=True):
                stream.accept(x[pos:pos + block])

    request = ModelRequest(model_dir, lookahead_ms=la, provider="cpu", threads=threads)
    stages = {"start (imports, audio)": rss_mb()}
    model = load_live_model(request)
    stages["model loaded (builds stream 1)"] = rss_mb()
    first = model.new_stream()  # the stream built while loading
    stages["stream 1 handed out"] = rss_mb()
    second = model.new_stream()
    stages["stream 2 created"] = rss_mb()
    feed([first], audio[:1])
    stages["stream 1 ran over its audio"] = rss_mb()
    feed([second], audio[1:2])
    stages["stream 2 ran over its audio"] = rss_mb()
    feed([first, second], audio[:2])
    stages["both ran again (alternating)"] = rss_mb()
    again = load_live_model(request)
    stages["model loaded a second time"] = rss_mb()
    feed([again.new_stream()], audio[:1])
    stages["its stream ran over the audio"] = rss_mb()
    return stages


def memory(model_dir: str, la: int, threads: int | None, files: dict[str, Path]) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.two_sources", "--memory-child", model_dir, str(la),
           str(threads or 0), *map(str, files.values())]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def memory_summary(stages: dict[str, float]) -> dict[str, float]:
    v = list(stages.values())
    return {
        "model_mb": v[1] - v[0],
        "stream2_created_mb": v[3] - v[2],
        "stream1_ran_mb": v[4] - v[3],
        "stream2_ran_mb": v[5] - v[4],
        "stream2_total_mb": (v[3] - v[2]) + (v[5] - v[4]),
        "growth_second_pass_mb": v[6] - v[5],
        "model_again_mb": v[7] - v[6],
        "model_again_ran_mb": v[8] - v[6],
    }


# -- 3. latency ---------------------------------------------------------------------------------------------------
def latency(model: LiveModel, files: dict[str, Path], seconds: float, prefer: str | None) -> dict[str, object]:
    run, sink, pipeline = run_pipeline(model, files, seconds, realtime=True, prefer=prefer, timeout_s=seconds + 60)
    per_source = {}
    for label in files:
        emitted, tokens = sink.emission_delays.get(label, []), pipeline.token_delays.get(label, [])
        per_source[label] = {
            "emissions": len(emitted), "emission_p50_ms": 1000 * pct(emitted, 50),
            "emission_p95_ms": 1000 * pct(emitted, 95), "emission_max_ms": 1000 * max(emitted, default=float("nan")),
            "tokens": len(tokens), "token_p50_ms": 1000 * pct(tokens, 50), "token_p95_ms": 1000 * pct(tokens, 95),
            "gaps": sum(1 for s in sink.segments if s.source == label and s.gap),
            "finished_at_s": round(run.finished_at.get(label, float("nan")), 2),
        }
    busy = run.steps_s / run.wall_s
    return {"setup": "+".join(files), "wall_s": run.wall_s, "cpu_s": run.cpu_s, "steps_s": run.steps_s, "busy": busy,
            "stats_rtf": run.stats_rtf, "max_behind_s": sink.max_behind_s, "dropped_s": sink.dropped_s,
            "echoes_dropped": run.echoes_dropped, "sink_guess": (sink.guessed_right, sink.guessed_wrong),
            "sources": per_source}


# -- echo filter ---------------------------------------------------------------------------------------------------
def echo_check(model: LiveModel, files: dict[str, Path], seconds: float, prefer: str) -> list[Segment]:
    """Both sources once with every line kept and once with ``prefer``'s lines winning (the app's default):
    the other source's lines that the echo filter dropped although the two sources speak different words."""
    kept = run_pipeline(model, files, seconds)[1].segments
    filtered = run_pipeline(model, files, seconds, prefer=prefer)[1].segments
    shown = {(s.source, s.start_s, s.text) for s in filtered}
    return [s for s in kept if s.source != prefer and not s.gap and (s.source, s.start_s, s.text) not in shown]


# -- main ---------------------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, action="append", default=[],
                    help="another model folder (repeatable); the demo model is always measured")
    ap.add_argument("--lookahead-ms", type=int, nargs="+", default=[480, 80],
                    help="lookaheads to measure (a model lacking one uses its live default)")
    ap.add_argument("--seconds", type=float, default=60.0, help="speech per source for compute and memory")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: its own)")
    ap.add_argument("--file-rate", type=int, default=SR, choices=[SR, 44100, 48000],
                    help="rate of the files the pipeline reads (not 16000: stereo, resampled as a device's)")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-realtime", action="store_true", help="skip the real-time latency runs")
    ap.add_argument("--realtime-seconds", type=float, default=20.0, help="audio per source in a real-time run")
    ap.add_argument("--realtime-lookahead-ms", type=int, nargs="+", default=[480],
                    help="lookaheads with a real-time run (each takes --realtime-seconds of wall time)")
    ap.add_argument("--realtime-one", action="store_true",
                    help="also a real-time run of one source alone, as the reference (doubles the wall time)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--memory-child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.memory_child:
        model_dir, la, threads, *paths = args.memory_child
        print(json.dumps(memory_child(model_dir, int(la), int(threads) or None, [Path(p) for p in paths])))
        return 0
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not on PATH: it speaks the benchmark audio", file=sys.stderr)
        return 2

    models = [DEMO_MODEL, *(m for m in args.model if m.resolve() != DEMO_MODEL)]
    labels = list(SOURCES)
    both = "+".join(labels)
    report: dict[str, object] = {"cpus": os.cpu_count(), "load_avg_before": os.getloadavg(),
                                 "threads": args.threads, "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                                 "file_rate": args.file_rate, "seconds": args.seconds, "rounds": args.rounds}
    all_rows: list[dict[str, object]] = []
    mem_rows: list[tuple[str, int, dict[str, float]]] = []
    rt_rows: list[tuple[str, int, dict[str, object]]] = []
    echo_rows: list[tuple[str, int, list[Segment]]] = []
    with tempfile.TemporaryDirectory(prefix="captioner-two-sources-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        audio, files, rt_files = {}, {}, {}
        for label, (voice, rate, sentences) in SOURCES.items():
            speech = make_speech(voice, rate, sentences, args.seconds, work)
            files[label] = work / f"{label}.wav"
            audio[label] = write_audio(files[label], speech, args.file_rate)
            rt_files[label] = work / f"{label}-rt.wav"
            write_audio(rt_files[label], speech[: int(args.realtime_seconds * SR)], args.file_rate)
        voices = ", ".join(f"{k}: espeak-ng -v {v} -s {r}" for k, (v, r, _) in SOURCES.items())
        print(f"Speech: {args.seconds:g} s per source ({voices}), files at {args.file_rate} Hz, made in "
              f"{time.perf_counter() - t0:.1f} s. {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
              f"ONNX Runtime threads {args.threads or 'default'}, OPENBLAS_NUM_THREADS "
              f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}.", flush=True)

        for model_dir in models:
            for ms in args.lookahead_ms:
                model = load_live_model(ModelRequest(str(model_dir), lookahead_ms=ms, provider="cpu",
                                                     threads=args.threads))
                la, name = model.info.lookahead_ms, model.info.name
                print(f"\n{model.info.summary()}: loaded in {model.info.load_s:.2f} s", flush=True)
                res = compute(model, files, audio, args.seconds, args.rounds)
                checks = same_tokens(res, labels, compare_direct=args.file_rate == SR)
                rows = [*compute_rows(la, "pipeline", res["pipeline"], {both: checks[f"pipeline:{both}"]}),
                        *compute_rows(la, "direct", res["direct"], {both: checks[f"direct:{both}"]})]
                for row in rows:
                    row["model"] = name
                print_compute(rows)
                all_rows += rows
                dropped = echo_check(model, files, args.seconds, labels[0])
                echo_rows.append((name, la, dropped))
                lines = "; ".join(f"{s.source} {s.start_s:.2f}-{s.end_s:.2f} s {s.text!r}" for s in dropped)
                print(f"echo filter ({labels[0]} preferred): {len(dropped)} line(s) of the other source dropped: "
                      f"{lines}", flush=True)
                if not args.no_memory:
                    stages = memory(str(model_dir), la, args.threads, files)
                    mem_rows.append((name, la, stages))
                    print("RSS (MB): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()), flush=True)
                if not args.no_realtime and (ms in args.realtime_lookahead_ms or la in args.realtime_lookahead_ms):
                    setups = ([{labels[0]: rt_files[labels[0]]}] if args.realtime_one else []) + [rt_files]
                    for setup in setups:
                        rt = latency(model, setup, args.realtime_seconds, labels[0] if len(setup) > 1 else None)
                        rt_rows.append((name, la, rt))
                        print(f"real time: {json.dumps(rt, default=str)}", flush=True)

    print_summary(all_rows, mem_rows, rt_rows, echo_rows, labels)
    if args.json:
        report.update(compute=all_rows, memory=mem_rows, realtime=rt_rows,
                      echo_dropped=[(m, la, [s.text for s in segs]) for m, la, segs in echo_rows])
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


def print_summary(rows: list[dict[str, object]], mem_rows: list[tuple[str, int, dict[str, float]]],
                  rt_rows: list[tuple[str, int, dict[str, object]]], echo_rows: list[tuple[str, int, list[Segment]]],
                  labels: list[str]) -> None:
    both = "+".join(labels)
    print("\n== 1. Compute, two sources / one source (one: the mean of the two single-source runs; medians) ==")
    print(f"{'model':<20} {'look':>6} {'pipeline wall':>13} {'CPU':>6} {'thread CPU':>10} {'direct wall':>11} "
          f"{'CPU':>6} {'thread CPU':>10} {'pipeline/direct wall: 1 src':>27} {'2 src':>6} {'RTF/src 2 src':>13} "
          f"{'stats.rtf 2 src':>15} {'echo drops':>10}  same tokens")
    keyed = {(r["model"], r["lookahead_ms"], r["kind"], r["sources"]): r for r in rows}
    echoes: dict[tuple[object, object], int] = {(m, la): len(segs) for m, la, segs in echo_rows}

    def mean_of(model: object, la: object, kind: str, key: str) -> float:
        return statistics.mean(float(keyed[(model, la, kind, k)][key]) for k in labels)  # type: ignore[arg-type]

    for model, la in dict.fromkeys((r["model"], r["lookahead_ms"]) for r in rows):
        p2, d2 = keyed[(model, la, "pipeline", both)], keyed[(model, la, "direct", both)]
        ratios = [float(r[key]) / mean_of(model, la, kind, key)  # type: ignore[arg-type]
                  for r, kind in ((p2, "pipeline"), (d2, "direct")) for key in ("wall_s", "cpu_s", "thread_cpu_s")]
        one = mean_of(model, la, "pipeline", "wall_s") / mean_of(model, la, "direct", "wall_s")
        two = float(p2["wall_s"]) / float(d2["wall_s"])  # type: ignore[arg-type]
        print(f"{model!s:<20} {la:>4}ms {ratios[0]:>12.2f}x {ratios[1]:>5.2f}x {ratios[2]:>9.2f}x {ratios[3]:>10.2f}x "
              f"{ratios[4]:>5.2f}x {ratios[5]:>9.2f}x {one:>26.2f}x {two:>5.2f}x {p2['rtf_per_source']:>13.3f} "
              f"{p2['stats_rtf']:>15.3f} {echoes.get((model, la), 0):>10}  {p2['same_tokens']}")
    if mem_rows:
        print("\n== 2. Memory (RSS MB, a fresh process each; deltas) ==")
        print(f"{'model':<20} {'look':>6} {'after load':>10} {'load':>6} {'stream 2 made':>13} {'stream 1 ran':>12} "
              f"{'stream 2 ran':>12} {'stream 2 total':>14} {'2nd pass':>8} {'load again':>10} {'+ its run':>9} "
              f"{'stream 2 / load again':>21}")
        for model, la, stages in mem_rows:
            s = memory_summary(stages)
            ratio = s["stream2_total_mb"] / s["model_again_ran_mb"] if s["model_again_ran_mb"] > 0 else float("nan")
            print(f"{model:<20} {la:>4}ms {list(stages.values())[1]:>10.1f} {s['model_mb']:>6.1f} "
                  f"{s['stream2_created_mb']:>13.2f} {s['stream1_ran_mb']:>12.2f} {s['stream2_ran_mb']:>12.2f} "
                  f"{s['stream2_total_mb']:>14.2f} {s['growth_second_pass_mb']:>8.2f} {s['model_again_mb']:>10.1f} "
                  f"{s['model_again_ran_mb']:>9.1f} {ratio:>21.1%}")
    if rt_rows:
        print("\n== 3. Caption latency in real time (ms; emission: newest captioned audio entering its ring buffer "
              "-> sink; token: each token's own audio -> sink) ==")
        print(f"{'model':<20} {'look':>6} {'run':<11} {'source':<7} {'emissions':>9} {'p50':>5} {'p95':>5} {'max':>5} "
              f"{'tokens':>6} {'token p50':>9} {'token p95':>9} {'gaps':>4} {'max behind':>10} {'busy':>6} "
              f"{'stats.rtf':>9} {'echo drops':>10} {'sink guess ok/wrong':>19}")
        for model, la, rt in rt_rows:
            guess = "{}/{}".format(*rt["sink_guess"])  # type: ignore[misc]
            for label, s in rt["sources"].items():  # type: ignore[attr-defined]
                print(f"{model:<20} {la:>4}ms {rt['setup']!s:<11} {label:<7} {s['emissions']:>9} "
                      f"{s['emission_p50_ms']:>5.0f} {s['emission_p95_ms']:>5.0f} {s['emission_max_ms']:>5.0f} "
                      f"{s['tokens']:>6} {s['token_p50_ms']:>9.0f} {s['token_p95_ms']:>9.0f} {s['gaps']:>4} "
                      f"{rt['max_behind_s']:>9.2f}s {rt['busy']:>6.1%} {rt['stats_rtf']:>9.3f} "
                      f"{rt['echoes_dropped']:>10} {guess:>19}")


if __name__ == "__main__":
    sys.exit(main())
