"""``captioner inspect MODEL_DIR``: exit 0 when the folder can caption, 1 when it cannot."""

from __future__ import annotations

import argparse
import json

from captioner.asr.model_report import inspect_model_folder


def run_inspect(args: argparse.Namespace) -> int:
    report = inspect_model_folder(args.model_dir)
    print(json.dumps(report.to_json(), indent=2) if args.json else report.to_text())
    return 0 if report.usable else 1
