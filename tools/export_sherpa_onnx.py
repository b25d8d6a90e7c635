#!/usr/bin/env python
"""Export a NeMo cache-aware hybrid RNNT+CTC model for sherpa-onnx's ``OnlineTransducerNeMoModel``.

This does what sherpa-onnx's ``scripts/nemo/fast-conformer-hybrid-transducer-ctc/export-onnx-transducer.py``
does (our own code, same result): the encoder, the RNNT prediction network ("decoder") and the joint
("joiner") are exported as three separate graphs with cache support on, and the encoder carries the
metadata sherpa-onnx reads (``vocab_size`` without blank, ``window_size`` = chunk + pre-encode cache
frames, ``chunk_shift``, ``cache_last_channel_dim1..3``, ``cache_last_time_dim1..3``, ``pred_rnn_layers``,
``pred_hidden``, ``subsampling_factor``, ``normalize_type``, ``model_type`` = EncDecHybridRNNTCTCBPEModel, ...).
``tokens.txt`` lists ``piece id`` lines with ``<blk>`` last.

sherpa-onnx's script exports one checkpoint per latency (the 80/480/1040 ms models); for a multi-lookahead
model we export one encoder per lookahead with ``encoder.set_default_att_context_size([left, r])``.
The decoder and joiner do not depend on the lookahead and are written once.

Layout of ``OUT_DIR``::

    encoder-la{ms}.onnx   one per lookahead (metadata inside)
    decoder.onnx          RNNT prediction network
    joiner.onnx           RNNT joint
    tokens.txt

Run::

    /work/venvs/nemo/bin/python tools/export_sherpa_onnx.py MODEL.nemo OUT_DIR [--lookahead-ms 80 ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


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
    return {
        "vocab_size": model.decoder.vocab_size,
        "window_size": chunk_size + pre_encode_cache_size,
        "chunk_shift": chunk_size,
        "normalize_type": "None",
        "cache_last_channel_dim1": len(enc.layers),
        "cache_last_channel_dim2": cfg.last_channel_cache_size,
        "cache_last_channel_dim3": enc.d_model,
        "cache_last_time_dim1": len(enc.layers),
        "cache_last_time_dim2": enc.d_model,
        "cache_last_time_dim3": enc.conv_context_size[0],
        "pred_rnn_layers": model.decoder.pred_rnn_layers,
        "pred_hidden": model.decoder.pred_hidden,
        "subsampling_factor": enc.subsampling_factor,
        "model_type": "EncDecHybridRNNTCTCBPEModel",
        "version": "1",
        "model_author": "NeMo",
        "url": name,
        "comment": "Only the transducer branch is exported",
    }


def export_sherpa(model: Any, out_dir: Path, lookaheads_ms: list[int] | None = None) -> list[Path]:
    """Export ``model`` (an ``EncDecHybridRNNTCTCBPEModel``) into ``out_dir``; returns the files written."""
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.change_decoding_strategy(decoder_type="rnnt", verbose=False)
    enc = model.encoder
    frame_ms = 10 * enc.subsampling_factor  # 10 ms feature hop
    contexts = [list(c) for c in enc.att_context_size_all] if hasattr(enc, "att_context_size_all") else [
        list(enc.att_context_size)]
    by_ms = {int(c[1]) * frame_ms: c for c in contexts}
    wanted = sorted(by_ms, reverse=True) if not lookaheads_ms else list(lookaheads_ms)
    missing = [ms for ms in wanted if ms not in by_ms]
    if missing:
        raise SystemExit(f"lookahead(s) {missing} ms not trained; the model has {sorted(by_ms)}")

    written = []
    model.set_export_config({"decoder_type": "rnnt", "cache_support": True})
    with torch.no_grad():
        for ms in wanted:
            enc.set_default_att_context_size(by_ms[ms])
            enc.setup_streaming_params()
            path = out_dir / f"encoder-la{ms}.onnx"
            enc.export(str(path))
            name = f"captioner full-size benchmark model, att_context_size {by_ms[ms]}"
            add_meta_data(path, encoder_meta(model, name))
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
    args = ap.parse_args()
    from nemo.collections.asr.models import ASRModel

    model = ASRModel.restore_from(str(args.nemo), map_location="cpu")
    for path in export_sherpa(model, args.out_dir, args.lookahead_ms):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
