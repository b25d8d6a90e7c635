"""``captioner quantize``: int8 weights for the encoder MatMuls of an exported folder (opt-in).

Why: a batch-1 streaming step is bound by reading the encoder's weights (456 MB in float32 for the
large model) on every chunk, so on a CPU the per-chunk cost barely shrinks with the chunk. Dynamic
int8 quantisation of the MatMul weights only cuts those bytes by 4. Convolutions are left alone: a
model card reports that quantising FastConformer's Conv layers can make it emit only blanks.

Tokens are no longer identical to NeMo's float32 streaming, so this is a separate, explicit step
whose output says so in its manifest; measure WER on your own audio before relying on it.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from captioner.asr.manifest import MANIFEST_NAME, write_manifest
from captioner.asr.model_folder import load_model_folder
from captioner.asr.spec import ModelSpec
from captioner.errors import CaptionerError
from captioner.export.errors import ExportDependencyError

SCHEME = "int8-matmul"
HALF_WEIGHTS = "float16-weights"
"""A folder whose weights were rounded to float16 (``export``/``import --weights float16``): quantised from them."""
BLOCK_SCHEMES = {"int8-block": 8, "int4-block": 4}
SCHEMES = (SCHEME, *BLOCK_SCHEMES)


def quantize_folder(source: Path, target: Path, scheme: str = SCHEME, block_size: int = 32,
                    accuracy_level: int = 4) -> ModelSpec:
    """Copy ``source`` (a float32 model folder) to ``target`` with quantised MatMul weights in every encoder.

    ``int8-matmul``: ONNX Runtime's dynamic int8 quantisation. ``int8-block`` / ``int4-block``: weight-only
    ``MatMulNBits`` with one scale per ``block_size`` rows (:mod:`captioner.export.block_quant`).
    """
    if scheme not in SCHEMES:
        raise CaptionerError(f"Unknown quantisation scheme {scheme!r}; choose {', '.join(SCHEMES)}.")
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnxruntime.quantization needs the onnx package
        raise ExportDependencyError("ONNX (the onnx package)", exc) from exc
    from captioner.export.block_quant import quantize_model
    from captioner.export.compact import restore_float32

    folder = load_model_folder(source)
    spec = folder.spec
    if spec.layout != "manifest":
        raise CaptionerError(
            f"{source} is a hand-made NeMo export; quantize a folder written by `captioner export` instead."
        )
    half = spec.quantization == HALF_WEIGHTS
    if spec.quantization and not half:
        raise CaptionerError(f"{source} is already quantized ({spec.quantization}): quantize its float32 or "
                             "float16-weights folder instead.")
    if target.resolve() == source.resolve():
        raise CaptionerError("Write the quantized model to a new folder; the float32 one stays as the reference.")
    if target.exists() and any(target.iterdir()):
        raise CaptionerError(f"{target} already exists and is not empty; choose a new folder.")
    target.mkdir(parents=True, exist_ok=True)
    encoders = {f for s in spec.streaming for f in (s.encoder_file, s.first_chunk_encoder_file) if f}
    for item in source.iterdir():
        if item.name == MANIFEST_NAME or not item.is_file() or item.name.endswith(".partial"):
            continue
        if item.name in encoders and scheme in BLOCK_SCHEMES:
            model = onnx.load(str(item))
            restore_float32(model)  # weights stored as float16 are quantised from their exact float32 values
            quantize_model(model, BLOCK_SCHEMES[scheme], block_size, accuracy_level)
            onnx.save(model, str(target / item.name))
        elif item.name in encoders:
            graph = item
            if half:  # ONNX Runtime's quantiser reads a file: give it the float32 graph
                model = onnx.load(str(item))
                restore_float32(model)
                graph = target / (item.name + ".float32.partial")
                onnx.save(model, str(graph))
            with _root_logger_quiet():
                quantize_dynamic(str(graph), str(target / item.name), op_types_to_quantize=["MatMul"],
                                 weight_type=QuantType.QInt8, per_channel=False)
            if graph != item:
                graph.unlink()
        else:
            shutil.copy2(item, target / item.name)
    if spec.weights_file:
        from captioner.export.compact import share_weights

        # The quantized encoders came out self-contained, and the copied pool still holds their float
        # weights: pool again, so the folder keeps one copy of each tensor and none that is unused.

        others = [f for f in (spec.rnnt.decoder_joint_file if spec.rnnt else None,
                              spec.ctc.head_file if spec.ctc else None) if f]
        share_weights(target, sorted(encoders) + others)
    quantized = replace(spec, quantization=scheme, name=f"{spec.name}-{scheme}")
    write_manifest(quantized, target)
    return quantized


@contextlib.contextmanager
def _root_logger_quiet() -> Iterator[None]:
    """onnxruntime.quantization logs a generic pre-processing hint on the root logger for every graph: hide it
    while it quantises, and give the root logger its level back afterwards (other loggers, warnings captured for
    the log file among them, inherit that level)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)
