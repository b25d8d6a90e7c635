"""The app's command-line options, without Qt: ``captioner --help`` shows them without starting Qt."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="captioner", description="Live captions of a meeting, computed on this machine.")
    p.add_argument("--model", metavar="DIR", help="model folder to use (remembered in the settings)")
    p.add_argument("--input-file", metavar="AUDIO", help="caption this file at real-time speed instead of a device")
    p.add_argument("--speed", type=float, default=1.0, help=argparse.SUPPRESS)  # tests and demos only
    p.add_argument("--autostart", action="store_true", help="start captioning at once")
    p.add_argument("--quit-when-done", action="store_true", help="with --input-file: quit at the end of the file")
    p.add_argument("--smoke-test", action="store_true",
                   help="build the window, load the model, open the audio API, print a JSON report and exit")
    p.add_argument("--settings", metavar="INI", help="use this settings file instead of the user's")
    p.add_argument("-v", "--debug", action="store_true",
                   help="detailed log for a bug report, caption text included, in the log file and on stderr")
    return p
