#!/usr/bin/env python
"""Where does Captioner's per-chunk time go, and what would the proposed changes buy?

Instruments a ``StreamingRecognizer`` without editing the engine: its ONNX sessions and featurizer are
wrapped with timers (features, encoder ``run``, ``decoder_joint`` calls, the rest = Python glue). Then it
measures prototypes of proposed changes, each injected into a fresh recognizer (scratch code here, not
in ``captioner/asr``), interleaved round by round with the baseline on the same audio:

* ``base``     the engine as it is;
* ``nospin``   every session with ``session.intra_op.allow_spinning = 0`` (ORT's idle worker threads spin
               by default and steal the core the next session's call needs);
* ``dj1``      ``nospin`` + ``decoder_joint`` on 1 intra-op thread (a [1,1,640] LSTM step cannot use 2);
* ``split``    ``dj1`` + RNNT greedy over separate prediction-net and joint graphs (NeMo's ``decoder`` and
               ``joint`` exports, as in ``models/full-size/sherpa``): the prediction net runs once per
               emitted token instead of once per joint call, and one joint call scores all remaining
               frames of the chunk (re-scored only after an emission);
* ``iobind``   ``split`` + the encoder run through IO binding, its caches kept as ``OrtValue`` between steps
               (no numpy round trip of the 2.4 MB caches);
* ``int8``     ``split`` + the encoder's MatMul weights quantised to int8 (``quantize_dynamic``, MatMul only;
               changes numerics: the token agreement with fp32 is printed).

    $NEMO_PYTHON -m benchmarks.engine_profile                       # 80 ms, 1 and 2 threads
    $NEMO_PYTHON -m benchmarks.engine_profile --lookahead-ms 1040 --variants base split
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from captioner.asr.decoding import RawToken

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "models" / "full-size"
SR = 16000
BLOCK = 1600
VARIANTS = ("base", "nospin", "dj1", "split", "iobind", "int8")


class Timer:
    def __init__(self) -> None:
        self.t: dict[str, float] = defaultdict(float)
        self.n: dict[str, int] = defaultdict(int)

    def add(self, key: str, dt: float) -> None:
        self.t[key] += dt
        self.n[key] += 1


class TimedSession:
    """Delegates to an ``InferenceSession`` and times ``run``."""

    def __init__(self, session: ort.InferenceSession, timer: Timer, key: str) -> None:
        self._s, self._timer, self._key = session, timer, key

    def run(self, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        out = self._s.run(*args, **kwargs)
        self._timer.add(self._key, time.perf_counter() - t)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s, name)


def make_session(path: Path, threads: int, spinning: bool) -> ort.InferenceSession:
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    o.log_severity_level = 3
    if not spinning:
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=o, providers=["CPUExecutionProvider"])


class SplitRnntDecoder:
    """RNNT greedy (same rule as ``RnntGreedyDecoder``) over separate prediction-net and joint graphs.

    g = pred(last_token, state_before_it) is cached and recomputed only after an emission; the joint
    scores frames [t, T) of the chunk in one call and is re-run from frame t after each emission.
    """

    def __init__(self, decoder: Any, joiner: Any, blank: int, pred_hidden: int, max_symbols: int = 10) -> None:
        self._dec, self._joint = decoder, joiner
        self._blank, self._max = blank, max_symbols
        self._shape = (1, 1, pred_hidden)
        self._din = [i.name for i in decoder.get_inputs()]
        self._dout = [o.name for o in decoder.get_outputs()]
        self._jin = [i.name for i in joiner.get_inputs()]
        self._one = np.ones(1, np.int32)
        self.reset()

    def _pred(self, token: int, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g, _, h2, c2 = self._dec.run(self._dout, {self._din[0]: np.array([[token]], np.int32), self._din[1]: self._one,
                                                  self._din[2]: h, self._din[3]: c})
        return g, h2, c2

    def reset(self) -> None:
        h = np.zeros(self._shape, np.float32)
        c = np.zeros(self._shape, np.float32)
        self._g, self._h_after, self._c_after = self._pred(self._blank, h, c)

    def decode(self, encoded: np.ndarray, first_frame: int) -> list[RawToken]:
        tokens: list[RawToken] = []
        enc = np.ascontiguousarray(encoded[None])  # [1, D, T]
        t, n_frames = 0, encoded.shape[1]
        while t < n_frames:
            logits = self._joint.run(None, {self._jin[0]: enc[:, :, t:], self._jin[1]: self._g})[0]  # [1, T', 1, V+1]
            best = logits[0, :, 0, :].argmax(axis=-1)
            nonblank = np.flatnonzero(best != self._blank)
            if nonblank.size == 0:
                break
            t += int(nonblank[0])
            # emit on frame t until blank or max symbols, re-scoring this frame after each emission
            k = int(best[nonblank[0]])
            for i in range(self._max):
                if i > 0:
                    k = int(self._joint.run(None, {self._jin[0]: enc[:, :, t : t + 1], self._jin[1]: self._g})[0]
                            .reshape(-1).argmax())
                    if k == self._blank:
                        break
                tokens.append(RawToken(k, first_frame + t))
                self._g, self._h_after, self._c_after = self._pred(k, self._h_after, self._c_after)
            t += 1
        return tokens


class IoBindEncoder:
    """``CacheAwareEncoder.step`` with IO binding: cache outputs stay ``OrtValue``s, bound as the next inputs."""

    NAMES = ("cache_last_channel", "cache_last_time", "cache_last_channel_len")
    OUTS = ("outputs", "encoded_lengths", "cache_last_channel_next", "cache_last_time_next",
            "cache_last_channel_next_len")

    def __init__(self, encoder: Any, timer: Timer) -> None:
        self._e, self._timer = encoder, timer
        self.reset()

    def reset(self) -> None:
        self._e.reset()
        self._state: list[Any] | None = None

    def step(self, window: np.ndarray, first_chunk: bool = False) -> np.ndarray:
        t = time.perf_counter()
        e = self._e
        sess = e._first_session if first_chunk and e._first_session is not None else e._session
        b = sess.io_binding()
        b.bind_cpu_input("audio_signal", np.ascontiguousarray(window[None]))
        b.bind_cpu_input("length", np.array([window.shape[1]], np.int64))
        if self._state is None:
            for name, value in zip(self.NAMES, (e._cache_channel, e._cache_time, e._cache_len), strict=True):
                b.bind_cpu_input(name, value)
        else:
            for name, value in zip(self.NAMES, self._state, strict=True):
                b.bind_ortvalue_input(name, value)
        for name in self.OUTS:
            b.bind_output(name, "cpu")
        sess.run_with_iobinding(b)
        outs = b.get_outputs()
        self._state = outs[2:5]
        valid = int(outs[1].numpy().reshape(-1)[0])
        result = outs[0].numpy()[0, :, :valid]
        self._timer.add("encoder", time.perf_counter() - t)
        return result


def quantized_encoder(src: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst = FULL / "scratch" / (src.stem + ".int8.onnx")
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        quantize_dynamic(str(src), str(dst), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    return dst


def build(variant: str, folder_path: Path, sherpa: Path, la: int, threads: int, timer: Timer) -> Any:
    from captioner.asr.model_folder import load_model_folder
    from captioner.asr.recognizer import StreamingRecognizer

    folder = load_model_folder(folder_path)
    rec = StreamingRecognizer(folder, decoder="rnnt", lookahead_ms=la, provider="cpu", threads=threads)
    enc = rec._encoder
    s = rec.streaming
    if variant != "base":
        enc_file = folder.file(s.encoder_file)
        first_file = folder.file(s.first_chunk_encoder_file) if s.first_chunk_encoder_file else None
        if variant == "int8":
            enc_file = quantized_encoder(enc_file)
            first_file = quantized_encoder(first_file) if first_file else None
        enc._session = make_session(enc_file, threads, spinning=False)
        if first_file:
            enc._first_session = make_session(first_file, threads, spinning=False)
        dj_threads = threads if variant == "nospin" else 1
        if variant in ("nospin", "dj1"):
            assert rec.spec.rnnt is not None
            rec._rnnt._session = make_session(folder.file(rec.spec.rnnt.decoder_joint_file), dj_threads, spinning=False)
        else:
            assert rec.spec.rnnt is not None
            rec._rnnt = SplitRnntDecoder(make_session(sherpa / "decoder.onnx", 1, False),
                                         TimedSession(make_session(sherpa / "joiner.onnx", 1, False), timer, "joint"),
                                         rec.spec.blank_id, rec.spec.rnnt.pred_hidden)
            rec._rnnt._dec = TimedSession(rec._rnnt._dec, timer, "prednet")
    if variant == "iobind":
        rec._encoder = IoBindEncoder(enc, timer)
    else:
        enc._session = TimedSession(enc._session, timer, "encoder")
        if enc._first_session is not None:
            enc._first_session = TimedSession(enc._first_session, timer, "encoder")
    if variant in ("base", "nospin", "dj1"):
        rec._rnnt._session = TimedSession(rec._rnnt._session, timer, "decoder_joint")
    feat = rec._featurizer
    orig_accept, orig_finish = feat.accept, feat.finish

    def accept(x: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        out = orig_accept(x)
        timer.add("features", time.perf_counter() - t)
        return out

    def finish() -> np.ndarray:
        t = time.perf_counter()
        out = orig_finish()
        timer.add("features", time.perf_counter() - t)
        return out

    feat.accept, feat.finish = accept, finish  # type: ignore[method-assign]
    return rec


def stream(rec: Any, audio: np.ndarray) -> tuple[float, list[float], list[int]]:
    rec.reset()
    rec.step_seconds.clear()
    ids: list[int] = []
    t0 = time.perf_counter()
    for start in range(0, audio.size, BLOCK):
        ids += [t.id for t in rec.accept(audio[start : start + BLOCK])]
    ids += [t.id for t in rec.finish()]
    return time.perf_counter() - t0, list(rec.step_seconds), ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=FULL / "captioner")
    ap.add_argument("--sherpa", type=Path, default=FULL / "sherpa", help="folder with decoder.onnx + joiner.onnx")
    ap.add_argument("--audio", type=Path, default=FULL / "bench_60s.wav")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--lookahead-ms", type=int, default=80)
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    args = ap.parse_args()

    import soundfile as sf

    audio, _ = sf.read(str(args.audio), dtype="float32")
    audio = np.ascontiguousarray(audio[: int(args.seconds * SR)])
    audio_s = audio.size / SR
    for threads in args.threads:
        timers = {v: Timer() for v in args.variants}
        recs = {v: build(v, args.model, args.sherpa, args.lookahead_ms, threads, timers[v]) for v in args.variants}
        chunk_ms = recs[args.variants[0]].streaming.shift_frames[1] * 10
        for rec in recs.values():
            stream(rec, audio[: 2 * SR])
        for t in timers.values():
            t.t.clear()
            t.n.clear()
        walls: dict[str, list[float]] = defaultdict(list)
        steps: dict[str, list[float]] = defaultdict(list)
        ids: dict[str, list[int]] = {}
        for r in range(args.rounds):
            order = args.variants[r % len(args.variants):] + args.variants[: r % len(args.variants)]
            for v in order:
                wall, st, tok = stream(recs[v], audio)
                walls[v].append(wall)
                steps[v] += st
                ids[v] = tok
        print(f"\n## lookahead {args.lookahead_ms} ms, {threads} thread(s), {audio_s:.0f} s audio x {args.rounds} "
              "rounds "
              f"(chunk {chunk_ms} ms, {len(steps[args.variants[0]]) // args.rounds} chunks)")
        print("| variant | RTF | speed-up | chunk p50 ms | p95 ms | p95 % chunk | features | encoder | decoder "
              "| glue | dec calls/chunk | tokens | same tokens as base |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        base_rtf = statistics.median(walls[args.variants[0]]) / audio_s
        for v in args.variants:
            tm = timers[v]
            total = sum(walls[v])
            dec = tm.t["decoder_joint"] + tm.t["prednet"] + tm.t["joint"]
            calls = (tm.n["decoder_joint"] + tm.n["prednet"] + tm.n["joint"]) / args.rounds
            glue = total - tm.t["features"] - tm.t["encoder"] - dec
            rtf = statistics.median(walls[v]) / audio_s
            st = np.asarray(steps[v]) * 1000
            n_chunks = tm.n["encoder"] / args.rounds
            same = ids[v] == ids[args.variants[0]]
            agree = "yes" if same else f"NO ({_agreement(ids[args.variants[0]], ids[v]):.1%} edit agreement)"
            print(f"| {v} | {rtf:.3f} | {base_rtf / rtf:.2f}x | {np.percentile(st, 50):.1f} "
                  f"| {np.percentile(st, 95):.1f} "
                  f"| {100 * np.percentile(st, 95) / chunk_ms:.1f}% | {100 * tm.t['features'] / total:.1f}% "
                  f"| {100 * tm.t['encoder'] / total:.1f}% | {100 * dec / total:.1f}% | {100 * glue / total:.1f}% "
                  f"| {calls / max(1, n_chunks):.2f} | {len(ids[v])} | {agree} |")
        for v in args.variants:
            tm = timers[v]
            parts = ", ".join(f"{k} {1000 * tm.t[k] / tm.n[k]:.3f} ms x {tm.n[k] / args.rounds:.0f}"
                              for k in sorted(tm.t) if tm.n[k])
            print(f"  {v}: per call {parts}")
        del recs
    return 0


def _agreement(a: list[int], b: list[int]) -> float:
    """1 - token edit distance / len(a)."""
    if not a:
        return 1.0 if not b else 0.0
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return 1 - prev[-1] / len(a)


if __name__ == "__main__":
    sys.exit(main())
