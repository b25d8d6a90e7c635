#!/usr/bin/env python
"""Make Captioner's bundled demo model, start to finish (train and export need the [export] extra).

    python -m tools.make_demo_model all          # data, train, export, benchmark
    python -m tools.make_demo_model data         # corpus + speech + tokenizer
    python -m tools.make_demo_model train [--resume] [--fit-minutes 15]
    python -m tools.make_demo_model export       # weights -> models/captioner-demo-en
    python -m tools.make_demo_model testset      # only the held-out set (12 s), for bench on a fresh machine
    python -m tools.make_demo_model bench        # the WER table (benchmarks/demo_model_wer.py)
    python -m tools.make_demo_model export --model-dir work-tmp/m   # a run exported elsewhere than models/,
    python -m tools.make_demo_model bench --model-dir work-tmp/m    # then measured there
    python -m tools.make_demo_model data --recipe v2 [--sentences N]  # v2 data (README, *Demo model v2*)
    python -m tools.make_demo_model train --recipe v2 --run DIR       # train on it (NeMo venv)

Results, data, licences and the state of the model: ``tools/demo_model/README.md``.

Steps (work files under ``work-tmp/demo-model/``, git-ignored):

1. ``data``: 20,000 training + 420 held-out sentences (``tools/demo_model/corpus.py``), spoken by
   espeak-ng, MBROLA, flite and festival voices (``voices.py``; held-out sentences use voice
   settings never used in training), packed as Ogg Opus shards; a 1024-piece SentencePiece BPE
   tokenizer trained on the training sentences. Needs the Debian packages listed in
   ``tools/demo_model/README.md``.
2. ``train``: ``tools/demo_model/train.py`` (GPU when there is one, else CPU; resumable).
3. ``export``: the trained weights into NeMo's ``EncDecHybridRNNTCTCBPEModel``, then
   ``captioner export`` (all four lookaheads, both decoders, weights rounded to float16 so
   that the folder fits in 30 MB, verified token for token against NeMo's own streaming of
   the rounded model) into ``models/captioner-demo-en``. ``--weights float32`` keeps them exact.
4. ``bench``: ``benchmarks/demo_model_wer.py`` on the held-out set.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORK = ROOT / "work-tmp" / "demo-model"
DATA = WORK / "data"
RUN = WORK / "run"
MODEL_DIR = ROOT / "models" / "captioner-demo-en"
N_TRAIN, N_TEST, SEED = 20000, 420, 20261125
DATA_V2 = ROOT / "work-tmp" / "demo-model-v2" / "data"
N_TRAIN_V2, N_TEST_V2, SEED_V2 = 200000, 1200, 20261201


def step_data_v2(workers: int, sentences: int, test_sentences: int) -> None:
    from tools.demo_model import dataset_v2

    t = time.time()
    summary = dataset_v2.build(DATA_V2, sentences, test_sentences, SEED_V2, workers=workers)
    summary["wall_s"] = round(time.time() - t, 1)
    (DATA_V2 / f"summary-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(summary, indent=1),
                                                                           encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "corpus"}, indent=1))


def step_data(workers: int) -> None:
    from tools.demo_model import dataset

    t = time.time()
    summary = dataset.build(DATA, N_TRAIN, N_TEST, SEED, workers=workers)
    summary["wall_s"] = round(time.time() - t, 1)
    (DATA / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary))


def step_tokenizer() -> None:
    """Only the tokenizer again, from the training manifest (after a change of ``VOCAB_SIZE``)."""
    from tools.demo_model import dataset

    rows = [json.loads(line) for line in (DATA / "train" / "manifest.jsonl").read_text().splitlines()]
    dataset.train_tokenizer(DATA / "tokenizer", [row["text"] for row in rows])
    print(f"tokenizer: {dataset.VOCAB_SIZE} pieces in {DATA / 'tokenizer'}")


def step_testset(workers: int) -> None:
    from tools.demo_model import dataset

    t = time.time()
    summary = dataset.build_test(DATA, N_TRAIN, N_TEST, SEED, workers=workers)
    print(json.dumps({**summary, "wall_s": round(time.time() - t, 1)}))


def step_train(run: Path, extra: list[str]) -> None:
    cmd = [sys.executable, "-m", "tools.demo_model.train", "--data", str(DATA), "--out", str(run), *extra]
    subprocess.run(cmd, check=True, cwd=ROOT)


def step_export(run: Path, model_dir: Path, weights: str) -> None:
    import torch

    from captioner.export.nemo_export import export_model
    from tools.demo_model.train import build_model

    info = json.loads((run / "train.json").read_text(encoding="utf-8"))
    model = build_model(DATA / "tokenizer", info["hparams"])
    model.load_state_dict(torch.load(run / "weights.pt", map_location="cpu", weights_only=True))
    model.eval()
    model.save_to(str(WORK / "captioner-demo-en.nemo"))
    if model_dir.exists():
        keep = model_dir / "README.md"
        readme = keep.read_text(encoding="utf-8") if keep.exists() else None
        shutil.rmtree(model_dir)
        model_dir.mkdir(parents=True)
        if readme is not None:
            keep.write_text(readme, encoding="utf-8")
    spec = export_model(model, model_dir, decoders="both", verify=True, name="captioner-demo-en", weights=weights)
    size = sum(p.stat().st_size for p in model_dir.iterdir())
    train_info = {k: info[k] for k in ("params", "steps", "train_wall_s", "gpu", "device", "torch", "train_hours",
                                       "train_utterances") if k in info}
    (model_dir / "training.json").write_text(json.dumps({**train_info, "hparams": info["hparams"],
                                                         "data": json.loads((DATA / "summary.json").read_text())},
                                                        indent=1) + "\n", encoding="utf-8")
    print(f"exported {spec.name}: lookaheads {spec.lookaheads_ms()} ms, {weights} weights, {size / 1e6:.1f} MB "
          f"({size / 2**20:.1f} MiB) in {model_dir}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["all", "data", "tokenizer", "testset", "train", "export", "bench"])
    ap.add_argument("--workers", type=int, default=2, help="synthesis processes")
    ap.add_argument("--run", type=Path, default=RUN, help="the training run's folder (train, export)")
    ap.add_argument("--model-dir", type=Path, default=MODEL_DIR,
                    help="where export writes the model and bench reads it (another folder measures a run "
                         "without replacing the bundled model)")
    ap.add_argument("--weights", choices=["float16", "float32"], default="float16",
                    help="export: how the weights are stored (float16 halves the folder; see captioner export)")
    ap.add_argument("--recipe", choices=["v1", "v2"], default="v1",
                    help="v1: the shipped model's data; v2: the larger corpus and voices (data, train)")
    ap.add_argument("--sentences", type=int, default=N_TRAIN_V2, help="v2: training sentences")
    ap.add_argument("--test-sentences", type=int, default=N_TEST_V2, help="v2: held-out utterances to synthesise")
    args, extra = ap.parse_known_args()
    if args.recipe == "v2":
        if args.step == "data":
            step_data_v2(args.workers, args.sentences, args.test_sentences)
        elif args.step == "train":
            subprocess.run([sys.executable, "-m", "tools.demo_model.train", "--data", str(DATA_V2), "--out",
                            str(args.run), *extra], check=True, cwd=ROOT)
        else:
            ap.error("--recipe v2 has the steps data and train so far")
        return 0
    if args.step in ("all", "data"):
        step_data(args.workers)
    if args.step == "tokenizer":
        step_tokenizer()
    if args.step == "testset":
        step_testset(args.workers)
    if args.step in ("all", "train"):
        step_train(args.run, extra)
    if args.step in ("all", "export"):
        step_export(args.run, args.model_dir, args.weights)
    if args.step in ("all", "bench"):
        subprocess.run([sys.executable, "-m", "benchmarks.demo_model_wer", "--test", str(DATA / "test"),
                        "--model", str(args.model_dir)],
                       check=True, cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
