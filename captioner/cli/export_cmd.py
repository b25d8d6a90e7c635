"""``captioner export MODEL.nemo OUT_DIR``: NeMo -> a verified Captioner model folder (needs ``[export]``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_export(args: argparse.Namespace) -> int:
    from captioner.export.nemo_export import export_model

    spec = export_model(Path(args.nemo), Path(args.out_dir), lookaheads_ms=args.lookahead_ms,
                        decoders=args.decoder, verify=not args.no_verify, share=not args.separate_weights,
                        weights=args.weights)
    print(f"Exported {spec.name} to {args.out_dir}: decoders {', '.join(spec.decoders())}, lookaheads "
          f"{', '.join(f'{ms} ms' for ms in spec.lookaheads_ms())}, {args.weights} weights.")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from captioner.export.quantize import quantize_folder

    spec = quantize_folder(Path(args.model_dir), Path(args.out_dir), args.scheme, args.block_size,
                           args.accuracy_level)
    print(f"Wrote {spec.name} to {args.out_dir}: encoder MatMul weights quantised ({args.scheme}). Tokens can "
          "differ from the float32 model; check accuracy on your own recordings.")
    return 0
