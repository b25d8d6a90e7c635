#!/usr/bin/env python
"""Train the demo model: a small NeMo cache-aware FastConformer hybrid (RNNT + CTC) on the shards.

Runs on a CUDA GPU when there is one (bf16 autocast) and on the CPU otherwise; resumable: a
checkpoint (model, optimizer, schedule, step, elapsed time; augmentation is seeded by step) is written every
``--checkpoint-every`` steps and at the end, and ``--resume`` continues from it. Ctrl+C or SIGTERM
stops after the current step with a checkpoint (a second one stops at once).

The training loop is plain PyTorch over NeMo's own modules, computing exactly the loss of NeMo's
``EncDecHybridRNNTCTCBPEModel.training_step`` ((1 - w) * RNNT + w * CTC, w = 0.3), without the
Lightning trainer and NeMo's data loaders (the shards are Ogg Opus with offsets, augmented on the
fly). Multi-lookahead training is NeMo's: the encoder draws one ``att_context_size`` per batch.

    python -m tools.demo_model.train --data work-tmp/demo-model/data --out work-tmp/demo-model/run \
        --max-steps 6000 [--max-minutes 20] [--resume]

Outputs in ``--out``: ``checkpoint.pt``, ``weights.pt`` (model state dict), ``model_config.yaml``,
``train.json`` (hyper-parameters, steps, wall time, loss and dev-WER history).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tools.nemo_config_builder import fastconformer_config
from tools.wer import word_count, word_errors

from .char_ctc import char_ctc_loss, char_ids, folded_state_dict, make_head, normalize_first_conv
from .rnnt_loss import rnnt_loss
from .stop import StopRequest, ignore_interrupts_in_worker
from .streams import group_streams, join_stream, stream_length

SR = 16000
DEFAULT_MAX_STEPS = 6000  # a new run's schedule end without --max-steps or --fit-minutes
ATT_CONTEXT = [[70, 13], [70, 6], [70, 1], [70, 0]]

HPARAMS: dict[str, Any] = {
    "d_model": 160, "n_layers": 9, "n_heads": 4, "ff_expansion_factor": 4, "conv_kernel_size": 9,
    "subsampling_conv_channels": 160, "pred_hidden": 256, "joint_hidden": 256,
    "att_context_size": ATT_CONTEXT, "ctc_loss_weight": 0.3,
    "peak_lr": 2.0e-3, "min_lr": 2.0e-5, "warmup_steps": 600, "weight_decay": 1.0e-3, "betas": [0.9, 0.98],
    "batch_seconds": 600.0, "max_utterance_seconds": 12.0, "grad_clip": 1.0,
    # no augmentation (waveform or SpecAugment) until the dev CTC WER first falls below this (the encoder
    # has left CTC's blank plateau; README, "Why the code is as it is")
    "augment_below_dev_ctc_wer": 0.6,
    "spec_augment": {"freq_masks": 2, "freq_width": 20, "time_masks": 6, "time_width": 0.05},
    "augment": {"speed": [0.9, 0.95, 1.0, 1.05, 1.1], "gain_db": [-18.0, 6.0], "noise_p": 0.5,
                "snr_db": [8.0, 40.0], "echo_p": 0.25, "rt60_s": [0.15, 0.7], "babble_p": 0.1},
    "dev_utterances": 200,
    # every utterance on its own and inside a stream of 2-4 consecutive ones (see streams.py)
    "streams": {"max_utterances": 4, "pause_s": [0.15, 0.8], "max_seconds": 20.0},
}

# ``--char-ctc`` (char_ctc.py): a training-only character CTC head (3 slots per 80 ms frame) and log-mel
# inputs normalised inside the first convolution; opt-in.
CHAR_CTC: dict[str, Any] = {"char_ctc": {"upsample": 3, "weight": 0.3}, "input_norm": {"mean": -10.0, "std": 4.0}}

# The ``cpu`` profile (``--profile cpu``): a smaller model, 40 s batches, light augmentation and streams of
# two utterances (<= 9 s; the RNNT joint costs frames x tokens per clip). Nothing uses it by default: the
# ``gpu`` profile is the one that leaves CTC's blank plateau, on any device (README, "Why the code is as it is").
CPU_OVERRIDES: dict[str, Any] = {
    "d_model": 128, "n_layers": 8, "subsampling_conv_channels": 128, "pred_hidden": 160, "joint_hidden": 160,
    "peak_lr": 2.0e-3, "warmup_steps": 300, "batch_seconds": 40.0,
    "spec_augment": {"freq_masks": 2, "freq_width": 15, "time_masks": 2, "time_width": 0.05},
    "augment": {"speed": [0.9, 0.95, 1.0, 1.05, 1.1], "gain_db": [-10.0, 6.0], "noise_p": 0.3,
                "snr_db": [20.0, 40.0], "echo_p": 0.1, "rt60_s": [0.15, 0.4], "babble_p": 0.0},
    "streams": {"max_utterances": 2, "pause_s": [0.15, 0.8], "max_seconds": 9.0},
}
PROFILES: dict[str, dict[str, Any]] = {"gpu": HPARAMS, "cpu": {**HPARAMS, **CPU_OVERRIDES}}


def log(msg: str) -> None:
    print(f"[train {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------
# NeMo model
# ------------------------------------------------------------------------------------------------
def model_config(tokenizer_dir: Path, h: dict[str, Any]) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.create(fastconformer_config(
        tokenizer_dir,
        n_layers=h["n_layers"],
        d_model=h["d_model"],
        n_heads=h["n_heads"],
        ff_expansion_factor=h["ff_expansion_factor"],
        conv_kernel_size=h["conv_kernel_size"],
        subsampling_conv_channels=h["subsampling_conv_channels"],
        pred_hidden=h["pred_hidden"],
        joint_hidden=h["joint_hidden"],
        att_context_size=h["att_context_size"],
        ctc_loss_weight=h["ctc_loss_weight"],
        spec_augment=h["spec_augment"],
    ))


def build_model(tokenizer_dir: Path, h: dict[str, Any]) -> Any:
    import logging

    if not hasattr(np, "row_stack"):  # numba-cuda 0.2x still names np.row_stack, gone in numpy 2.4+
        np.row_stack = np.vstack  # type: ignore[attr-defined]

    from nemo.collections.asr.models import EncDecHybridRNNTCTCBPEModel
    from nemo.utils import logging as nemo_logging

    nemo_logging.setLevel(logging.ERROR)
    return EncDecHybridRNNTCTCBPEModel(cfg=model_config(tokenizer_dir, h))


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------
def _decode_shard(path: str) -> np.ndarray:
    import soundfile as sf

    x, sr = sf.read(path, dtype="float32")
    assert sr == SR, (path, sr)
    return x


def load_data(data: Path, workers: int) -> tuple[list[np.ndarray], list[str], str | None]:
    """The utterances of the shards that are there and their texts; the shard of the manifest's last
    utterance (the dev utterances are the last ones) when it is missing, else None."""
    from multiprocessing import Pool

    rows = [json.loads(line) for line in (data / "train" / "manifest.jsonl").read_text().splitlines()]
    shards = sorted({r["shard"] for r in rows})
    present = [s for s in shards if (data / "train" / s).exists()]
    with Pool(max(1, workers)) as pool:  # --workers 0 (no loader processes) still decodes in one
        audio = dict(zip(present, pool.map(_decode_shard, [str(data / "train" / s) for s in present]), strict=True))
    clips, texts = [], []
    for r in rows:
        if r["shard"] in audio:
            clips.append(audio[r["shard"]][r["offset"]: r["offset"] + r["length"]].copy())
            texts.append(r["text"])
    log(f"loaded {len(clips)} utterances from {len(present)}/{len(shards)} shards, "
        f"{sum(len(c) for c in clips) / SR / 3600:.2f} h")
    return clips, texts, (None if rows[-1]["shard"] in audio else rows[-1]["shard"])


class Augmenter:
    """Speed, gain, additive noise (white/pink/brown or another utterance) and synthetic room echo."""

    def __init__(self, cfg: dict[str, Any], clips: list[np.ndarray]) -> None:
        self.cfg = cfg
        self.clips = clips

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        from scipy.signal import fftconvolve, resample_poly

        c = self.cfg
        speed = float(rng.choice(c["speed"]))
        if speed != 1.0:
            x = resample_poly(x, 100, round(100 * speed)).astype(np.float32)
        if rng.random() < c["echo_p"]:
            rt60 = rng.uniform(*c["rt60_s"])
            n = int(min(rt60, 0.5) * SR)
            rir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / (rt60 * SR))
            rir[0] = 1.0 / max(1e-3, rng.uniform(0.2, 1.0))  # direct path vs reverberant energy
            y = fftconvolve(x, rir)[: len(x)]
            x = (y * (np.max(np.abs(x)) / (np.max(np.abs(y)) + 1e-9))).astype(np.float32)
        power = float(np.mean(x ** 2)) + 1e-10
        if rng.random() < c["babble_p"]:
            other = self.clips[int(rng.integers(len(self.clips)))]
            other = np.resize(other, len(x))
            snr = rng.uniform(12.0, 25.0)
            x = x + other * np.sqrt(power / (float(np.mean(other ** 2)) + 1e-10) / 10 ** (snr / 10))
        if rng.random() < c["noise_p"]:
            white = rng.standard_normal(len(x))
            colour = int(rng.integers(3))
            if colour:
                spec = np.fft.rfft(white)
                f = np.maximum(np.arange(len(spec)), 1.0)
                white = np.fft.irfft(spec / f ** (0.5 * colour), n=len(x))
            snr = rng.uniform(*c["snr_db"])
            x = x + white * np.sqrt(power / (float(np.mean(white ** 2)) + 1e-12) / 10 ** (snr / 10))
        x = x * 10 ** (rng.uniform(*c["gain_db"]) / 20)
        return np.clip(x, -1.0, 1.0).astype(np.float32)


class TrainSet:
    """Items are lists of utterance indices: one utterance, or a stream of consecutive ones with pauses.

    Each item is (audio, BPE ids, character ids); a stream's characters have a space between utterances.
    Items of steps before ``clean_steps`` are not augmented.
    """

    def __init__(self, clips: list[np.ndarray], tokens: list[list[int]], chars: list[list[int]],
                 items: list[list[int]], aug: Augmenter | None, seed: int, pause_s: tuple[float, float],
                 clean_steps: int = 0) -> None:
        self.clips, self.tokens, self.chars, self.items, self.aug, self.seed = clips, tokens, chars, items, aug, seed
        self.pause_s, self.clean_steps = pause_s, clean_steps

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> tuple[np.ndarray, list[int], list[int]]:
        index, step = key
        rng = np.random.default_rng([self.seed, step, index])
        members = self.items[index]
        x = join_stream([self.clips[i] for i in members], rng, self.pause_s, SR)
        if self.aug is not None and step >= self.clean_steps:
            x = self.aug(x, rng)
        space = char_ids(" ")
        chars = [c for k, i in enumerate(members) for c in (space if k else []) + self.chars[i]]
        return x, [t for i in members for t in self.tokens[i]], chars


def collate(items: list[tuple[np.ndarray, list[int], list[int]]]) -> tuple[Any, Any, Any, Any, list[list[int]]]:
    """Padded audio and BPE targets with their lengths, and the character targets as lists."""
    import torch

    n = max(len(x) for x, _, _ in items)
    u = max(len(t) for _, t, _ in items)
    audio = torch.zeros(len(items), n)
    targets = torch.zeros(len(items), u, dtype=torch.long)
    for i, (x, t, _) in enumerate(items):
        audio[i, : len(x)] = torch.from_numpy(x)
        targets[i, : len(t)] = torch.tensor(t)
    return (audio, torch.tensor([len(x) for x, _, _ in items]), targets,
            torch.tensor([len(t) for _, t, _ in items]), [c for _, _, c in items])


def length_groups(order: list[int], lengths: list[int], max_samples: int) -> list[list[int]]:
    """``order`` (indices by ascending length) cut into runs of at most ``max_samples`` padded samples
    (count x longest); an item longer than that is a run of its own."""
    groups: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) + 1) * lengths[i] > max_samples:
            groups.append(cur)
            cur = []
        cur.append(i)
    return [*groups, cur] if cur else groups


def batches(lengths: list[int], batch_samples: int, epoch_seed: int, start_step: int) -> list[list[tuple[int, int]]]:
    """Length-bucketed batches of at most ``batch_samples`` padded samples, shuffled per epoch."""
    r = random.Random(epoch_seed)
    out = length_groups(sorted(range(len(lengths)), key=lambda i: (lengths[i], r.random())), lengths, batch_samples)
    r.shuffle(out)
    return [[(i, start_step + k) for i in b] for k, b in enumerate(out)]


class EpochBatches:
    """Endless batch sampler: epoch after epoch of :func:`batches`, starting at ``start_step``.

    One sampler per training phase (clean, augmented) keeps the loader's workers alive across epochs; each index is
    paired with its global step so that augmentation is reproducible after a resume.
    """

    def __init__(self, lengths: list[int], batch_samples: int, seed: int, start_step: int) -> None:
        self.lengths, self.batch_samples, self.seed, self.start_step = lengths, batch_samples, seed, start_step
        self.per_epoch = len(batches(lengths, batch_samples, 0, 0))
        self.epoch = start_step // self.per_epoch

    def __iter__(self):  # type: ignore[no-untyped-def]
        step = self.start_step
        while True:
            self.epoch = step // self.per_epoch
            plan = batches(self.lengths, self.batch_samples, self.seed * 1000 + self.epoch,
                           self.epoch * self.per_epoch)
            yield from plan[step - self.epoch * self.per_epoch:]
            step = (self.epoch + 1) * self.per_epoch


# ------------------------------------------------------------------------------------------------
# Loss, schedule, evaluation
# ------------------------------------------------------------------------------------------------
def hybrid_loss(model: Any, audio: Any, audio_len: Any, targets: Any, target_len: Any,
                use_amp: bool, char_head: Any = None, chars: list[list[int]] | None = None,
                char_cfg: dict[str, Any] | None = None) -> tuple[Any, float, float, float]:
    """NeMo's hybrid training loss, (1 - w) * RNNT + w * CTC, plus the character CTC when given."""
    import torch

    dtype = torch.bfloat16 if use_amp else torch.float32
    with torch.autocast(device_type=audio.device.type, dtype=dtype, enabled=use_amp):
        encoded, encoded_len = model.forward(input_signal=audio, input_signal_length=audio_len)
        dec, dec_len, _ = model.decoder(targets=targets, target_length=target_len)
    encoded, dec = encoded.float(), dec.float()
    joint = model.joint(encoder_outputs=encoded, decoder_outputs=dec)
    rnnt = model.loss(log_probs=joint, targets=targets, input_lengths=encoded_len, target_lengths=dec_len)
    ctc_lp = model.ctc_decoder(encoder_output=encoded)
    ctc = model.ctc_loss(log_probs=ctc_lp, targets=targets, input_lengths=encoded_len, target_lengths=target_len)
    w = model.ctc_loss_weight
    loss = (1 - w) * rnnt + w * ctc
    if char_head is None or chars is None or char_cfg is None:
        return loss, float(rnnt), float(ctc), 0.0
    char = char_ctc_loss(char_head, encoded, encoded_len, chars, char_cfg["upsample"])
    return loss + char_cfg["weight"] * char, float(rnnt), float(ctc), float(char)


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for the next step instead of returning it to the kernel.

    glibc serves every block over 32 MiB with its own mmap and unmaps it on free, so without this each
    CPU step faults in and zeroes its activations afresh (README, *Why the code is as it is*). Returns
    whether it applied (glibc only)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_mmap_max, m_trim_threshold = -4, -1
        return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**31 - 1))
    except (OSError, AttributeError):  # not glibc
        return False


def micro_batches(lengths: list[int], max_samples: int) -> list[list[int]]:
    """A batch's indices in groups of at most ``max_samples`` padded samples (count x longest), by length.

    On a CPU a 600 s batch allocates gigabytes per step (the RNNT joint is clips x frames x tokens x
    vocabulary), most of the step's time going to the kernel mapping and zeroing pages; computed as
    groups of ~60 s whose gradients add up (each loss weighted by its share of the clips), it is the
    same gradient (up to dropout masks), since every loss is a mean over clips, no layer mixes clips
    (layer norm only) and the training loop gives every part the step's one lookahead.
    """
    return length_groups(sorted(range(len(lengths)), key=lengths.__getitem__), lengths, max_samples)


def split_batch(audio: Any, audio_len: Any, targets: Any, target_len: Any, chars: list[list[int]],
                max_samples: int | None) -> list[tuple[tuple[Any, Any, Any, Any, list[list[int]]], float]]:
    """The collated batch as (part, share of the clips) pairs of :func:`micro_batches`, each part trimmed
    to its own longest clip and target; the whole batch as one part when ``max_samples`` is None."""
    import torch

    n = len(chars)
    groups = micro_batches(audio_len.tolist(), max_samples) if max_samples else [list(range(n))]
    if len(groups) == 1:
        return [((audio, audio_len, targets, target_len, chars), 1.0)]
    parts = []
    for group in groups:
        idx = torch.tensor(group)
        a_len, t_len = audio_len[idx], target_len[idx]
        parts.append(((audio[idx, : int(a_len.max())], a_len, targets[idx, : max(1, int(t_len.max()))], t_len,
                       [chars[i] for i in group]), len(group) / n))
    return parts


def checked_rnnt_loss(model: Any, device: Any) -> str:
    """NeMo's numba RNNT loss on a GPU; :mod:`rnnt_loss`'s (same values) on a CPU or where numba fails.

    On a CPU NeMo's kernel runs on one core: 7 s for a 13 x 79 x 42 x 257 batch against 0.15 s.
    """
    import torch

    v = model.joint.num_classes_with_blank
    logits = torch.randn(2, 5, 4, v, device=device)
    targets = torch.randint(0, v - 1, (2, 3), device=device)
    lengths, tlen = torch.tensor([5, 4], device=device), torch.tensor([3, 2], device=device)
    if device.type == "cuda":
        try:
            model.loss(log_probs=logits, targets=targets, input_lengths=lengths, target_lengths=tlen)
            return "nemo-" + type(model.loss._loss).__name__
        except Exception as exc:  # any failure of the numba kernels: use the PyTorch one
            log(f"NeMo RNNT loss unavailable here ({type(exc).__name__}: {str(exc)[:120]}); using rnnt_loss.py")
    blank = v - 1

    class TorchRnnt(torch.nn.Module):
        def forward(self, log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any) -> Any:
            return rnnt_loss(log_probs, targets, input_lengths, target_lengths, blank)

    model.loss = TorchRnnt()
    model.loss(log_probs=logits, targets=targets, input_lengths=lengths, target_lengths=tlen)
    return "torch-rnnt_loss"


def initial_augment_from_step(h: dict[str, Any]) -> int | None:
    """The step augmentation started at: kept by a resumed run; None (not yet) for a new run; 0 for a
    checkpoint without ``augment_below_dev_ctc_wer`` (such a run is augmented from its first step)."""
    if "augment_from_step" in h:
        return h["augment_from_step"]
    return None if "augment_below_dev_ctc_wer" in h else 0


def starts_augmenting(h: dict[str, Any], dev_ctc_wer: float) -> bool:
    """Whether this dev evaluation ends the clean phase: the encoder has left CTC's blank plateau."""
    return h["augment_from_step"] is None and dev_ctc_wer < h["augment_below_dev_ctc_wer"]


def lr_at(step: int, h: dict[str, Any], max_steps: int) -> float:
    ext = h.get("extend")
    if ext and step >= ext["from_step"]:  # a further cosine after the first schedule ended (--extend-steps)
        k = step - ext["from_step"]
        if k < ext["warmup_steps"]:
            return ext["peak_lr"] * (k + 1) / ext["warmup_steps"]
        p = min(1.0, (k - ext["warmup_steps"]) / max(1, ext["steps"] - ext["warmup_steps"]))
        return h["min_lr"] + 0.5 * (ext["peak_lr"] - h["min_lr"]) * (1 + math.cos(math.pi * p))
    if step < h["warmup_steps"]:
        return h["peak_lr"] * (step + 1) / h["warmup_steps"]
    p = min(1.0, (step - h["warmup_steps"]) / max(1, max_steps - h["warmup_steps"]))
    return h["min_lr"] + 0.5 * (h["peak_lr"] - h["min_lr"]) * (1 + math.cos(math.pi * p))


def schedule_end(h: dict[str, Any], asked: int | None, recorded: int | None) -> int:
    """The step at which a resumed run's learning-rate schedule ends.

    The schedule belongs to the run: a resume that leaves out --max-steps keeps it rather than taking the
    default of a new run. An explicit --max-steps changes it; an extension (--extend-steps) defines its own
    end. `recorded` is train.json's figure, for a checkpoint that does not hold its schedule's end.
    """
    if "extend" in h:
        return int(h["extend"]["from_step"] + h["extend"]["steps"])
    if asked is not None:
        return asked
    fitted = h.get("fitted_max_steps", {}).get("max_steps")
    return int(fitted or h.get("max_steps") or recorded or DEFAULT_MAX_STEPS)


def recorded_max_steps(out: Path) -> int | None:
    """The schedule end that train.json in a run folder records (None without one)."""
    try:
        return int(json.loads((out / "train.json").read_text(encoding="utf-8"))["max_steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def fit_max_steps(h: dict[str, Any], step: int, start_step: int, per_step: float, left_s: float) -> int:
    """The last step of a schedule fitted to the time left (``--fit-minutes``): a new run's cosine or,
    when this process started an extension (``--extend-steps``), the extension's, whose length is set
    here. 5 % of the time is kept for dev evaluations and the checkpoint."""
    more = int(0.95 * left_s / per_step)
    ext = h.get("extend")
    if ext and ext["from_step"] == start_step:
        ext["steps"] = step - start_step + more
        ext["warmup_steps"] = min(ext["warmup_steps"], ext["steps"] // 2)
    return step + more


def dev_wer(model: Any, clips: list[np.ndarray], texts: list[str], device: Any) -> tuple[float, float]:
    """Greedy (RNNT, CTC) WER on the dev clips, full context (the model's first att_context_size)."""
    import torch

    model.eval()
    errors = {"rnnt": 0, "ctc": 0}
    words = 0
    with torch.inference_mode():
        for k in range(0, len(clips), 32):
            audio, audio_len, _, _, _ = collate([(c, [0], []) for c in clips[k: k + 32]])
            enc, enc_len = model.forward(input_signal=audio.to(device), input_signal_length=audio_len.to(device))
            rnnt = [h.text for h in model.decoding.rnnt_decoder_predictions_tensor(enc, enc_len)]
            ids = model.ctc_decoder(encoder_output=enc).argmax(-1).cpu().numpy()
            for row, n, ref, rnnt_hyp in zip(ids, enc_len.cpu().numpy(), texts[k: k + 32], rnnt, strict=True):
                out, prev = [], -1
                for t in row[: int(n)]:
                    if t != prev and t != model.tokenizer.vocab_size:
                        out.append(int(t))
                    prev = t
                errors["ctc"] += word_errors(ref, model.tokenizer.ids_to_text(out))
                errors["rnnt"] += word_errors(ref, rnnt_hyp)
                words += word_count(ref)
    model.train()
    return errors["rnnt"] / max(1, words), errors["ctc"] / max(1, words)


def plain_weights(model: Any, h: dict[str, Any]) -> dict[str, Any]:
    """A plain NeMo model's weights (what ``export`` loads): the input normalisation folded into the
    first convolution, the character head left out."""
    norm = h.get("input_norm")
    return folded_state_dict(model, norm["mean"], norm["std"]) if norm else model.state_dict()


# ------------------------------------------------------------------------------------------------
# The run, stage by stage
# ------------------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-steps", type=int, default=None,
                    help=f"where the cosine schedule ends (a new run: default {DEFAULT_MAX_STEPS}; "
                         "a resumed run keeps its own unless this is given)")
    ap.add_argument("--max-minutes", type=float, default=0.0,
                    help="stop (with a checkpoint) after training this long in this process")
    ap.add_argument("--fit-minutes", type=float, default=0.0,
                    help="after 100 steps, set --max-steps so that the schedule ends after training this many "
                         "minutes in this process: a new run's, or the one --extend-steps starts")
    ap.add_argument("--checkpoint-every", type=int, default=500)
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--extend-steps", type=int, default=0,
                    help="with --resume: train this many steps more on a new cosine schedule (peak LR / 4); "
                         "with --fit-minutes, as many as fit")
    ap.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    ap.add_argument("--workers", type=int, default=max(1, min(12, (os.cpu_count() or 2) - 2)))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--batch-seconds", type=float, default=None)
    ap.add_argument("--micro-batch-seconds", type=float, default=None,
                    help="compute each batch as parts of at most this much padded audio whose gradients add up "
                         "(default: 60 on a CPU, the whole batch on a GPU)")
    ap.add_argument("--augment-below-dev-ctc-wer", type=float, default=None,
                    help="a new run starts augmenting at the first dev CTC WER below this (default: the profile's)")
    ap.add_argument("--weights-only", action="store_true",
                    help="only write weights.pt from checkpoint.pt (a run stopped before its end) and exit")
    ap.add_argument("--char-ctc", action="store_true",
                    help="a new run also trains a character CTC head on normalised inputs (see char_ctc.py)")
    ap.add_argument("--profile", default="gpu", choices=list(PROFILES),
                    help="hyper-parameters: 'gpu' (the 7.25 M model, for any device), 'cpu' (a smaller model; "
                         "see README.md); a resumed run keeps its own")
    return ap.parse_args()


def new_run_hparams(args: argparse.Namespace) -> dict[str, Any]:
    """A new run's hyper-parameters: the profile's, with the command line's changes."""
    h = {**PROFILES[args.profile], "profile": args.profile}
    if args.batch_seconds:
        h["batch_seconds"] = args.batch_seconds
    if args.char_ctc:
        h.update(CHAR_CTC)
    if args.augment_below_dev_ctc_wer is not None:
        h["augment_below_dev_ctc_wer"] = args.augment_below_dev_ctc_wer
    return h


def load_checkpoint(args: argparse.Namespace, device: Any) -> dict[str, Any] | None:
    """``--out``'s checkpoint when ``--resume`` or ``--weights-only`` asks for it and there is one."""
    import torch

    ckpt_path = args.out / "checkpoint.pt"
    wanted = (args.resume or args.weights_only) and ckpt_path.exists()
    ck: dict[str, Any] | None = torch.load(ckpt_path, map_location=device, weights_only=False) if wanted else None
    if args.extend_steps and ck is None:
        raise SystemExit(f"--extend-steps continues a run, but there is no checkpoint at {ckpt_path}")
    return ck


def write_weights_only(args: argparse.Namespace, ck: dict[str, Any] | None, h: dict[str, Any]) -> None:
    """``--weights-only``: ``weights.pt`` from the checkpoint, nothing trained."""
    import torch

    if ck is None:
        raise SystemExit(f"--weights-only: no checkpoint at {args.out / 'checkpoint.pt'}")
    model = build_model(args.data / "tokenizer", h)
    model.load_state_dict(ck["model"])
    torch.save(plain_weights(model, h), args.out / "weights.pt")
    log(f"wrote {args.out / 'weights.pt'} from the checkpoint of step {ck['step']}")


def load_training_data(args: argparse.Namespace) -> tuple[list[np.ndarray], list[str]]:
    """The utterances that arrived and their texts; refuses to go on without the dev utterances' shard."""
    clips, texts, dev_shard_missing = load_data(args.data, args.workers)
    if dev_shard_missing:  # else the last utterances that arrived, which other runs trained on, would be dev
        raise SystemExit(f"{args.data / 'train' / dev_shard_missing} is missing: it holds the dev utterances "
                         "(the manifest's last); without it the dev WER would be measured on training utterances")
    return clips, texts


def build_training_model(tokenizer_dir: Path, h: dict[str, Any], device: Any) -> tuple[Any, Any]:
    """The NeMo model on ``device``, its first convolution normalising the inputs when ``h`` says so, and the
    character CTC head (None without ``--char-ctc``)."""
    model = build_model(tokenizer_dir, h).to(device)
    norm = h.get("input_norm")  # only with --char-ctc
    if norm:
        normalize_first_conv(model, norm["mean"], norm["std"])
    char_cfg = h.get("char_ctc")
    char_head = make_head(h["d_model"], char_cfg["upsample"]).to(device) if char_cfg else None
    return model, char_head


@dataclass
class Utterances:
    """The training utterances (audio, BPE ids, character ids) and the dev utterances (audio, text)."""

    train_clips: list[np.ndarray]
    train_tokens: list[list[int]]
    train_chars: list[list[int]]
    dev_clips: list[np.ndarray]
    dev_texts: list[str]


def split_utterances(tokenizer: Any, clips: list[np.ndarray], texts: list[str], h: dict[str, Any]) -> Utterances:
    """Utterances up to ``max_utterance_seconds`` with at least one token; the last ``dev_utterances`` are dev."""
    tokens = [tokenizer.text_to_ids(t) for t in texts]
    keep = [i for i, c in enumerate(clips) if len(c) <= h["max_utterance_seconds"] * SR and tokens[i]]
    dev_idx = keep[-h["dev_utterances"]:]
    train_idx = keep[: -h["dev_utterances"]]
    return Utterances(train_clips=[clips[i] for i in train_idx], train_tokens=[tokens[i] for i in train_idx],
                      train_chars=[char_ids(texts[i]) for i in train_idx], dev_clips=[clips[i] for i in dev_idx],
                      dev_texts=[texts[i] for i in dev_idx])


def make_optimizer(model: Any, char_head: Any, h: dict[str, Any]) -> Any:
    """AdamW with weight decay on matrices only (not on biases and norms)."""
    import torch

    trained = [*model.named_parameters(), *(char_head.named_parameters() if char_head is not None else [])]
    decay = [p for n, p in trained if p.ndim > 1]
    no_decay = [p for n, p in trained if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": h["weight_decay"]},
                              {"params": no_decay, "weight_decay": 0.0}], lr=h["peak_lr"], betas=tuple(h["betas"]))


@dataclass
class Run:
    """One training process: the model and its optimiser, the data, and where the run stands."""

    args: argparse.Namespace
    h: dict[str, Any]
    device: Any
    use_amp: bool
    model: Any
    char_head: Any
    opt: Any
    data: Utterances
    n_params: int
    step: int = 0
    elapsed_before: float = 0.0
    """Training time of the earlier processes of a resumed run, in seconds."""
    history: list[dict[str, Any]] = field(default_factory=list)
    t_train: float = 0.0
    """When this process started training (``time.time()``)."""

    @property
    def char_cfg(self) -> dict[str, Any] | None:
        return self.h.get("char_ctc")

    def save(self, final: bool) -> None:
        """Write the checkpoint (and at the end ``weights.pt``) and ``train.json``."""
        import torch

        args, h = self.args, self.h
        h["max_steps"] = args.max_steps  # the schedule travels with the checkpoint (schedule_end)
        state = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "step": self.step,
                 "char_head": self.char_head.state_dict() if self.char_head is not None else None,
                 "elapsed_s": self.elapsed_before + time.time() - self.t_train, "history": self.history, "hparams": h}
        torch.save(state, args.out / "checkpoint.tmp")
        os.replace(args.out / "checkpoint.tmp", args.out / "checkpoint.pt")
        if final:
            torch.save(plain_weights(self.model, h), args.out / "weights.pt")
        train_clips = self.data.train_clips
        info = {"hparams": h, "params": self.n_params, "steps": self.step, "max_steps": args.max_steps,
                "train_wall_s": round(state["elapsed_s"], 1), "device": str(self.device),
                "gpu": torch.cuda.get_device_name(0) if self.device.type == "cuda" else None,
                "amp_bf16": self.use_amp, "torch": torch.__version__, "train_utterances": len(train_clips),
                "train_hours": round(sum(len(c) for c in train_clips) / SR / 3600, 3), "history": self.history,
                "final": final}
        (args.out / "train.json").write_text(json.dumps(info, indent=1), encoding="utf-8")


def resume(run: Run, ck: dict[str, Any]) -> None:
    """Continue from the checkpoint: weights, optimiser state, step, history and the schedule's end
    (``schedule_end``), or a new cosine after it with ``--extend-steps``."""
    args, h = run.args, run.h
    run.model.load_state_dict(ck["model"])
    if run.char_head is not None:
        run.char_head.load_state_dict(ck["char_head"])
    if ck.get("optimizer"):
        run.opt.load_state_dict(ck["optimizer"])
    else:  # left out to fit a transfer (remote/pack.py)
        log("the checkpoint has no optimizer state: a fresh AdamW continues")
    run.step, run.elapsed_before, run.history = ck["step"], ck["elapsed_s"], ck["history"]
    if args.max_steps is not None and "extend" not in h:
        h.pop("fitted_max_steps", None)  # the explicit end replaces a fitted one, now and on later resumes
    args.max_steps = schedule_end(h, args.max_steps, recorded_max_steps(args.out))
    if args.extend_steps:
        h["extend"] = {"from_step": run.step, "steps": args.extend_steps, "peak_lr": h["peak_lr"] / 4,
                       "warmup_steps": min(200, args.extend_steps // 10)}
        args.max_steps = run.step + args.extend_steps
        h.pop("fitted_max_steps", None)  # the new segment's length is given, or fitted (--fit-minutes)
    log(f"resumed at step {run.step} ({run.elapsed_before / 60:.1f} min trained before), max_steps {args.max_steps}")


def prepare_run(args: argparse.Namespace, h: dict[str, Any], device: Any, use_amp: bool,
                ck: dict[str, Any] | None) -> Run:
    """Data, model, optimiser and, for a resumed run, the checkpoint's state: everything but the training."""
    clips, texts = load_training_data(args)
    model, char_head = build_training_model(args.data / "tokenizer", h, device)
    data = split_utterances(model.tokenizer, clips, texts, h)
    h["rnnt_loss"] = checked_rnnt_loss(model, device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"device {device} amp={use_amp} params {n_params / 1e6:.2f} M, train {len(data.train_clips)} utts, "
        f"dev {len(data.dev_clips)}")
    (args.out / "model_config.yaml").write_text(
        __import__("omegaconf").OmegaConf.to_yaml(model.cfg), encoding="utf-8")
    run = Run(args, h, device, use_amp, model, char_head, make_optimizer(model, char_head, h), data, n_params)
    if ck is not None:
        resume(run, ck)
    if args.max_steps is None:
        args.max_steps = DEFAULT_MAX_STEPS
    return run


def make_train_set(run: Run) -> tuple[TrainSet, list[int]]:
    """The training items (every utterance alone and inside a stream) and each item's length in samples."""
    h, data = run.h, run.data
    aug = Augmenter(h["augment"], data.train_clips)
    h.setdefault("streams", PROFILES[h["profile"]]["streams"])  # a checkpoint without stream settings: the profile's
    sc = h["streams"]
    pause_max = int(sc["pause_s"][1] * SR)
    clip_lengths = [len(c) for c in data.train_clips]
    items = [[i] for i in range(len(data.train_clips))]
    items += group_streams(clip_lengths, random.Random(run.args.seed), int(sc["max_seconds"] * SR),
                           sc["max_utterances"], pause_max)
    h["augment_from_step"] = initial_augment_from_step(h)
    dataset = TrainSet(data.train_clips, data.train_tokens, data.train_chars, items, aug, run.args.seed,
                       tuple(sc["pause_s"]))
    lengths = [stream_length(clip_lengths, item, pause_max) for item in items]
    log(f"{len(items)} training items: {len(data.train_clips)} single utterances, "
        f"{len(items) - len(data.train_clips)} streams of 2-{sc['max_utterances']}")
    return dataset, lengths


def loader_options(args: argparse.Namespace, device: Any) -> dict[str, Any]:
    """The DataLoader's keyword arguments: worker processes that ignore the terminal's Ctrl+C."""
    loader_kw: dict[str, Any] = {"collate_fn": collate, "num_workers": args.workers,
                                 "pin_memory": device.type == "cuda"}
    if args.workers:
        loader_kw.update(prefetch_factor=4, persistent_workers=False, worker_init_fn=ignore_interrupts_in_worker)
    return loader_kw


def micro_batch_samples(args: argparse.Namespace, h: dict[str, Any], device: Any) -> int | None:
    """The padded samples of one part of a batch (``--micro-batch-seconds``, 60 s on a CPU), or None for
    whole batches."""
    micro_s = args.micro_batch_seconds or (60.0 if device.type == "cpu" else None)
    micro_samples = int(micro_s * SR) if micro_s and micro_s < h["batch_seconds"] else None
    if micro_samples:
        log(f"each {h['batch_seconds']:.0f} s batch computed in parts of at most {micro_s:.0f} s")
    return micro_samples


def train_step(run: Run, batch: tuple[Any, Any, Any, Any, list[list[int]]],
               micro_samples: int | None) -> tuple[float, float, float, float]:
    """One optimiser step on a collated batch, computed in parts of ``micro_samples`` when set; the batch's
    mean losses (total, RNNT, CTC, characters)."""
    import torch

    audio, audio_len, targets, target_len, chars = batch
    device = run.device
    for g in run.opt.param_groups:
        g["lr"] = lr_at(run.step, run.h, run.args.max_steps)
    run.opt.zero_grad(set_to_none=True)
    loss, rnnt, ctc, char = 0.0, 0.0, 0.0, 0.0
    draw = random.getstate()  # NeMo's encoder draws the step's lookahead from `random`: one for all parts
    for part, share in split_batch(audio, audio_len, targets, target_len, chars, micro_samples):
        random.setstate(draw)
        part_loss, part_rnnt, part_ctc, part_char = hybrid_loss(
            run.model, part[0].to(device, non_blocking=True), part[1].to(device), part[2].to(device),
            part[3].to(device), run.use_amp, run.char_head, part[4], run.char_cfg)
        (part_loss * share).backward()  # the batch's mean loss: each part weighted by its size
        loss, rnnt = loss + share * float(part_loss), rnnt + share * part_rnnt
        ctc, char = ctc + share * part_ctc, char + share * part_char
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.h["grad_clip"])
    run.opt.step()
    run.step += 1
    return loss, rnnt, ctc, char


class LossTally:
    """Running means of the step losses between two progress lines."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loss, self.rnnt, self.ctc, self.char, self.n = 0.0, 0.0, 0.0, 0.0, 0

    def add(self, loss: float, rnnt: float, ctc: float, char: float) -> None:
        self.loss, self.rnnt, self.ctc, self.n = self.loss + loss, self.rnnt + rnnt, self.ctc + ctc, self.n + 1
        self.char += char

    def report(self, run: Run, epoch: int, minutes: float) -> None:
        """Log the means since the last report, record the loss in the history, and start again."""
        n = self.n
        log(f"step {run.step} epoch {epoch} loss {self.loss / n:.3f} (rnnt {self.rnnt / n:.3f} "
            f"ctc {self.ctc / n:.3f} char {self.char / n:.3f}) lr {run.opt.param_groups[0]['lr']:.2e} "
            f"{minutes:.1f} min")
        run.history.append({"step": run.step, "loss": round(self.loss / n, 4), "minutes": round(minutes, 2)})
        self.reset()


def fit_schedule(run: Run, start_step: int, t_30: float) -> None:
    """``--fit-minutes``: end the schedule where the time runs out, at the speed of steps 30-130 of this process
    (steady state: after loader start-up and kernel compilation)."""
    args, h = run.args, run.h
    per_step = (time.time() - t_30) / 100
    args.max_steps = fit_max_steps(h, run.step, start_step, per_step,
                                   args.fit_minutes * 60 - (time.time() - run.t_train))
    h["fitted_max_steps"] = {"seconds_per_step": round(per_step, 4), "max_steps": args.max_steps}
    log(f"{per_step:.3f} s/step: max_steps set to {args.max_steps} to fit {args.fit_minutes} min")


def evaluate(run: Run) -> bool:
    """The dev WER, logged and recorded; True when it ends the clean phase (the loader must start again)."""
    w_rnnt, w_ctc = dev_wer(run.model, run.data.dev_clips, run.data.dev_texts, run.device)
    run.history.append({"step": run.step, "dev_rnnt_wer": round(w_rnnt, 4), "dev_ctc_wer": round(w_ctc, 4)})
    log(f"step {run.step} dev WER RNNT {100 * w_rnnt:.2f}% CTC {100 * w_ctc:.2f}%")
    if not starts_augmenting(run.h, w_ctc):
        return False
    run.h["augment_from_step"] = run.step  # saved with the checkpoint: a resumed run keeps augmenting
    log(f"dev CTC WER below {100 * run.h['augment_below_dev_ctc_wer']:.0f}%: augmenting from step {run.step}")
    return True  # the loader's workers hold the dataset as it was


def train(run: Run) -> None:
    """Train until the schedule ends, ``--max-minutes`` pass or a stop signal comes, checkpointing on the way."""
    import torch

    args, h, model, device = run.args, run.h, run.model, run.device
    dataset, lengths = make_train_set(run)
    spec_augment = model.spec_augmentation
    loader_kw = loader_options(args, device)
    if device.type == "cpu" and keep_freed_memory():
        log("malloc keeps freed memory (no mmap per large tensor)")
    micro_samples = micro_batch_samples(args, h, device)
    model.train()
    run.t_train = t_30 = time.time()
    start_step = run.step
    # a schedule is fitted when it starts in this process: a new run's, or an extension's
    fit = bool(args.fit_minutes) and "fitted_max_steps" not in h and (start_step == 0 or bool(args.extend_steps))
    if fit:  # the schedule's length is a guess until the fit
        args.max_steps = max(args.max_steps, start_step + 131)
        if args.extend_steps:
            h["extend"]["steps"] = args.max_steps - start_step
    tally = LossTally()
    done = False
    stop = StopRequest()
    while not done:  # one loader per phase: clean, then augmented
        dataset.clean_steps = h["augment_from_step"] if h["augment_from_step"] is not None else sys.maxsize
        model.spec_augmentation = spec_augment if h["augment_from_step"] is not None else None
        sampler = EpochBatches(lengths, int(h["batch_seconds"] * SR), args.seed, run.step)
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, **loader_kw)
        restart = False
        for batch in loader:
            tally.add(*train_step(run, batch, micro_samples))
            if run.step == start_step + 30:
                t_30 = time.time()
            if run.step == start_step + 130 and fit:
                fit_schedule(run, start_step, t_30)
            minutes = (run.elapsed_before + time.time() - run.t_train) / 60
            process_minutes = (time.time() - run.t_train) / 60
            if run.step % 50 == 0:
                tally.report(run, sampler.epoch, minutes)
            if (run.step % args.eval_every == 0 or run.step == args.max_steps) and evaluate(run):
                restart = True
            done = (run.step >= args.max_steps or bool(args.max_minutes and process_minutes >= args.max_minutes)
                    or stop.requested is not None)
            if stop.requested:
                log(f"{stop.requested}: stopping after step {run.step} with a checkpoint (a second one stops at once)")
            if run.step % args.checkpoint_every == 0 or done:
                run.save(final=bool(done))
            if done or restart:
                break


def main() -> int:
    args = parse_args()

    import torch

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    h = new_run_hparams(args)
    use_amp = device.type == "cuda" and torch.cuda.is_bf16_supported()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    ck = load_checkpoint(args, device)
    if ck is not None:
        h = ck["hparams"]  # the run's own architecture and schedule, whatever --profile says now
        h.setdefault("profile", "gpu")  # a checkpoint without a profile has the gpu profile's hyper-parameters
    if args.weights_only:
        write_weights_only(args, ck, h)
        return 0
    run = prepare_run(args, h, device, use_amp, ck)
    train(run)
    if h["augment_from_step"] is None:
        log(f"never augmented: the dev CTC WER never fell below {100 * h['augment_below_dev_ctc_wer']:.0f}% "
            "(still on the plateau, or evaluated too rarely: --eval-every)")
    log(f"finished at step {run.step} in {(time.time() - t_start) / 60:.1f} min (this run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
