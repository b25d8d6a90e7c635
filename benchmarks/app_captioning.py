#!/usr/bin/env python
"""Desktop-app benchmark while captioning: GUI event-loop stalls and end-to-end caption latency.

Runs the real app (offscreen unless DISPLAY is set) on ``--input-file`` at real-time speed, so audio
goes through the same ring buffer, resampler, worker thread and signals as a microphone would.

* stall: a 5 ms QTimer on the GUI thread; how late each tick fires (max, p99, mean).
* latency: for each caption update, the time from the newest captioned sample entering the ring
  buffer to the overlay having repainted it (median, p90, max). It includes the model's lookahead
  and chunk size, which dominate.

Printed, not asserted.

    .venv/bin/python -m benchmarks.app_captioning --model tests/fixtures/models/tiny-a \
        --audio tests/fixtures/audio/speech_8s.wav
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "tests/fixtures/models/tiny-a"))
    ap.add_argument("--audio", default=str(ROOT / "tests/fixtures/audio/speech_8s.wav"))
    ap.add_argument("--lookahead-ms", type=int)
    ap.add_argument("--decoder", default="rnnt")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from captioner.app.main import create_app
    from captioner.app.settings import AppSettings, save_settings

    tmp = Path(tempfile.mkdtemp(prefix="captioner-bench-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    ini = tmp / "s.ini"
    save_settings(AppSettings(model_dir=args.model, lookahead_ms=args.lookahead_ms, decoder=args.decoder),
                  QSettings(str(ini), QSettings.Format.IniFormat))
    c = create_app(["--settings", str(ini), "--input-file", args.audio])
    app = QApplication.instance()
    assert app is not None

    period_ms = 5
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - period_ms))
        last[0] = now

    ticker = QTimer()
    ticker.setInterval(period_ms)
    ticker.timeout.connect(tick)

    latencies: list[float] = []

    def on_caption(arrival: float) -> None:
        c.overlay.repaint()  # synchronously on screen (in the backing store) before taking the time
        latencies.append(time.monotonic() - arrival)

    c.worker.captionTimed.connect(on_caption)
    done: list[bool] = []
    c.sessionFinished.connect(lambda: done.append(True))
    started = [0.0]

    def begin() -> None:
        started[0] = time.perf_counter()
        last[0] = started[0]
        ticker.start()

    c.worker.stateChanged.connect(lambda s: begin() if s == "running" and not started[0] else None)
    deadline = time.monotonic() + 600
    while not done and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)
    ticker.stop()
    wall = time.perf_counter() - started[0]
    info = c.model_info
    c.shutdown()

    print(f"model: {info.summary() if info else '?'}")
    print(f"audio: {Path(args.audio).name}, captioned in {wall:.2f} s wall (real-time feed)")
    print(f"GUI event-loop stall over {len(lateness)} ticks of {period_ms} ms: "
          f"max {max(lateness):.1f} ms, p99 {pct(lateness, 0.99):.1f} ms, mean {statistics.fmean(lateness):.2f} ms")
    if latencies:
        ms = [v * 1000 for v in latencies]
        print(f"end-to-end latency ring buffer -> caption on screen over {len(ms)} updates: "
              f"median {statistics.median(ms):.0f} ms, p90 {pct(ms, 0.9):.0f} ms, max {max(ms):.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
