#!/usr/bin/env python
"""Desktop-app benchmark: CPU use of the whole process while captioning silence.

Feeds N seconds of digital silence at real-time speed through the app (ring buffer, resampler,
worker, recognizer, GUI) and reports process CPU time (all threads) per wall second, i.e. % of one
core. Also reports the same with the source open but not captioning (the level-meter preview).
Printed, not asserted.

    .venv/bin/python -m benchmarks.app_silence_cpu --model tests/fixtures/models/tiny-a --seconds 20
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "tests/fixtures/models/tiny-a"))
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=int, default=48000, help="sample rate of the silent 'device'")
    args = ap.parse_args()

    import numpy as np
    import soundfile as sf
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from captioner.app.main import create_app
    from captioner.app.settings import AppSettings, save_settings

    tmp = Path(tempfile.mkdtemp(prefix="captioner-bench-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    wav = tmp / "silence.wav"
    sf.write(wav, np.zeros((int(args.seconds * args.rate), 2), np.float32), args.rate, subtype="FLOAT")
    ini = tmp / "s.ini"
    save_settings(AppSettings(model_dir=args.model), QSettings(str(ini), QSettings.Format.IniFormat))
    c = create_app(["--settings", str(ini), "--input-file", str(wav)])
    app = QApplication.instance()
    assert app is not None

    def spin(seconds: float) -> tuple[float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)  # like an idle event loop: the GUI thread mostly sleeps
        return time.perf_counter() - w0, time.process_time() - c0

    while c.state != "running":
        spin(0.05)
    spin(1.0)  # warm-up
    wall, cpu = spin(args.seconds - 2.0)
    print(f"model: {c.model_info.summary() if c.model_info else '?'}; silent {args.rate} Hz stereo input")
    print(f"captioning silence: {100 * cpu / wall:.1f} % of one core ({cpu:.2f} s CPU in {wall:.1f} s)")
    c.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
