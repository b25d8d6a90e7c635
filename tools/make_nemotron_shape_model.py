#!/usr/bin/env python
"""Build a random-weight NeMo model with Nemotron Speech Streaming's shape, for import and speed benchmarks.

``nvidia/nemotron-speech-streaming-en-0.6b`` is an ``EncDecRNNTBPEModel``: a 24-layer cache-aware
FastConformer with d_model 1024 and 8 heads, causal dw_striding x8 subsampling, 128 mel features with
``normalize: NA``, a 2-layer LSTM prediction network of 640 and a joint of 640, a BPE vocabulary of
1024, and att_context_size [70, 0 / 1 / 6 / 13] (chunks of 80 / 160 / 560 / 1120 ms). Its weights live
on a hub this machine cannot reach; a model of the same shape with seeded random weights costs the same
to import and to run. Not committed (about 2.4 GB): written to ``models/nemotron-shape/`` (git-ignored).

Run (needs NeMo; ~5 min and ~8 GB of memory on 2 cores)::

    python -m tools.make_nemotron_shape_model   # in a venv with NeMo: pip install torch==2.13.0 "nemo-toolkit[asr]"
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from tools.make_fullsize_model import SHAPE, train_tokenizer
from tools.nemo_config_builder import fastconformer_config

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "models" / "nemotron-shape"
SEED = 20261202
ATT_CONTEXT = [[70, 13], [70, 6], [70, 1], [70, 0]]


def nemotron_config(tokenizer_dir: Path) -> object:
    """The full-size model's config grown to Nemotron's shape: 24 x 1024, 128 mels, 2-layer LSTM, RNNT only."""
    from omegaconf import OmegaConf

    return OmegaConf.create(fastconformer_config(
        tokenizer_dir, **{**SHAPE, "n_layers": 24, "d_model": 1024, "n_heads": 8, "att_context_size": ATT_CONTEXT},
        n_mels=128, pred_rnn_layers=2, ctc_loss_weight=None))


def main() -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    import torch
    from nemo.collections.asr.models import EncDecRNNTBPEModel

    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tokenizer = train_tokenizer(OUT / "tokenizer", SEED)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)
    model = EncDecRNNTBPEModel(cfg=nemotron_config(tokenizer))
    model.eval()
    nemo_path = OUT / "nemotron-shape.nemo"
    model.save_to(str(nemo_path))
    info = {
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "nemo_bytes": nemo_path.stat().st_size,
        "build_s": round(time.perf_counter() - started, 1),
    }
    (OUT / "build.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
