"""Print the installers' sizes and the bundle's launch-to-listening time (goals: 300 MB, 100 MB, 1.5 s).

    python3 packaging/linux/report.py --bundle build/dist/captioner --deb build/dist/x.deb [--runs 3]

Launch to listening is measured from outside: the wall-clock time just before the process is spawned, to the
time the app's ``--smoke-test`` stamps on the first audio block it captured (``audio.opened.listening_at_unix``).
In between are the bootloader, Python and Qt start-up, building the window, loading the model, one second
of inference, and opening the audio device. Without a sound server a private PulseAudio is started whose default
source is a sine-wave generator standing in for a microphone, so the number includes a real PortAudio stream.
(Not a null sink's monitor: an idle one delivers its first block 0.8-1.9 s late, PulseAudio's timer, not the app.)
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
import time
from pathlib import Path

GOALS = {"onedir_mb": 300.0, "deb_mb": 100.0, "listening_s": 1.5}


def tree_mb(path: Path) -> float:
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir()) / 1e6


def start_pulse(runtime: Path) -> subprocess.Popen[bytes] | None:
    """A private PulseAudio with a sine-wave source as its default input, when no sound server is configured."""
    if os.environ.get("PULSE_SERVER") or not shutil.which("pulseaudio") or not shutil.which("pactl"):
        return None
    socket = runtime / "native"
    env = {**os.environ, "HOME": str(runtime), "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime),
           "XDG_CONFIG_HOME": str(runtime / "config")}
    proc = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes",
         "--log-target=stderr", "--log-level=error", "-L", "module-null-sink sink_name=report rate=48000",
         "-L", "module-sine-source source_name=mic rate=48000 frequency=440",
         "-L", f"module-native-protocol-unix auth-anonymous=1 socket={socket}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["PULSE_SERVER"] = f"unix:{socket}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["pactl", "info"], capture_output=True, check=False).returncode == 0:
            subprocess.run(["pactl", "set-default-source", "mic"], capture_output=True, check=True)
            return proc
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit("report: the private PulseAudio server did not start")


def launch_to_listening(exe: Path, home: Path, model: Path | None) -> float:
    """Seconds from spawning ``exe --smoke-test`` (on its default model, or ``model``) to its first audio block."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data")}
    spawned = time.time()
    extra = ["--model", str(model)] if model else []
    proc = subprocess.run([str(exe), "--smoke-test", "--settings", str(home / "report.ini"), *extra],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = {"ok": False}
    if proc.returncode != 0 or not report["ok"]:
        raise SystemExit(f"report: the smoke test failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    listening = (report["audio"].get("opened") or {}).get("listening_at_unix")
    if listening is None:
        raise SystemExit(f"report: no audio block was captured: {json.dumps(report['audio'])}")
    return float(listening) - spawned


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="onedir folder (its executable is measured)")
    parser.add_argument("--deb", type=Path)
    parser.add_argument("--squashfs", type=Path)
    parser.add_argument("--exe", type=Path, help="executable to time instead of the bundle's (e.g. /usr/bin/captioner)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", type=Path, help="model folder to load instead of the bundled default")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    figures: dict[str, float] = {"onedir_mb": round(tree_mb(args.bundle), 1)}
    if args.deb:
        figures["deb_mb"] = round(args.deb.stat().st_size / 1e6, 1)
    if args.squashfs:
        figures["squashfs_mb"] = round(args.squashfs.stat().st_size / 1e6, 1)
    with tempfile.TemporaryDirectory(prefix="captioner-report-") as tmp:
        pulse = start_pulse(Path(tmp))
        try:
            exe = args.exe or args.bundle / "captioner"
            times = [launch_to_listening(exe, Path(tmp), args.model) for _ in range(args.runs)]
        finally:
            if pulse is not None:
                pulse.terminate()
                pulse.wait(timeout=10)
    figures["listening_first_s"] = round(times[0], 3)
    figures["listening_s"] = round(statistics.median(times), 3)

    print(f"onedir bundle      {figures['onedir_mb']:7.1f} MB   (goal <= {GOALS['onedir_mb']:.0f} MB)")
    if "deb_mb" in figures:
        print(f".deb               {figures['deb_mb']:7.1f} MB   (goal <= {GOALS['deb_mb']:.0f} MB)")
    if "squashfs_mb" in figures:
        print(f"AppDir squashfs    {figures['squashfs_mb']:7.1f} MB")
    print(f"launch->listening  {figures['listening_s']:7.3f} s    (median of {len(times)}; first run "
          f"{figures['listening_first_s']:.3f} s; goal <= {GOALS['listening_s']} s; "
          f"model {args.model or 'bundled default'})")
    for key, goal in GOALS.items():
        if key in figures and figures[key] > goal:
            print(f"report: {key} {figures[key]} is over the goal {goal}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
