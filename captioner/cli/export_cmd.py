"""``captioner export MODEL.nemo OUT_DIR``: NeMo -> a verified Captioner model folder (needs ``[export]``),
and ``captioner quantize MODEL_DIR OUT_DIR``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from captioner.errors import CaptionerError
from captioner.export.errors import ExportDependencyError

EXPORT_EXTRA_MODULES = {"torch": "PyTorch", "nemo": "NVIDIA NeMo"}
"""Top-level modules that only the ``export`` extra installs (pyproject.toml: nemo-toolkit[asr], torch)."""


def run_export(args: argparse.Namespace) -> int:
    from captioner.export.nemo_export import export_model

    try:
        spec = export_model(Path(args.nemo), Path(args.out_dir), lookaheads_ms=args.lookahead_ms,
                            decoders=args.decoder, verify=not args.no_verify, share=not args.separate_weights,
                            weights=args.weights)
    except ExportDependencyError as exc:
        raise missing_dependency("export", exc) from exc
    print(f"Exported {spec.name} to {args.out_dir}: decoders {', '.join(spec.decoders())}, lookaheads "
          f"{', '.join(f'{ms} ms' for ms in spec.lookaheads_ms())}, {args.weights} weights.")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from captioner.export.quantize import quantize_folder

    try:
        spec = quantize_folder(Path(args.model_dir), Path(args.out_dir), args.scheme, args.block_size,
                               args.accuracy_level)
    except ExportDependencyError as exc:
        raise missing_dependency("quantize", exc) from exc
    print(f"Wrote {spec.name} to {args.out_dir}: encoder MatMul weights quantised ({args.scheme}). Tokens can "
          "differ from the float32 model; check accuracy on your own recordings.")
    return 0


def missing_dependency(command: str, exc: ExportDependencyError) -> CaptionerError:
    """Name the command that cannot run, what is missing, and the command that installs it here.

    Why: the library's message speaks of exporting a .nemo model whatever was run, and "the export
    extra" does not say which pip, or that onnx (which ``quantize`` needs) is a core dependency.
    """
    cause = exc.__cause__
    module = (getattr(cause, "name", None) or "").partition(".")[0]
    detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
    if module in EXPORT_EXTRA_MODULES:
        return CaptionerError(
            f"`captioner {command}` needs {EXPORT_EXTRA_MODULES[module]}, which is not installed here{detail}. "
            f"Install the export extra, captioner[export] (NeMo and PyTorch, several GB), into this environment: "
            f"{install_command('[export]')}  (`captioner import` converts a .nemo file without them).")
    name = module or "a package"
    return CaptionerError(
        f"`captioner {command}` needs {name}, which could not be imported{detail}. It is one of Captioner's own "
        f"dependencies, so this installation is incomplete; reinstall it: {install_command('')}")


def install_command(extra: str) -> str:
    """``pip install`` of Captioner (with ``extra``, e.g. ``"[export]"``) for the Python running now: an
    editable install of the source checkout this module comes from, else the published package."""
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file():
        return f"{pip} -e {shlex.quote(f'{root}{extra}')}"
    return f"{pip} {shlex.quote(f'captioner{extra}')}"
