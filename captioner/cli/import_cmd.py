"""``captioner import MODEL.nemo OUT_DIR``: a ``.nemo`` to a Captioner model folder without NeMo or torch."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from captioner.nemo_import.importer import ImportProgress


def _show(progress: ImportProgress) -> None:
    print(f"[{progress.step}/{progress.steps}] {progress.stage}", file=sys.stderr, flush=True)


def run_import(args: argparse.Namespace) -> int:
    from captioner.asr.spec import AttentionCache
    from captioner.nemo_import.importer import import_nemo

    started = time.monotonic()
    spec = import_nemo(Path(args.nemo), Path(args.out_dir), lookaheads_ms=args.lookahead_ms, weights=args.weights,
                       progress=None if args.quiet else _show, attention_cache=AttentionCache(args.attention_cache))
    decoders = ", ".join(d.upper() for d in spec.decoders())
    lookaheads = ", ".join(f"{ms} ms" for ms in spec.lookaheads_ms())
    languages = f", languages {', '.join(sorted(spec.prompt.dictionary))}" if spec.prompt else ""
    print(f"Imported {spec.name} to {args.out_dir} in {time.monotonic() - started:.1f} s: {decoders}, lookaheads "
          f"{lookaheads}{languages}, {args.weights} weights. Check it with `captioner inspect {args.out_dir}`.")
    return 0
