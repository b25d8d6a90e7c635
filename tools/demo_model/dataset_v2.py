"""Build the v2 data: corpus by source, voice plan, Ogg Opus shards, held-out WAVs, tokenizer.

The layout is v1's (``train/manifest.jsonl`` + ``shard_NNN.ogg``, ``test/`` WAVs, ``tokenizer/``), so
train.py reads it unchanged; the dev utterances (the corpus's dev split) are the manifest's last, where
train.py takes them from. A run is resumable: a shard whose ``.ogg`` and ``.jsonl`` are both there is kept,
so an interrupted build (or a larger machine continuing one) only synthesises what is missing.
"""

from __future__ import annotations

import json
import random
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from . import corpus_v2, dataset, synth_v2, voices_v2
from .voices import VoiceSetting

SR = 16000
SHARD_UTTERANCES = 500


def plan(c: corpus_v2.Corpus, seed: int, n_test: int) -> dict[str, list[dict[str, object]]]:
    """A voice setting for every training and dev sentence, and for ``n_test`` test sentences (spread over
    the sources in proportion, the held-out source included)."""
    voices, variants = voices_v2.inventory()
    r = random.Random(seed + 1)
    out: dict[str, list[dict[str, object]]] = {}
    test = list(c.test)
    r.shuffle(test)
    for split, rows, held in (("train", c.train, False), ("dev", c.dev, False), ("test", test[:n_test], True)):
        out[split] = [{"text": t, "speak": v, "source": s, "voice": voices_v2.pick(r, voices, variants, held).as_dict()}
                      for t, v, s in rows]
    return out


def _shard_job(args: tuple[Path, str, list[dict[str, object]]]) -> dict[str, object]:
    import soundfile as sf

    out_dir, name, rows = args
    t0 = time.time()
    clips = synth_v2.synth_many([(str(x["speak"]), VoiceSetting(**x["voice"])) for x in rows])  # type: ignore[arg-type]
    synth_s = time.time() - t0
    gap = np.zeros(int(dataset.GAP_S * SR), np.float32)
    parts, kept, pos = [gap], [], len(gap)
    for x, clip in zip(rows, clips, strict=True):
        if len(clip) < int(0.3 * SR):
            continue
        kept.append({"shard": f"{name}.ogg", "offset": pos, "length": len(clip), "text": x["text"],
                     "source": x["source"], "voice": x["voice"]})
        parts += [clip, gap]
        pos += len(clip) + len(gap)
    sf.write(str(out_dir / f"{name}.ogg"), np.concatenate(parts), SR, format="OGG", subtype="OPUS",
             compression_level=dataset.OPUS_LEVEL)
    (out_dir / f"{name}.jsonl").write_text("".join(json.dumps(k) + "\n" for k in kept), encoding="utf-8")
    audio_s = sum(int(k["length"]) for k in kept) / SR  # type: ignore[call-overload]
    return {"shard": name, "utterances": len(kept), "audio_s": round(audio_s, 1), "synth_s": round(synth_s, 1),
            "wall_s": round(time.time() - t0, 1)}


def _test_job(args: tuple[Path, int, dict[str, object]]) -> dict[str, object]:
    import soundfile as sf

    out_dir, i, x = args
    clip = synth_v2.synth_many([(str(x["speak"]), VoiceSetting(**x["voice"]))])[0]  # type: ignore[arg-type]
    name = f"test_{i:05d}.wav"
    sf.write(str(out_dir / name), clip, SR, subtype="PCM_16")
    return {"audio": name, "text": x["text"], "source": x["source"], "voice": x["voice"],
            "seconds": round(len(clip) / SR, 3)}


def shard_jobs(train_dir: Path, rows: list[dict[str, object]], prefix: str) -> list[tuple[Path, str, list]]:
    """Jobs for the shards not yet written (``.ogg`` and ``.jsonl`` both present = done)."""
    jobs = []
    for k in range(0, len(rows), SHARD_UTTERANCES):
        name = f"{prefix}_{k // SHARD_UTTERANCES:04d}"
        if not ((train_dir / f"{name}.ogg").exists() and (train_dir / f"{name}.jsonl").exists()):
            jobs.append((train_dir, name, rows[k: k + SHARD_UTTERANCES]))
    return jobs


def build(work: Path, n_train: int, n_test: int, seed: int, workers: int = 2) -> dict[str, object]:
    """Write corpus/, plan.json, train/ (shards and manifest), test/ and tokenizer/ under ``work``."""
    timings: dict[str, float] = {}
    t = time.time()
    work.mkdir(parents=True, exist_ok=True)
    plan_file = work / "plan.json"
    if plan_file.exists():
        p = json.loads(plan_file.read_text(encoding="utf-8"))
        stats = json.loads((work / "corpus" / "stats.json").read_text(encoding="utf-8"))
    else:
        c = corpus_v2.build(n_train, seed)
        timings["corpus_s"] = round(time.time() - t, 1)
        (work / "corpus").mkdir(exist_ok=True)
        for split in ("train", "dev", "test"):
            (work / "corpus" / f"{split}.tsv").write_text(
                "".join(f"{s}\t{tr}\n" for tr, _, s in getattr(c, split)), encoding="utf-8")
        stats = c.stats()
        (work / "corpus" / "stats.json").write_text(json.dumps(stats, indent=1), encoding="utf-8")
        t = time.time()
        p = plan(c, seed, n_test)
        plan_file.write_text(json.dumps(p), encoding="utf-8")
        timings["plan_s"] = round(time.time() - t, 1)
    train_dir = work / "train"
    train_dir.mkdir(exist_ok=True)
    jobs = shard_jobs(train_dir, p["train"], "shard") + shard_jobs(train_dir, p["dev"], "zdev")
    t = time.time()
    with Pool(workers) as pool:
        done = pool.map(_shard_job, jobs)
    timings["shards_s"] = round(time.time() - t, 1)
    names = sorted(f.stem for f in train_dir.glob("*.jsonl") if f.stem.startswith(("shard_", "zdev_")))
    rows = [line for n in names for line in (train_dir / f"{n}.jsonl").read_text(encoding="utf-8").splitlines()]
    (train_dir / "manifest.jsonl").write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    t = time.time()
    test_dir = work / "test"
    test_dir.mkdir(exist_ok=True)
    if not (test_dir / "manifest.jsonl").exists():
        with Pool(workers) as pool:
            tests = pool.map(_test_job, [(test_dir, i, x) for i, x in enumerate(p["test"])])
        (test_dir / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in tests), encoding="utf-8")
    tests = [json.loads(line) for line in (test_dir / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    timings["test_s"] = round(time.time() - t, 1)
    t = time.time()
    dataset.train_tokenizer(work / "tokenizer", [str(x["text"]) for x in p["train"]])
    timings["tokenizer_s"] = round(time.time() - t, 1)
    audio = sum(json.loads(r)["length"] for r in rows) / SR
    per_engine: dict[str, float] = {}
    for r in rows:
        row = json.loads(r)
        per_engine[row["voice"]["engine"]] = per_engine.get(row["voice"]["engine"], 0.0) + row["length"] / SR / 3600
    return {"train_sentences": len(p["train"]), "dev_sentences": len(p["dev"]), "manifest_utterances": len(rows),
            "train_hours": round(audio / 3600, 3), "hours_by_engine": {k: round(v, 3) for k, v in per_engine.items()},
            "shard_mb": round(sum(f.stat().st_size for f in train_dir.glob("*.ogg")) / 2**20, 1),
            "shards_written_now": done, "test_utterances": len(tests),
            "test_hours": round(sum(float(x["seconds"]) for x in tests) / 3600, 3),
            "corpus": stats, "timings": timings}
