"""The demo-model recipe's data side (``tools/demo_model``), checked without NeMo or a GPU.

Training needs NeMo and takes a GPU; what can silently ruin a model before training starts is
checked here: the corpus and its held-out split, the held-out voice settings, and that every
training utterance sits exactly where the manifest says in its Opus shard.
"""

from __future__ import annotations

import io
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from tools.demo_model import corpus, dataset, voices

ROOT = Path(__file__).resolve().parents[2]

SEED = 20261125


def test_corpus_is_large_distinct_disjoint_and_reproducible() -> None:
    train, test = corpus.generate(20000, 420, SEED)
    assert len(set(train)) == 20000 and len(set(test)) == 420
    assert not set(train) & set(test)
    assert (train, test) == corpus.generate(20000, 420, SEED)
    assert corpus.generate(200, 20, SEED + 1) != corpus.generate(200, 20, SEED)
    for s in train[:2000] + test:
        assert s == corpus.normalize(s), "sentences are already in the form the tokenizer and WER use"
        assert not any(ch.isdigit() for ch in s), "numbers are spelled out as they are spoken"


@pytest.mark.parametrize(("n", "words"), [(7, "seven"), (40, "forty"), (312, "three hundred twelve"),
                                          (5000, "five thousand"), (21017, "twenty one thousand seventeen")])
def test_numbers_are_spelled_as_spoken(n: int, words: str) -> None:
    assert corpus.number_words(n) == words


def test_held_out_voice_settings_never_occur_in_training() -> None:
    import random

    r = random.Random(1)
    train = {voices.pick(r, held_out=False) for _ in range(20000)}
    test = {voices.pick(r, held_out=True) for _ in range(3000)}
    assert not train & test
    # ... yet every held-out voice itself is heard in training (only its settings are new)
    assert {(v.engine, v.voice) for v in test} <= {(v.engine, v.voice) for v in train}
    assert {v.engine for v in test} == {"espeak", "mbrola", "flite", "festival"}


def test_test_set_items_are_the_ones_the_full_build_makes() -> None:
    # build_test() must reproduce build()'s held-out set without synthesising the training audio
    train_items, test_items = dataset._items(2000, 100, SEED)
    again_train, again_test = dataset._items(2000, 100, SEED)
    assert test_items == again_test and train_items == again_train
    assert not {t for t, _ in train_items} & {t for t, _ in test_items}


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_every_utterance_is_where_the_manifest_says_in_its_opus_shard(tmp_path: Path) -> None:
    import soundfile as sf

    from tools.demo_model import synth

    train, _ = corpus.generate(12, 1, SEED)
    settings = [voices.VoiceSetting("espeak", "en-us", "", rate, 50) for rate in (140, 175, 210)]
    items = [(text, asdict(settings[i % 3])) for i, text in enumerate(train)]
    rows = dataset._shard_job((tmp_path, 0, items))
    assert len(rows) == len(items)
    shard, rate = sf.read(str(tmp_path / rows[0]["shard"]), dtype="float32")
    assert rate == dataset.SR
    clips = synth.synth_many([(t, voices.VoiceSetting(**v)) for t, v in items])  # type: ignore[arg-type]
    for row, clip in zip(rows, clips, strict=True):
        start, length = int(row["offset"]), int(row["length"])
        assert length == len(clip)
        seg = shard[start: start + length]
        corr = float(np.dot(seg, clip) / (np.linalg.norm(seg) * np.linalg.norm(clip)))
        assert corr > 0.9, (row["text"], corr)  # Opus at ~14 kbit/s keeps the waveform this close
        # and one gap (0.3 s) earlier or later it would be silence or the neighbour
        early = shard[max(0, start - 4800): max(0, start - 4800) + length]
        if len(early) == length:
            assert float(np.dot(early, clip) / (np.linalg.norm(early) * np.linalg.norm(clip) + 1e-9)) < 0.5


@pytest.mark.parametrize(("word", "plural"), [("dog", "dogs"), ("fox", "foxes"), ("party", "parties"),
                                              ("day", "days"), ("mouse", "mice"), ("sheep", "sheep")])
def test_plurals(word: str, plural: str) -> None:
    assert corpus._pl(word) == plural


def test_streams_are_runs_of_consecutive_utterances_that_fit() -> None:
    import random

    from tools.demo_model.streams import group_streams, stream_length

    rng = random.Random(3)
    lengths = [rng.randint(16000, 80000) for _ in range(500)]
    pause = 12800
    streams = group_streams(lengths, random.Random(5), max_samples=320000, max_utterances=4, pause_samples=pause)
    assert streams and all(2 <= len(s) <= 4 for s in streams)
    assert all(s == list(range(s[0], s[0] + len(s))) for s in streams), "consecutive utterances"
    assert all(stream_length(lengths, s, pause) <= 320000 for s in streams)
    flat = [i for s in streams for i in s]
    assert len(flat) == len(set(flat)), "each utterance in one stream at most"
    assert len(flat) > 0.8 * len(lengths)
    assert {len(s) for s in streams} == {2, 3, 4}


def test_a_stream_is_its_utterances_with_pauses_between() -> None:
    from tools.demo_model.streams import join_stream

    clips = [np.full(1600, k + 1, np.float32) for k in range(3)]
    x = join_stream(clips, np.random.default_rng(0), (0.1, 0.2), 16000)
    assert x[0] == 1 and x[-1] == 3
    voiced = x[x != 0]
    assert list(voiced) == [1.0] * 1600 + [2.0] * 1600 + [3.0] * 1600, "in order, untouched"
    gaps = len(x) - 4800
    assert 2 * 1600 <= gaps <= 2 * 3200


def test_stream_tokens_are_the_concatenated_utterance_tokens(tmp_path: Path) -> None:
    """SentencePiece pieces never span a space: a stream's ids are its sentences' ids in a row."""
    import sentencepiece as spm

    train, _ = corpus.generate(3000, 1, SEED)
    dataset.train_tokenizer(tmp_path, train)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "tokenizer.model"))
    for a, b in zip(train[:200], train[200:400], strict=True):
        assert sp.encode(a + " " + b) == sp.encode(a) + sp.encode(b)


def test_extended_training_runs_a_second_cosine_after_the_first() -> None:
    from tools.demo_model.train import HPARAMS, lr_at

    h = dict(HPARAMS)
    first = 4000
    assert lr_at(first - 1, h, first) == pytest.approx(h["min_lr"], rel=1e-3)  # the first schedule ended
    h["extend"] = {"from_step": first, "steps": 2000, "peak_lr": h["peak_lr"] / 4, "warmup_steps": 200}
    assert lr_at(first, h, first + 2000) < h["peak_lr"] / 4 / 100  # warms up again from near zero
    assert lr_at(first + 199, h, first + 2000) == pytest.approx(h["peak_lr"] / 4)
    assert lr_at(first + 1999, h, first + 2000) == pytest.approx(h["min_lr"], rel=1e-2)
    assert lr_at(100, h, first) == lr_at(100, dict(HPARAMS), first), "steps before the extension are unchanged"


def test_a_fitted_schedule_ends_when_the_time_runs_out() -> None:
    from tools.demo_model.train import HPARAMS, fit_max_steps

    h = dict(HPARAMS)
    assert fit_max_steps(h, 130, 0, 0.5, 1000.0) == 130 + 1900, "a new run: 95 % of what is left"
    h["extend"] = {"from_step": 4000, "steps": 99999, "peak_lr": 5e-4, "warmup_steps": 200}
    assert fit_max_steps(h, 4130, 4000, 0.5, 1000.0) == 4130 + 1900
    assert h["extend"]["steps"] == 130 + 1900, "the extension this process started is fitted"
    assert h["extend"]["warmup_steps"] == 200
    h["extend"] = {"from_step": 4000, "steps": 99999, "peak_lr": 5e-4, "warmup_steps": 200}
    fit_max_steps(h, 4130, 4000, 0.5, 60.0)
    assert h["extend"]["steps"] == 130 + 114 and h["extend"]["warmup_steps"] == 122, "warm-up at most half of it"
    h["extend"] = {"from_step": 3000, "steps": 500, "peak_lr": 5e-4, "warmup_steps": 50}
    fit_max_steps(h, 4130, 4000, 0.5, 1000.0)
    assert h["extend"]["steps"] == 500, "an extension from an earlier process keeps its length"


def test_a_resumed_run_keeps_its_schedule_unless_told_otherwise(tmp_path: Path) -> None:
    import json

    from tools.demo_model.train import DEFAULT_MAX_STEPS, HPARAMS, recorded_max_steps, schedule_end

    h = {**HPARAMS, "max_steps": 3000}
    assert schedule_end(h, None, None) == 3000, "no --max-steps: the run's own schedule, not the default"
    assert schedule_end(h, 4500, None) == 4500, "an explicit --max-steps changes it"
    old = dict(HPARAMS)  # a checkpoint from before the schedule was kept in it: train.json's figure
    assert recorded_max_steps(tmp_path) is None
    (tmp_path / "train.json").write_text(json.dumps({"max_steps": 3000, "steps": 512}), encoding="utf-8")
    assert schedule_end(old, None, recorded_max_steps(tmp_path)) == 3000
    assert schedule_end(old, None, None) == DEFAULT_MAX_STEPS
    fitted = {**h, "fitted_max_steps": {"seconds_per_step": 0.2, "max_steps": 2363}}
    assert schedule_end(fitted, None, None) == 2363
    extended = {**h, "extend": {"from_step": 3000, "steps": 800, "peak_lr": 5e-4, "warmup_steps": 80}}
    assert schedule_end(extended, 9999, None) == 3800, "an extension defines its own end"


def test_a_first_stop_signal_is_recorded_and_a_second_acts_at_once() -> None:
    import os
    import signal

    from tools.demo_model.stop import StopRequest

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stop = StopRequest()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # Python runs the handler before the next line
        assert stop.requested == "SIGTERM", "the run is still alive and knows it should stop"
        assert {s: signal.getsignal(s) for s in before} == before, "a second signal gets the usual handling"
    finally:
        stop.restore()


def test_a_loader_worker_outlives_the_terminals_ctrl_c() -> None:
    import subprocess

    code = ("import os, signal, time; "
            "from tools.demo_model.stop import ignore_interrupts_in_worker; ignore_interrupts_in_worker(0); "
            "os.kill(os.getpid(), signal.SIGINT); time.sleep(0.2); print('alive')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "alive", done.stderr


def test_a_large_batch_is_computed_in_parts_that_hold_every_clip_once() -> None:
    from tools.demo_model.train import micro_batches

    lengths = [5, 1, 9, 3, 3, 8, 2, 7]
    groups = micro_batches(lengths, 10)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert all(len(g) * max(lengths[i] for i in g) <= 10 for g in groups)
    assert [lengths[i] for g in groups for i in g] == sorted(lengths), "by length, so little padding"
    assert micro_batches([30, 4], 10) == [[1], [0]], "a clip longer than a part is a part of its own"


def test_the_parts_of_a_batch_give_the_whole_batch_gradient() -> None:
    """Every loss is a mean over the clips: parts weighted by their share of the clips add up to the
    same gradient. Needs torch (not installed in CI)."""
    torch = pytest.importorskip("torch")
    from tools.demo_model.train import split_batch

    torch.manual_seed(0)
    audio_len = torch.tensor([7, 3, 5, 2, 6])
    audio = torch.randn(5, 7) * (torch.arange(7) < audio_len[:, None])
    target_len = torch.tensor([2, 1, 3, 1, 2])
    targets = torch.randint(1, 9, (5, 3)) * (torch.arange(3) < target_len[:, None])
    chars = [[k] * (k + 1) for k in range(5)]
    w = torch.randn(7, requires_grad=True)

    def mean_loss(a, a_len, t, t_len, c):  # type: ignore[no-untyped-def]
        per_clip = [(a[i, : int(a_len[i])] * w[: int(a_len[i])]).sum() ** 2 + t[i, : int(t_len[i])].sum() * len(c[i])
                     for i in range(len(c))]
        return torch.stack(per_clip).mean()

    mean_loss(audio, audio_len, targets, target_len, chars).backward()
    whole = w.grad.clone()
    w.grad = None
    parts = split_batch(audio, audio_len, targets, target_len, chars, 12)
    assert len(parts) > 1 and sum(share for _, share in parts) == pytest.approx(1.0)
    total = 0.0
    for part, share in parts:
        assert part[0].shape[1] == int(part[1].max()), "each part trimmed to its longest clip"
        loss = mean_loss(*part)
        (loss * share).backward()
        total += share * float(loss)
    torch.testing.assert_close(w.grad, whole)
    assert total == pytest.approx(float(mean_loss(audio, audio_len, targets, target_len, chars)))
    assert split_batch(audio, audio_len, targets, target_len, chars, None)[0][1] == 1.0


def _naive_rnnt_nll(lp, targets, t_len, u_len, blank):  # type: ignore[no-untyped-def]
    """The transducer forward algorithm as written in Graves (2012), one cell at a time."""
    import torch

    alpha = {(0, 0): torch.zeros((), dtype=lp.dtype)}
    for t in range(t_len):
        for u in range(u_len + 1):
            if t == u == 0:
                continue
            terms = []
            if t > 0:
                terms.append(alpha[(t - 1, u)] + lp[t - 1, u, blank])
            if u > 0:
                terms.append(alpha[(t, u - 1)] + lp[t, u - 1, int(targets[u - 1])])
            alpha[(t, u)] = torch.logsumexp(torch.stack(terms), 0)
    return -(alpha[(t_len - 1, u_len)] + lp[t_len - 1, u_len, blank])


def test_cpu_rnnt_loss_is_the_transducer_loss() -> None:
    """tools/demo_model/rnnt_loss.py (the fast CPU loss) against the textbook recursion: values and
    gradients, with ragged lengths and an empty transcript. Needs torch (not installed in CI)."""
    torch = pytest.importorskip("torch")
    from tools.demo_model.rnnt_loss import rnnt_loss

    torch.manual_seed(0)
    b, t_max, u_max, v = 4, 9, 5, 7
    logits = torch.randn(b, t_max, u_max + 1, v, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, v - 1, (b, u_max))
    t_len, u_len = torch.tensor([9, 6, 9, 3]), torch.tensor([5, 3, 0, 2])
    fast = rnnt_loss(logits, targets, t_len, u_len, blank=v - 1)
    (grad_fast,) = torch.autograd.grad(fast, logits)
    lp = torch.log_softmax(logits, -1)
    slow = torch.stack([_naive_rnnt_nll(lp[i], targets[i], int(t_len[i]), int(u_len[i]), v - 1)
                        for i in range(b)]).mean()
    (grad_slow,) = torch.autograd.grad(slow, logits)
    assert float(fast) == pytest.approx(float(slow), rel=1e-5)
    assert torch.allclose(grad_fast.double(), grad_slow, atol=1e-5)
    assert float(grad_fast[3, 3:].abs().sum()) == 0.0, "frames past an utterance's end get no gradient"


def test_every_corpus_character_has_a_class_in_the_character_head() -> None:
    from tools.demo_model.char_ctc import ALPHABET, char_ids

    train, test = corpus.generate(20000, 420, SEED)
    assert set("".join(train + test)) <= set(ALPHABET)
    assert char_ids("it's ok") == [ALPHABET.index(c) + 1 for c in "it's ok"], "0 is CTC's blank"


def test_a_stream_item_carries_its_sentences_characters_with_a_space_between() -> None:
    from tools.demo_model.char_ctc import char_ids
    from tools.demo_model.train import TrainSet

    clips = [np.full(800 * (k + 1), 0.1, np.float32) for k in range(3)]
    texts = ["so it is", "ok then", "fine"]
    items = [[0], [1, 2]]
    ds = TrainSet(clips, [[1], [2, 3], [4]], [char_ids(t) for t in texts], items, None, 7, (0.1, 0.2))
    audio, tokens, chars = ds[(1, 0)]
    assert tokens == [2, 3, 4] and chars == char_ids("ok then fine")
    assert ds[(0, 0)][2] == char_ids("so it is")
    assert len(audio) > len(clips[1]) + len(clips[2]), "a pause between the two"


def test_items_of_the_clean_first_steps_are_not_augmented() -> None:
    """Augmentation from step 0 kept the H100 run on CTC's blank plateau: until the dev CTC WER says the
    encoder has left it, items are the utterances as synthesised, later ones augmented (here: faster
    and noisy). ``main`` sets the dataset's ``clean_steps`` to the step the switch happened at."""
    from tools.demo_model.train import HPARAMS, Augmenter, TrainSet

    clips = [(0.3 * np.sin(np.arange(16000) / 7.0)).astype(np.float32)]
    aug = Augmenter({**HPARAMS["augment"], "speed": [1.1], "noise_p": 1.0}, clips)
    ds = TrainSet(clips, [[1]], [[2]], [[0]], aug, 7, (0.1, 0.2), clean_steps=10)
    for step in (0, 9):
        np.testing.assert_array_equal(ds[(0, step)][0], clips[0])
    augmented = ds[(0, 10)][0]
    assert abs(len(augmented) - len(clips[0]) / 1.1) < 2, "sped up from the first step after the clean phase"


def test_augmentation_starts_once_the_dev_ctc_wer_says_the_encoder_learned() -> None:
    from tools.demo_model.train import PROFILES, initial_augment_from_step, starts_augmenting

    for profile in PROFILES.values():
        h = dict(profile)
        assert initial_augment_from_step(h) is None, "a new run starts clean"
        h["augment_from_step"] = None
        assert not starts_augmenting(h, 0.9) and not starts_augmenting(h, h["augment_below_dev_ctc_wer"])
        assert starts_augmenting(h, h["augment_below_dev_ctc_wer"] - 0.01)
        h["augment_from_step"] = 1500
        assert initial_augment_from_step(h) == 1500, "a resumed run keeps its switch"
        assert not starts_augmenting(h, 0.1), "the switch happens once"
    old = {k: v for k, v in PROFILES["cpu"].items() if k != "augment_below_dev_ctc_wer"}
    assert initial_augment_from_step(old) == 0, "runs from before the clean start stay augmented throughout"


def _tiny_encoder_front(torch):  # type: ignore[no-untyped-def]
    """The attribute path NeMo's FastConformer has: encoder.pre_encode.conv[0] (1 -> C channels)."""
    nn = torch.nn
    pre = nn.Module()
    pre.conv = nn.Sequential(nn.Conv2d(1, 6, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, stride=2))
    encoder = nn.Module()
    encoder.pre_encode = pre
    model = nn.Module()
    model.encoder = encoder
    return model


def test_input_normalisation_is_a_first_convolution_that_folds_exactly() -> None:
    """Trained as (mel - mean) / std inside the first convolution, exported as a plain convolution:
    the folded weights compute the same function everywhere, the zero-padded edges included.
    Needs torch (not installed in CI)."""
    torch = pytest.importorskip("torch")
    from tools.demo_model.char_ctc import folded_state_dict, normalize_first_conv

    torch.manual_seed(0)
    mean, std = -10.0, 4.0
    trained = _tiny_encoder_front(torch)
    normalize_first_conv(trained, mean, std)
    mel = mean + std * torch.randn(2, 1, 40, 80)  # log-mel-like: about -10, spread 4
    conv = trained.encoder.pre_encode.conv
    out = conv(mel)
    # away from the zero padding it is the plain convolution of the normalised features
    plain = _tiny_encoder_front(torch).encoder.pre_encode.conv[0]
    plain.load_state_dict(conv[0].state_dict())
    assert torch.allclose(conv[0](mel)[:, :, 1:-1, 1:-1], plain((mel - mean) / std)[:, :, 1:-1, 1:-1], atol=1e-4)

    exported = _tiny_encoder_front(torch)  # a fresh, unpatched module: what the exporter builds
    exported.load_state_dict(folded_state_dict(trained, mean, std))
    assert torch.allclose(exported.encoder.pre_encode.conv(mel), out, atol=1e-4)
    assert set(folded_state_dict(trained, mean, std)) == set(trained.state_dict()), "no new weights"


def test_character_ctc_uses_three_slots_per_frame() -> None:
    """Two frames hold up to six characters (five with a repeat's blank); more give no loss
    instead of infinity. Needs torch (not installed in CI)."""
    torch = pytest.importorskip("torch")
    from tools.demo_model.char_ctc import char_ctc_loss, char_ids, make_head

    torch.manual_seed(0)
    head = make_head(8, 3)
    encoded = torch.randn(2, 8, 2, requires_grad=True)  # [B, D, T]: two 80 ms frames
    fits = char_ctc_loss(head, encoded, torch.tensor([2, 2]), [char_ids("abcdef"), char_ids("ab")], 3)
    assert torch.isfinite(fits) and float(fits) > 0
    (grad,) = torch.autograd.grad(fits, encoded)
    assert float(grad.abs().sum()) > 0
    too_long = char_ctc_loss(head, encoded[:1], torch.tensor([2]), [char_ids("abcdefg")], 3)
    assert float(too_long) == 0.0


def test_shards_are_split_over_the_carries_that_fit_them() -> None:
    from tools.demo_model.remote.prepare import plan_carries

    sizes = {f"shard_{k:03d}.ogg": 3 for k in range(10)}
    plan = plan_carries(sizes, first_room=7, room=10, carries=3)
    assert plan == [["shard_000.ogg", "shard_001.ogg"], [f"shard_{k:03d}.ogg" for k in range(2, 5)],
                    [f"shard_{k:03d}.ogg" for k in range(5, 8)]], "in name order, two shards left out"
    assert plan_carries({"a.ogg": 50}, 10, 10, 2) == [[], []], "a shard larger than any call stays here"
    assert plan_carries({"a.ogg": 3, "b.ogg": 50, "c.ogg": 3, "d.ogg": 6}, 7, 10, 2) == [["a.ogg", "c.ogg"], ["d.ogg"]]


def test_a_checkpoint_to_continue_travels_before_any_shard() -> None:
    from tools.demo_model.remote.prepare import plan_carries

    shards = {f"shard_{k:03d}.ogg": 3 for k in range(6)}
    parts = {f"ckpt.part{k}": 6 for k in range(11)}
    plan = plan_carries(shards, first_room=7, room=10, carries=12, required=parts)
    assert plan[0] == ["ckpt.part0"], "no room left beside the part for a shard"
    assert plan[1:7] == [[f"ckpt.part{k + 1}", f"shard_{k:03d}.ogg"] for k in range(6)]
    assert plan[10] == ["ckpt.part10"], "parts in numeric order, part10 after part9"
    assert plan[11] == []
    with pytest.raises(ValueError, match=r"ckpt\.part0 \(11 bytes\)"):
        plan_carries(shards, 7, 10, 2, {"ckpt.part0": 11})


def test_a_packed_checkpoint_comes_back_as_it_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GPU machine returns at most 16 MiB per file: the checkpoint travels in parts, Adam's moments
    as bf16. Needs torch (not installed in CI)."""
    torch = pytest.importorskip("torch")
    from tools.demo_model.remote import pack, unpack

    torch.manual_seed(0)
    model = torch.nn.Linear(2048, 2048)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.randn(4, 2048)).square().sum().backward()
    opt.step()
    run, files, back = tmp_path / "run", tmp_path / "files", tmp_path / "back"
    run.mkdir()
    files.mkdir()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 7}, run / "checkpoint.pt")
    (run / "train.json").write_text("{}")
    monkeypatch.setattr(pack, "PART_BYTES", 2**20)  # several parts from a small checkpoint
    pack.main(run, files)
    assert len(list(files.glob("ckpt.part*"))) > 2 and (files / "train.json").exists()
    unpack.main(files, back)
    ck = torch.load(back / "checkpoint.pt", weights_only=False)
    assert ck["step"] == 7 and (back / "train.json").exists()
    for key, value in model.state_dict().items():
        assert torch.equal(ck["model"][key], value), "weights travel exactly"
    moments = ck["optimizer"]["state"][0]["exp_avg_sq"]
    assert moments.dtype == torch.float32
    torch.testing.assert_close(moments, opt.state_dict()["state"][0]["exp_avg_sq"], rtol=1e-2, atol=0)
    opt.load_state_dict(ck["optimizer"])  # a resumed run loads them

    # carried *to* the GPU machine (prepare.py --resume), the packed bytes are joined without unpack.py:
    # AdamW casts the bf16 moments back to the parameters' dtype
    sent = torch.load(io.BytesIO(pack.compact(torch.load(run / "checkpoint.pt", weights_only=False))),
                      weights_only=False)
    assert sent["optimizer"]["state"][0]["exp_avg"].dtype == torch.bfloat16
    twin = torch.nn.Linear(2048, 2048)
    twin.load_state_dict(model.state_dict())
    fresh = torch.optim.AdamW(twin.parameters())
    fresh.load_state_dict(sent["optimizer"])
    assert fresh.state_dict()["state"][0]["exp_avg"].dtype == torch.float32
    fresh.step()

    monkeypatch.setattr(pack, "MAX_BYTES", 2**20)  # too large even with bf16 moments: the optimizer stays behind
    for part in files.glob("ckpt.part*"):
        part.unlink()
    pack.main(run, files)
    unpack.main(files, back)
    ck = torch.load(back / "checkpoint.pt", weights_only=False)
    assert ck["optimizer"] is None and torch.equal(ck["model"]["weight"], model.state_dict()["weight"])


@pytest.mark.skipif(shutil.which("bash") is None, reason="setup.sh runs under bash")
def test_the_gpu_machine_gathers_every_carried_shard(tmp_path: Path) -> None:
    import gzip
    import subprocess

    root, site, data = tmp_path / "repo", tmp_path / "site", tmp_path / "data"
    site.mkdir()
    (site / ".installed").touch()  # wheels installed by an earlier call
    (root / ".d1" / "tokenizer").mkdir(parents=True)
    (root / ".d1" / "tokenizer" / "tokenizer.model").write_bytes(b"spm")
    (root / ".d1" / "manifest.jsonl.gz").write_bytes(gzip.compress(b'{"shard": "shard_000.ogg"}\n'))
    (root / ".d1" / "shard_000.ogg").write_bytes(b"a")
    (root / ".d2").mkdir()
    (root / ".d2" / "shard_001.ogg").write_bytes(b"b")
    script = ROOT / "tools" / "demo_model" / "remote" / "setup.sh"
    env = {"PATH": "/usr/bin:/bin", "SITE": str(site), "DATA": str(data)}
    out = subprocess.run(["bash", str(script)], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "shards: 2", out.stderr
    assert (data / "train" / "manifest.jsonl").read_text() == '{"shard": "shard_000.ogg"}\n'
    assert (data / "tokenizer" / "tokenizer.model").exists()
    (data / "train" / "shard_001.ogg").unlink()  # as if an earlier copy had been cut short
    (data / "train" / "shard_001.ogg.tmp").write_bytes(b"")
    shutil.rmtree(root / ".d1")  # a later call: the first carry's folder may be gone, /tmp/data stays
    out = subprocess.run(["bash", str(script)], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "shards: 2", out.stderr
    assert (data / "train" / "shard_001.ogg").read_bytes() == b"b", "the cut-short copy is made again"


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("sha256sum") is None, reason="setup.sh's tools")
def test_the_gpu_machine_joins_a_checkpoint_once_all_its_parts_arrived(tmp_path: Path) -> None:
    import hashlib
    import subprocess

    root, site, data, run = tmp_path / "repo", tmp_path / "site", tmp_path / "data", tmp_path / "run"
    site.mkdir()
    (site / ".installed").touch()
    (data / "tokenizer").mkdir(parents=True)
    (data / "train").mkdir()
    (data / "train" / "manifest.jsonl").write_text("")
    whole = bytes(range(256)) * 41
    parts = [whole[k: k + 4000] for k in range(0, len(whole), 4000)]
    listing = f"{len(parts)} {hashlib.sha256(whole).hexdigest()}\n"
    script = ROOT / "tools" / "demo_model" / "remote" / "setup.sh"
    env = {"PATH": "/usr/bin:/bin", "SITE": str(site), "DATA": str(data), "RUN": str(run)}

    def call(carry: dict[str, bytes]) -> str:
        shutil.rmtree(root, ignore_errors=True)  # each call brings its own carry
        (root / ".d1").mkdir(parents=True)
        for name, content in carry.items():
            (root / ".d1" / name).write_bytes(content)
        out = subprocess.run(["bash", str(script)], cwd=root, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "checkpoint: 2 of 3 parts" in call({"ckpt.part0": parts[0], "ckpt.part2": parts[2],
                                                "ckpt.list": listing.encode()})
    assert not (run / "checkpoint.pt").exists()
    out = call({"ckpt.part1": parts[1], "ckpt.list": listing.encode()})
    assert f"checkpoint: {run / 'checkpoint.pt'}" in out
    assert (run / "checkpoint.pt").read_bytes() == whole, "joined in numeric order"
    (run / "checkpoint.pt").write_bytes(b"trained on")  # the training call continued it: never joined again
    assert f"checkpoint: {run / 'checkpoint.pt'}" in call({})
    assert (run / "checkpoint.pt").read_bytes() == b"trained on"

    shutil.rmtree(run)
    gathered = run / f"parts-{hashlib.sha256(whole).hexdigest()}"
    call({"ckpt.part0": parts[0], "ckpt.part1": parts[1][:-1] + b"x", "ckpt.list": listing.encode()})
    (gathered / "ckpt.part7").write_bytes(b"left over")  # not one of 0..2: ignored
    last = {"ckpt.part2": parts[2], "ckpt.list": listing.encode()}
    shutil.rmtree(root)
    (root / ".d1").mkdir(parents=True)
    for name, content in last.items():
        (root / ".d1" / name).write_bytes(content)
    out = subprocess.run(["bash", str(script)], cwd=root, env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "do not match ckpt.list" in out.stderr, "a part damaged on the way"
    assert not (run / "checkpoint.pt").exists() and not (run / "checkpoint.tmp").exists()
    assert not gathered.exists(), "the damaged parts are dropped, to be gathered again"
    assert "checkpoint: 2 of 3 parts" in call({"ckpt.part0": parts[0], "ckpt.part1": parts[1],
                                                "ckpt.list": listing.encode()})
    assert f"checkpoint: {run / 'checkpoint.pt'}" in call(last)
    assert (run / "checkpoint.pt").read_bytes() == whole
