"""Build the demo model's data: training shards (Ogg Opus), the held-out test set, the tokenizer.

Training audio is packed into long Ogg Opus shards (utterances separated by silence, offsets in a
JSON-lines manifest) because the training machine is reached through a 64 MiB transfer: Opus at
~14 kbit/s carries ~18 h of speech in ~100 MB, and the light codec loss is one more augmentation.
The held-out set stays uncompressed 16 kHz WAV: it is what the WER benchmark feeds the app.
"""

from __future__ import annotations

import json
import random
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from . import corpus, synth, voices

SR = 16000
GAP_S = 0.3
SHARD_UTTERANCES = 500
OPUS_LEVEL = 0.97  # libsndfile compression level -> ~14 kbit/s for 16 kHz speech


def _shard_job(args: tuple[Path, int, list[tuple[str, dict[str, object]]]]) -> list[dict[str, object]]:
    import soundfile as sf

    out_dir, index, items = args
    settings = [(text, voices.VoiceSetting(**v)) for text, v in items]  # type: ignore[arg-type]
    clips = synth.synth_many(settings)
    gap = np.zeros(int(GAP_S * SR), np.float32)
    parts, rows, pos = [gap], [], len(gap)
    name = f"shard_{index:03d}.ogg"
    for (text, v), x in zip(items, clips, strict=True):
        if len(x) < int(0.3 * SR):
            continue
        rows.append({"shard": name, "offset": pos, "length": len(x), "text": text, "voice": v})
        parts += [x, gap]
        pos += len(x) + len(gap)
    sf.write(str(out_dir / name), np.concatenate(parts), SR, format="OGG", subtype="OPUS",
             compression_level=OPUS_LEVEL)
    return rows


def _test_job(args: tuple[Path, int, str, dict[str, object]]) -> dict[str, object]:
    import soundfile as sf

    out_dir, index, text, v = args
    x = synth.synth_many([(text, voices.VoiceSetting(**v))])[0]  # type: ignore[arg-type]
    name = f"test_{index:04d}.wav"
    sf.write(str(out_dir / name), x, SR, subtype="PCM_16")
    return {"audio": name, "text": text, "voice": v, "seconds": round(len(x) / SR, 3)}


def _items(n_train: int, n_test: int, seed: int) -> tuple[list[tuple[str, dict[str, object]]],
                                                            list[tuple[str, dict[str, object]]]]:
    """(sentence, voice setting) pairs for training and for the held-out set, fixed by ``seed``."""
    train_text, test_text = corpus.generate(n_train, n_test, seed)
    r = random.Random(seed + 1)
    train_items = [(t, voices.pick(r, held_out=False).as_dict()) for t in train_text]
    test_items = [(t, voices.pick(r, held_out=True).as_dict()) for t in test_text]
    return train_items, test_items


def build_test(work: Path, n_train: int, n_test: int, seed: int, workers: int = 2) -> dict[str, object]:
    """Write only ``work/test``: the same held-out WAVs that :func:`build` writes, in about a minute.

    Enough to benchmark a bundled model on a fresh machine without synthesising the 19 h of training audio.
    """
    _, test_items = _items(n_train, n_test, seed)
    tests = _write_test(work / "test", test_items, workers)
    return {"test_utterances": len(tests),
            "test_hours": round(sum(float(t["seconds"]) for t in tests) / 3600, 3)}  # type: ignore[arg-type]


def _write_test(test_dir: Path, test_items: list[tuple[str, dict[str, object]]],
                workers: int) -> list[dict[str, object]]:
    test_dir.mkdir(parents=True, exist_ok=True)
    with Pool(workers) as pool:
        tests = pool.map(_test_job, [(test_dir, i, t, v) for i, (t, v) in enumerate(test_items)])
    with open(test_dir / "manifest.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in tests)
    return tests


def build(work: Path, n_train: int, n_test: int, seed: int, workers: int = 2) -> dict[str, object]:
    """Write ``work/train``, ``work/test`` and ``work/tokenizer``; returns a summary."""
    train_dir = work / "train"
    train_dir.mkdir(parents=True, exist_ok=True)
    train_items, test_items = _items(n_train, n_test, seed)
    jobs = [(train_dir, i // SHARD_UTTERANCES, train_items[i: i + SHARD_UTTERANCES])
            for i in range(0, len(train_items), SHARD_UTTERANCES)]
    with Pool(workers) as pool:
        rows = [row for shard in pool.map(_shard_job, jobs) for row in shard]
    tests = _write_test(work / "test", test_items, workers)
    with open(train_dir / "manifest.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)
    train_tokenizer(work / "tokenizer", [t for t, _ in train_items])
    hours = sum(int(row["length"]) for row in rows) / SR / 3600  # type: ignore[call-overload]
    shard_bytes = sum(p.stat().st_size for p in train_dir.glob("shard_*.ogg"))
    return {"train_sentences": len(train_items), "train_utterances": len(rows), "train_hours": round(hours, 2),
            "train_shard_mb": round(shard_bytes / 2**20, 1), "test_utterances": len(tests),
            "test_hours": round(sum(float(t["seconds"]) for t in tests) / 3600, 3)}  # type: ignore[arg-type]


# 1024 like NVIDIA's streaming models: the fast synthetic speech needs 0.31 tokens per 80 ms encoder
# frame (0.44 at p90), sparse enough for CTC (README, *Why the code is as it is*).
VOCAB_SIZE = 1024


def train_tokenizer(out_dir: Path, sentences: list[str]) -> None:
    """SentencePiece BPE on the training sentences only (NeMo reads tokenizer.model + vocab.txt)."""
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    text = out_dir / "text.txt"
    text.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(out_dir / "tokenizer"), vocab_size=VOCAB_SIZE, model_type="bpe",
        character_coverage=1.0, bos_id=-1, eos_id=-1, unk_id=0, num_threads=2, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(out_dir / "tokenizer.model"))
    (out_dir / "vocab.txt").write_text("".join(sp.id_to_piece(i) + "\n" for i in range(sp.get_piece_size())),
                                       encoding="utf-8")
    text.unlink()
