#!/usr/bin/env python
"""Export a NeMo cache-aware streaming model the way sherpa-onnx packs it (``OnlineTransducerNeMoModel``).

This does what sherpa-onnx's ``scripts/nemo/fast-conformer-hybrid-transducer-ctc/export-onnx-transducer.py`` and
``scripts/nemo/nemotron-speech-streaming-en-0.6b/export_onnx.py`` do (our own code, same result): the encoder, the
RNNT prediction network ("decoder") and the joint ("joiner") are exported as three separate graphs with cache
support on, and the encoder carries the metadata sherpa-onnx reads (``vocab_size`` without blank,
``window_size`` = chunk + pre-encode cache frames, ``chunk_shift``, ``cache_last_channel_dim1..3``,
``cache_last_time_dim1..3``, ``pred_rnn_layers``, ``pred_hidden``, ``subsampling_factor``, ``normalize_type``
("" for NeMo's ``NA``), ``feat_dim``, ``model_type``, ...). ``tokens.txt`` lists ``piece id`` lines with
``<blk>`` last. Hybrid RNNT+CTC models and RNNT-only models (``EncDecRNNTBPEModel``, 128 mels) both work;
``model_type`` is the model's own class name (sherpa-onnx's scripts write ``EncDecHybridRNNTCTCBPEModel`` for
every model; sherpa-onnx does not read it: it picks its NeMo transducer runtime because ``decoder.onnx`` has
more than one output).

Two output shapes:

* ``--pack`` (what sherpa-onnx publishes): ONE lookahead per folder, ``encoder.onnx`` + ``decoder.onnx`` +
  ``joiner.onnx`` + ``tokens.txt``; ``--int8 also|only`` adds (or keeps only) ``encoder.int8.onnx`` etc., made
  with ``onnxruntime.quantization.quantize_dynamic(weight_type=QUInt8)`` exactly as sherpa-onnx's scripts do.
* default (benchmarks): one ``encoder-la{ms}.onnx`` per lookahead beside one decoder/joiner/tokens.txt.

Run::

    $NEMO_PYTHON -m tools.export_sherpa_onnx MODEL.nemo OUT_DIR [--lookahead-ms 80 ...]
    $NEMO_PYTHON -m tools.export_sherpa_onnx MODEL.nemo OUT_DIR --pack --lookahead-ms 240 \
        [--int8 also|only]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

INT8_CHOICES = ("no", "also", "only")


def add_meta_data(filename: Path, meta_data: dict[str, Any]) -> None:
    import onnx

    model = onnx.load(str(filename))
    del model.metadata_props[:]
    for key, value in meta_data.items():
        prop = model.metadata_props.add()
        prop.key = key
        prop.value = str(value)
    onnx.save(model, str(filename))


def _first_or_only(value: Any, index: int = 1) -> int:
    return int(value[index]) if isinstance(value, (list, tuple)) else int(value)


def write_tokens(model: Any, path: Path) -> None:
    vocab = list(model.joint.vocabulary) if model.joint.vocabulary else [
        model.tokenizer.ids_to_tokens([i])[0] for i in range(model.tokenizer.vocab_size)]
    with path.open("w", encoding="utf-8") as f:
        for i, piece in enumerate(vocab):
            f.write(f"{piece} {i}\n")
        f.write(f"<blk> {len(vocab)}\n")


def encoder_meta(model: Any, name: str) -> dict[str, Any]:
    enc = model.encoder
    cfg = enc.streaming_cfg
    chunk_size = _first_or_only(cfg.chunk_size)
    pre_encode_cache_size = _first_or_only(cfg.pre_encode_cache_size)
    normalize = str(model.cfg.preprocessor.get("normalize", "NA"))
    meta: dict[str, Any] = {
        "vocab_size": model.decoder.vocab_size,
        "window_size": chunk_size + pre_encode_cache_size,
        "chunk_shift": chunk_size,
        "normalize_type": "" if normalize in ("NA", "None") else normalize,
        "cache_last_channel_dim1": len(enc.layers),
        "cache_last_channel_dim2": cfg.last_channel_cache_size,
        "cache_last_channel_dim3": enc.d_model,
        "cache_last_time_dim1": len(enc.layers),
        "cache_last_time_dim2": enc.d_model,
        "cache_last_time_dim3": enc.conv_context_size[0],
        "pred_rnn_layers": model.decoder.pred_rnn_layers,
        "pred_hidden": model.decoder.pred_hidden,
        "subsampling_factor": enc.subsampling_factor,
        "feat_dim": int(model.cfg.preprocessor.features),
        "chunk_size_ms": chunk_size * 10,
        "model_type": type(model).__name__,
        "version": "1",
        "model_author": "NeMo",
        "url": name,
        "comment": "Only the transducer branch is exported",
    }
    return meta


def _contexts(model: Any) -> dict[int, list[int]]:
    enc = model.encoder
    frame_ms = 10 * enc.subsampling_factor  # 10 ms feature hop
    contexts = [list(c) for c in enc.att_context_size_all] if hasattr(enc, "att_context_size_all") else [
        list(enc.att_context_size)]
    return {int(c[1]) * frame_ms: c for c in contexts}


def _prepare(model: Any) -> None:
    model.eval()
    if hasattr(model, "ctc_decoder"):  # hybrid: export the transducer branch
        model.change_decoding_strategy(decoder_type="rnnt", verbose=False)
        model.set_export_config({"decoder_type": "rnnt", "cache_support": True})
    else:
        model.set_export_config({"cache_support": True})


def _export_encoder(model: Any, context: list[int], path: Path, name: str) -> None:
    enc = model.encoder
    enc.set_default_att_context_size(context)
    enc.setup_streaming_params()
    enc.export(str(path))
    add_meta_data(path, encoder_meta(model, name))


def quantize(src: Path, dst: Path) -> None:
    """sherpa-onnx's int8 packs: ``quantize_dynamic(weight_type=QuantType.QUInt8)`` on each graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(model_input=str(src), model_output=str(dst), weight_type=QuantType.QUInt8)


def export_pack(model: Any, out_dir: Path, lookahead_ms: int, int8: str = "no", name: str | None = None
                ) -> list[Path]:
    """One sherpa-onnx pack (one lookahead) into ``out_dir``; returns the files written."""
    import torch

    if int8 not in INT8_CHOICES:
        raise SystemExit(f"--int8 must be one of {INT8_CHOICES}")
    by_ms = _contexts(model)
    if lookahead_ms not in by_ms:
        raise SystemExit(f"lookahead {lookahead_ms} ms not trained; the model has {sorted(by_ms)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _prepare(model)
    floats = [out_dir / "encoder.onnx", out_dir / "decoder.onnx", out_dir / "joiner.onnx"]
    with torch.no_grad():
        _export_encoder(model, by_ms[lookahead_ms], floats[0],
                        name or f"{type(model).__name__}, att_context_size {by_ms[lookahead_ms]}")
        model.decoder.export(str(floats[1]))
        model.joint.export(str(floats[2]))
    written = list(floats) if int8 != "only" else []
    if int8 != "no":
        for path in floats:
            dst = path.with_name(path.name.replace(".onnx", ".int8.onnx"))
            quantize(path, dst)
            written.append(dst)
        if int8 == "only":
            for path in floats:
                path.unlink()
    write_tokens(model, out_dir / "tokens.txt")
    written.append(out_dir / "tokens.txt")
    return written


def export_sherpa(model: Any, out_dir: Path, lookaheads_ms: list[int] | None = None) -> list[Path]:
    """Export ``model`` into ``out_dir`` with one ``encoder-la{ms}.onnx`` per lookahead; returns the files written."""
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _prepare(model)
    enc = model.encoder
    by_ms = _contexts(model)
    contexts = list(by_ms.values())
    wanted = sorted(by_ms, reverse=True) if not lookaheads_ms else list(lookaheads_ms)
    missing = [ms for ms in wanted if ms not in by_ms]
    if missing:
        raise SystemExit(f"lookahead(s) {missing} ms not trained; the model has {sorted(by_ms)}")

    written = []
    with torch.no_grad():
        for ms in wanted:
            path = out_dir / f"encoder-la{ms}.onnx"
            name = f"captioner full-size benchmark model, att_context_size {by_ms[ms]}"
            _export_encoder(model, by_ms[ms], path, name)
            written.append(path)
        enc.set_default_att_context_size(contexts[0])
        enc.setup_streaming_params()
        for module, name in ((model.decoder, "decoder.onnx"), (model.joint, "joiner.onnx")):
            module.export(str(out_dir / name))
            written.append(out_dir / name)
    write_tokens(model, out_dir / "tokens.txt")
    written.append(out_dir / "tokens.txt")
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nemo", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--lookahead-ms", type=int, nargs="*", default=None)
    ap.add_argument("--pack", action="store_true",
                    help="sherpa-onnx's published layout: one lookahead, encoder.onnx/decoder.onnx/joiner.onnx")
    ap.add_argument("--int8", choices=INT8_CHOICES, default="no",
                    help="with --pack: also (or only) write *.int8.onnx made by quantize_dynamic(QUInt8)")
    args = ap.parse_args()
    from nemo.collections.asr.models import ASRModel

    model = ASRModel.restore_from(str(args.nemo), map_location="cpu")
    if args.pack:
        if not args.lookahead_ms or len(args.lookahead_ms) != 1:
            raise SystemExit("--pack exports one lookahead: give exactly one --lookahead-ms")
        files = export_pack(model, args.out_dir, args.lookahead_ms[0], args.int8, name=args.nemo.name)
    else:
        files = export_sherpa(model, args.out_dir, args.lookahead_ms)
    for path in files:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
