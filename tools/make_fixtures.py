#!/usr/bin/env python
"""Build Captioner's test fixtures: tiny random-weight NeMo streaming models, their ONNX exports, test
audio and NeMo's own reference outputs. Everything lands in ``tests/fixtures/`` (see its README.md).

Run (needs the export extra: nemo-toolkit[asr], torch, onnx, onnxruntime, sentencepiece, soundfile,
soxr, and ``espeak-ng`` on PATH for the speech clips)::

    $NEMO_PYTHON -m tools.make_fixtures            # everything
    $NEMO_PYTHON -m tools.make_fixtures --no-verify  # skip the ONNX-vs-NeMo check
    $NEMO_PYTHON -m tools.make_fixtures --models tiny-c tiny-d --adopt-nemo tiny-b
        # only these models; the audio and the other models' files and index entries are kept

Deterministic: fixed seeds for torch / numpy / SentencePiece; single-threaded torch. The same NeMo,
torch, ONNX and espeak-ng versions give the same files ON THE SAME KIND OF CPU (those versions are recorded in
``tests/fixtures/reference/cases.json``). Float32 reductions take different SIMD paths on different CPUs, so
elsewhere the calibration-shaped biases and the float32 references differ in their last bits: regenerate a
subset with ``--models`` to leave the committed models untouched (``--adopt-nemo`` then writes the .nemo of a
kept model that matches its committed graphs byte for byte, or fails).

What it does, per tiny model (configs in ``MODELS`` below):

* tiny-a, tiny-b: ``EncDecHybridRNNTCTCBPEModel`` (RNNT + CTC) modelled on NeMo's
  ``fastconformer_hybrid_transducer_ctc_bpe_streaming.yaml`` (= ``stt_en_fastconformer_hybrid_large_streaming_multi``);
* tiny-c: ``EncDecRNNTBPEModel`` (RNNT only) modelled on ``nvidia/nemotron-speech-streaming-en-0.6b``: 128 mels,
  2-layer LSTM prediction net, BatchNorm conv modules (seeded non-trivial statistics), cased + punctuated BPE;
* tiny-d: ``EncDecRNNTBPEModelWithPrompt`` modelled on ``nvidia/nemotron-3.5-asr-streaming-0.6b``: tiny-c's family
  plus a language prompt (non-contiguous ``prompt_dictionary``), references per locale.

1. trains a SentencePiece BPE tokenizer on a generated English corpus;
2. builds the model with random weights (seeded), then lowers the blank logit of the RNNT joint (and the CTC
   head) and scales their output layers so that greedy decoding emits a healthy number of non-blank tokens
   (including repeats) with argmax margins far above float noise; for the prompt model it scales the prompt
   columns of ``prompt_kernel`` so that each locale decodes to different tokens (asserted);
3. saves a byte-reproducible ``.nemo`` (``seed/tiny-a/tiny-a.nemo``, ``nemo/<name>.nemo`` for the others);
4. exports it with ``captioner.export.export_model`` -> ``models/<name>/``;
5. for tiny-a/b, exports it the way the seed guide did (``model.export``) -> ``seed/<name>/`` and, for tiny-b,
   a cache-less (broken) export -> ``broken/``;
6. runs NeMo's streaming loop (``captioner.export.reference``, a copy of NeMo's
   ``speech_to_text_cache_aware_streaming_infer.py`` loop) for every clip x lookahead x mode x decoder
   (x locale) and writes ``reference/<name>.npz`` plus the case index ``reference/cases.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tools.nemo_config_builder import fastconformer_config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SR = 16000

# ---------------------------------------------------------------------------------------------------
# Tiny model configurations
# ---------------------------------------------------------------------------------------------------
# NeMo requires left % (right + 1) == 0 for chunked_limited attention, so tiny-a uses left 28.
MODELS: dict[str, dict[str, Any]] = {
    "tiny-a": {
        "seed": 1234,
        "model_class": "EncDecHybridRNNTCTCBPEModel",
        "decoders": ["rnnt", "ctc"],
        "n_mels": 80,
        "conv_norm_type": "layer_norm",
        "pred_rnn_layers": 1,
        "n_layers": 2,
        "d_model": 64,
        "n_heads": 4,
        "conv_kernel_size": 9,
        "ff_expansion_factor": 4,
        "subsampling_conv_channels": 32,
        "vocab_size": 64,
        "pred_hidden": 64,
        "joint_hidden": 64,
        "att_context_size": [[28, 13], [28, 6], [28, 1], [28, 0]],
        # weight shaping (see shape_weights)
        "joint_enc_scale": 10.0,
        "joint_pred_scale": 3.0,
        "rnnt_out_scale": 4.0,
        "rnnt_blank_bias": 10.0,
        "ctc_out_scale": 4.0,
        "ctc_blank_bias": 3.0,
        "seed_layout": "nemo",  # seed/<name>/ gets the .nemo file
    },
    "tiny-b": {
        "seed": 4321,
        "model_class": "EncDecHybridRNNTCTCBPEModel",
        "decoders": ["rnnt", "ctc"],
        "n_mels": 80,
        "conv_norm_type": "layer_norm",
        "pred_rnn_layers": 1,
        "n_layers": 3,
        "d_model": 48,
        "n_heads": 2,
        "conv_kernel_size": 5,
        "ff_expansion_factor": 2,
        "subsampling_conv_channels": 24,
        "vocab_size": 40,
        "pred_hidden": 32,
        "joint_hidden": 32,
        "att_context_size": [[12, 2], [12, 0]],
        "joint_enc_scale": 15.0,
        "joint_pred_scale": 1.5,
        "rnnt_out_scale": 4.0,
        "rnnt_blank_bias": 7.0,
        "ctc_out_scale": 4.0,
        "ctc_blank_bias": 2.5,
        "seed_layout": "loose",  # seed/<name>/ gets model_config.yaml + tokenizer.model
    },
    # modelled on nvidia/nemotron-speech-streaming-en-0.6b: RNNT only, 128 mels, 2-layer LSTM prediction net,
    # BatchNorm in the conv modules, a cased + punctuated BPE vocabulary
    "tiny-c": {
        "seed": 2468,
        "model_class": "EncDecRNNTBPEModel",
        "decoders": ["rnnt"],
        "n_mels": 128,
        "conv_norm_type": "batch_norm",
        "pred_rnn_layers": 2,
        "n_layers": 2,
        "d_model": 24,
        "n_heads": 4,
        "conv_kernel_size": 5,
        "ff_expansion_factor": 2,
        "subsampling_conv_channels": 16,
        "pos_emb_max_len": 64,
        "vocab_size": 80,
        "cased": True,  # tokenizer corpus with capitals and punctuation
        "pred_hidden": 32,
        "joint_hidden": 32,
        "att_context_size": [[16, 3], [16, 0]],
        "joint_enc_scale": 12.0,
        "joint_pred_scale": 2.0,
        "rnnt_out_scale": 4.0,
        "rnnt_blank_bias": 6.0,
        "seed_layout": None,  # no seed/ export: models/<name>/ and nemo/<name>.nemo only
    },
    # modelled on nvidia/nemotron-3.5-asr-streaming-0.6b: the same family plus a language prompt
    # (EncDecRNNTBPEModelWithPrompt): prompt_dictionary non-contiguous and not starting at 0
    "tiny-d": {
        "seed": 8642,
        "model_class": "EncDecRNNTBPEModelWithPrompt",
        "decoders": ["rnnt"],
        "n_mels": 128,
        "conv_norm_type": "batch_norm",
        "pred_rnn_layers": 2,
        "n_layers": 2,
        "d_model": 24,
        "n_heads": 2,
        "conv_kernel_size": 7,
        "ff_expansion_factor": 2,
        "subsampling_conv_channels": 16,
        "pos_emb_max_len": 64,
        "vocab_size": 88,
        "cased": True,
        "language_tags": True,  # <en-US>, <de-DE>, <fr-FR> are user-defined pieces, as in the real vocabulary
        "pred_hidden": 32,
        "joint_hidden": 32,
        "att_context_size": [[12, 3], [12, 1]],
        "prompt_dictionary": {"auto": 3, "en-US": 7, "de-DE": 12, "fr-FR": 5},
        "num_prompts": 16,
        "locales": ["en-US", "de-DE", "auto"],  # the locales the references are computed for
        "prompt_scale": 2.0,  # prompt columns of prompt_kernel[0] (see shape_prompt)
        "joint_enc_scale": 12.0,
        "joint_pred_scale": 2.0,
        "rnnt_out_scale": 4.0,
        "rnnt_blank_bias": 12.0,
        "seed_layout": None,
    },
}
BROKEN_MODEL = "tiny-b"
PROMPT_CLASS = "EncDecRNNTBPEModelWithPrompt"

# ---------------------------------------------------------------------------------------------------
# Audio clips
# ---------------------------------------------------------------------------------------------------
SPEECH_SHORT = "the quick brown fox jumps over the lazy dog"
SPEECH_LONG = (
    "good morning everyone, thank you for joining the meeting. today we will look at the budget, "
    "the schedule for the next release, and who will write the notes."
)
CLIPS = ("speech_3s", "speech_8s", "silence_2s", "short_60ms", "tone_noise_3s")
ENC_OUT_CLIP = "speech_3s"  # per-step encoder outputs are stored for every case of this clip

WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "it",
    "you",
    "that",
    "he",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "from",
    "or",
    "had",
    "by",
    "hot",
    "word",
    "but",
    "what",
    "some",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "there",
    "when",
    "up",
    "use",
    "your",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
    "did",
    "number",
    "sound",
    "no",
    "most",
    "people",
    "my",
    "over",
    "know",
    "water",
    "than",
    "call",
    "first",
    "who",
    "may",
    "down",
    "side",
    "been",
    "now",
    "find",
    "quick",
    "brown",
    "fox",
    "jumps",
    "lazy",
    "dog",
    "good",
    "morning",
    "everyone",
    "thank",
    "joining",
    "meeting",
    "today",
    "budget",
    "schedule",
    "next",
    "release",
    "notes",
    "zebra",
    "quiz",
    "jazz",
    "vex",
]


def log(msg: str) -> None:
    print(f"[make_fixtures] {msg}", flush=True)


def versions() -> dict[str, str]:
    import nemo
    import onnx
    import onnxruntime
    import sentencepiece
    import torch

    try:
        espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        espeak = "unavailable"
    return {
        "nemo": nemo.__version__,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "sentencepiece": sentencepiece.__version__,
        "numpy": np.__version__,
        "espeak-ng": espeak,
        "python": sys.version.split()[0],
    }


# ---------------------------------------------------------------------------------------------------
# Tokenizer and model
# ---------------------------------------------------------------------------------------------------
NAMES = ["Maria", "Sarah", "Friday", "Monday", "London", "Paris", "Berlin", "OK", "I"]
CASED_EXAMPLES = [
    "Good morning, everyone. Can you hear me?",
    "Thank you for joining the meeting!",
    "The quick brown fox jumps over the lazy dog.",
    "Today we will look at the budget, the schedule for the next release, and who will write the notes.",
]


def _cased_sentence(rng: random.Random) -> str:
    """A random sentence with a capital first letter, some names, commas and an end mark."""
    words = [rng.choice(NAMES) if rng.random() < 0.08 else rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
    words[0] = words[0][:1].upper() + words[0][1:]
    for i in range(len(words) - 1):
        if rng.random() < 0.1:
            words[i] += ","
    return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])


def train_tokenizer(
    out_dir: Path, vocab_size: int, seed: int, cased: bool = False, user_symbols: list[str] | None = None
) -> Path:
    """SentencePiece BPE on a generated corpus: lower case (tiny-a/b) or with capitals and punctuation."""
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    if cased:
        lines = [_cased_sentence(rng) for _ in range(3000)] + CASED_EXAMPLES
    else:
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) for _ in range(3000)]
        lines += [SPEECH_SHORT, SPEECH_LONG.replace(",", "").replace(".", "")]
    extra: dict[str, Any] = {"user_defined_symbols": list(user_symbols)} if user_symbols else {}
    model = io.BytesIO()
    # sentence_iterator + model_writer: no file paths end up in the model's trainer_spec (deterministic bytes)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="bpe",
        character_coverage=1.0,
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        num_threads=1,
        minloglevel=2,
        # real NeMo tokenizers use nmt_nfkc; identity keeps the model file ~1 KB instead of ~240 KB
        normalization_rule_name="identity",
        **extra,
    )
    (out_dir / "tokenizer.model").write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_file=str(out_dir / "tokenizer.model"))
    assert sp.get_piece_size() == vocab_size, (sp.get_piece_size(), vocab_size)
    # NeMo's tokenizer dir layout (scripts/tokenizers/process_asr_text_tokenizer.py) also has vocab.txt
    (out_dir / "vocab.txt").write_text(
        "".join(sp.id_to_piece(i) + "\n" for i in range(sp.get_piece_size())), encoding="utf-8"
    )
    return out_dir


def model_config(p: dict[str, Any], tokenizer_dir: Path) -> Any:
    """NeMo model config (an OmegaConf): hybrid (tiny-a/b), RNNT only, or RNNT with a language prompt."""
    from omegaconf import OmegaConf

    return OmegaConf.create(config_dict(p, tokenizer_dir))


def config_dict(p: dict[str, Any], tokenizer_dir: Path | str) -> dict[str, Any]:
    """:func:`model_config` as a plain dict (``tests/tools/test_nemo_config_builder.py`` reads it without NeMo)."""
    prompt = p["model_class"] == PROMPT_CLASS
    return fastconformer_config(
        tokenizer_dir,
        n_layers=p["n_layers"],
        d_model=p["d_model"],
        n_heads=p["n_heads"],
        ff_expansion_factor=p["ff_expansion_factor"],
        conv_kernel_size=p["conv_kernel_size"],
        subsampling_conv_channels=p["subsampling_conv_channels"],
        pred_hidden=p["pred_hidden"],
        joint_hidden=p["joint_hidden"],
        att_context_size=p["att_context_size"],
        n_mels=p["n_mels"],
        conv_norm_type=p["conv_norm_type"],
        pred_rnn_layers=p["pred_rnn_layers"],
        # real model: 5000 (only the size of the baked pe table differs; streaming windows are short)
        pos_emb_max_len=p.get("pos_emb_max_len", 256),
        untie_biases=None,  # not in the fixtures' configs: NeMo's default (True) applies
        ctc_loss_weight=0.3 if p["model_class"] == "EncDecHybridRNNTCTCBPEModel" else None,
        prompt={"num_prompts": p["num_prompts"], "prompt_dictionary": p["prompt_dictionary"]} if prompt else None,
    )


def calibration_audio(seed: int) -> np.ndarray:
    """4 s synthetic, speech-like signal (seeded) used to centre the random output layers."""
    rng = np.random.default_rng(seed)
    t = np.arange(4 * SR) / SR
    f0 = 120 + 60 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 2.3 * t), 0, None) ** 2
    noise = rng.standard_normal(len(t)) * np.clip(np.sin(2 * np.pi * 1.1 * t + 1.0), 0, None)
    x = 0.3 * voiced * env + 0.2 * noise
    return (x / np.max(np.abs(x)) * 0.5).astype(np.float32)


def randomize_batch_norm(model: Any, seed: int) -> int:
    """Give every encoder BatchNorm non-trivial seeded statistics and affine parameters; returns how many.

    Freshly built BatchNorms are the identity in eval mode (mean 0, var 1, weight 1, bias 0), which would let
    a runtime that ignores them pass; these values make the BatchNorm path change every encoder output.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    n = 0
    with torch.no_grad():
        for module in model.encoder.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                c = module.num_features
                module.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                module.running_var.copy_(0.25 + 3.75 * torch.rand(c, generator=gen))
                module.weight.copy_(0.5 + torch.rand(c, generator=gen))
                module.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                n += 1
    return n


def shape_prompt(model: Any, p: dict[str, Any]) -> None:
    """Scale the prompt columns of ``prompt_kernel[0]`` (Linear(D + P, 2D)) by ``prompt_scale``.

    At random initialisation a one-hot prompt moves the kernel's input by one weight column (about 1/sqrt(D+P)),
    which the encoder features drown; scaled up, each locale shifts the prompted encoder output by its own
    vector, so different locales decode to different tokens (checked in ``check_locales_differ``).
    """
    import torch

    d = int(model.encoder.d_model)
    with torch.no_grad():
        model.prompt_kernel[0].weight[:, d:] *= p["prompt_scale"]


def _calibration_encoded(model: Any, p: dict[str, Any]) -> Any:
    """Encoder outputs ``[D, T]`` of the calibration signal as the decoders see them.

    For a prompt model: the prompted outputs of every referenced locale, concatenated along time, so that
    centring keeps the locales apart.
    """
    import torch

    from captioner.export import reference as ref

    feats = ref.nemo_features(model, calibration_audio(p["seed"]))
    sig = torch.from_numpy(feats)[None]
    enc, enc_len = model.encoder(audio_signal=sig, length=torch.tensor([sig.shape[-1]]))
    enc = enc[:, :, : int(enc_len[0])]
    if not ref.is_prompt_model(model):
        return enc[0]
    outs = []
    for locale in p["locales"]:
        ref.set_locale(model, locale)
        outs.append(ref.apply_prompt(model, enc)[0])
    return torch.cat(outs, dim=1)


def shape_weights(model: Any, p: dict[str, Any]) -> None:
    """Make random weights decode to a healthy mix of blanks and tokens with clear argmax margins.

    Random encoders output nearly the same vector every frame, so the CTC head (hybrids only) and the joint's
    encoder projection are re-centred on the encoder output statistics of a synthetic calibration signal
    (``(e - mean) / std`` folded into the weights) and scaled; then the blank logit is lowered/raised.
    For a prompt model the statistics are those of the prompted outputs over all referenced locales.
    """
    import torch

    blank = model.tokenizer.vocab_size
    with torch.no_grad():
        e = _calibration_encoded(model, p)  # [D, T]
        mu = e.mean(dim=1)
        sd = e.std() + 1e-6

        if hasattr(model, "ctc_decoder"):
            conv = model.ctc_decoder.decoder_layers[0]  # Conv1d(d_model, V+1, 1)
            w = conv.weight[:, :, 0] * (p["ctc_out_scale"] / sd)
            conv.weight.copy_(w[:, :, None])
            conv.bias.copy_(-(w @ mu))
            conv.bias[blank] += p["ctc_blank_bias"]

        lin = model.joint.enc  # Linear(d_model, joint_hidden)
        w = lin.weight * (p["joint_enc_scale"] / sd)
        lin.weight.copy_(w)
        lin.bias.copy_(lin.bias - w @ mu)

        # prediction-net outputs over seeded random label histories: centre and scale their projection
        gen = torch.Generator().manual_seed(p["seed"])
        labels = torch.randint(0, blank, (64, 6), generator=gen)
        g, _ = model.decoder.predict(labels, None, add_sos=True, batch_size=64)  # [64, 7, H]
        g = g.reshape(-1, g.shape[-1])
        lin = model.joint.pred  # Linear(pred_hidden, joint_hidden)
        w = lin.weight * (p["joint_pred_scale"] / (g.std() + 1e-6))
        lin.weight.copy_(w)
        lin.bias.copy_(lin.bias - w @ g.mean(dim=0))

        out = model.joint.joint_net[-1]  # Linear(joint_hidden, V+1)
        out.weight.mul_(p["rnnt_out_scale"])
        out.bias.mul_(p["rnnt_out_scale"])
        out.bias[blank] += p["rnnt_blank_bias"]


def language_tags(p: dict[str, Any]) -> list[str]:
    """``<en-US>``-style pieces for the prompt model's locales (not "auto"), when ``language_tags`` is set."""
    if not p.get("language_tags"):
        return []
    return [f"<{k}>" for k in p["prompt_dictionary"] if k != "auto"]


def language_tag_ids(model_dir: Path, tags: list[str]) -> list[tuple[str, int]]:
    """(tag, token id) of each language tag in the exported tokenizer."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    return [(t, sp.piece_to_id(t)) for t in tags]


def model_class(p: dict[str, Any]) -> Any:
    import nemo.collections.asr.models as asr_models

    return getattr(asr_models, p["model_class"])


def build_model(name: str, work: Path) -> Any:
    import torch

    p = MODELS[name]
    tok_dir = train_tokenizer(
        work / f"{name}-tokenizer", p["vocab_size"], p["seed"], cased=p.get("cased", False),
        user_symbols=language_tags(p),
    )
    torch.manual_seed(p["seed"])
    np.random.seed(p["seed"])
    random.seed(p["seed"])
    model = model_class(p)(cfg=model_config(p, tok_dir))
    model.eval()
    if p["conv_norm_type"] == "batch_norm":
        n = randomize_batch_norm(model, p["seed"] + 1)
        assert n == p["n_layers"], f"expected one BatchNorm per layer, found {n}"
    if p["model_class"] == PROMPT_CLASS:
        assert model.concat and model.num_prompts == p["num_prompts"], "prompt feature not initialised"
        shape_prompt(model, p)
    shape_weights(model, p)
    return model


# ---------------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------------
def _espeak(text: str, work: Path, speed: int) -> np.ndarray:
    import soundfile as sf
    import soxr

    wav = work / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(wav), text], check=True)
    x, sr = sf.read(str(wav), dtype="float64")
    if x.ndim > 1:
        x = x.mean(axis=1)
    y = soxr.resample(x, sr, SR, quality="HQ")
    return np.asarray(y, dtype=np.float64)


def _fit(x: np.ndarray, seconds: float) -> np.ndarray:
    n = round(seconds * SR)
    return np.pad(x, (0, max(0, n - len(x))))[:n]


def _to_int16(x: np.ndarray, peak: float = 0.6) -> np.ndarray:
    m = float(np.max(np.abs(x))) if len(x) else 0.0
    if m > 0:
        x = x * (peak / m)
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def make_audio(out_dir: Path, work: Path) -> dict[str, dict[str, Any]]:
    import soundfile as sf

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    clips: dict[str, tuple[np.ndarray, str]] = {}
    short = _espeak(SPEECH_SHORT, work, 160)
    clips["speech_3s"] = (_to_int16(_fit(short, 3.0)), f"espeak-ng -v en-us -s 160: {SPEECH_SHORT!r}, 3.0 s")
    long_ = _espeak(SPEECH_LONG, work, 175)
    clips["speech_8s"] = (_to_int16(_fit(long_, 8.0)), f"espeak-ng -v en-us -s 175: {SPEECH_LONG!r}, 8.0 s")
    clips["silence_2s"] = (np.zeros(2 * SR, np.int16), "2.0 s of digital silence")
    start = int(0.5 * SR)
    clips["short_60ms"] = (
        _to_int16(short[start : start + int(0.06 * SR)]),
        "0.06 s (960 samples) cut from the speech_3s speech at 0.5 s",
    )
    t = np.arange(3 * SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * (300 * t + 400 * t * t)) + 0.3 * np.sin(2 * np.pi * 1000 * t)
    tone *= (0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * t)) ** 2
    noise = rng.standard_normal(len(t)) * 0.15
    clips["tone_noise_3s"] = (_to_int16(tone + noise), "3.0 s chirp 300-2700 Hz + 1 kHz tone, AM 1.5 Hz, white noise")
    info = {}
    for name, (samples, desc) in clips.items():
        path = out_dir / f"{name}.wav"
        sf.write(str(path), samples, SR, subtype="PCM_16")
        info[name] = {
            "file": f"audio/{name}.wav",
            "samples": len(samples),
            "seconds": len(samples) / SR,
            "source": desc,
        }
    return info


def load_clip(path: Path) -> np.ndarray:
    import soundfile as sf

    x, sr = sf.read(str(path), dtype="float32")
    assert sr == SR and x.ndim == 1, (path, sr, x.shape)
    return x


# ---------------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------------
def repack_nemo(path: Path) -> None:
    """Make a ``.nemo`` byte-reproducible: NeMo names artifacts ``<uuid4>_file`` and stamps mtimes.

    Artifacts are renamed ``<md5(content)>_file`` (and ``model_config.yaml`` updated), members sorted, and
    mtime/uid/gid zeroed. NeMo restores the result like the original.
    """
    import hashlib
    import re
    import tarfile

    with tarfile.open(path, "r:") as tar:
        members = {m.name.lstrip("./"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    rename = {}
    for name, data in members.items():
        m = re.fullmatch(r"[0-9a-f]{32}_(.+)", name)
        if m:
            rename[name] = f"{hashlib.md5(data).hexdigest()}_{m.group(1)}"
    cfg = members.pop("model_config.yaml").decode("utf-8")
    for old, new in rename.items():
        cfg = cfg.replace(old, new)
    # the tokenizer was trained in a temporary folder; restoring uses tokenizer.model_path (nemo:...)
    cfg = re.sub(r"(?m)^(  dir: ).*captioner-fixtures-[^\n]*$", r"\1.", cfg)
    files = {rename.get(k, k): v for k, v in members.items()}
    files["model_config.yaml"] = cfg.encode("utf-8")
    with tarfile.open(path, "w:", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo("./" + name)
            info.size = len(files[name])
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))


def fresh_model(nemo_path: Path, name: str) -> Any:
    """Restore ``MODELS[name]`` from its .nemo with NeMo's own ``<class>.restore_from``.

    ``EncDecRNNTBPEModelWithPrompt.restore_from`` delegates to ``EncDecRNNTBPEModel.restore_from``; that
    instantiates the class the saved config's ``target`` names, i.e. the prompt class, whose ``__init__`` runs
    ``initialize_prompt_feature()`` (``model_defaults.initialize_prompt_feature: true``) before the state dict,
    ``prompt_kernel.*`` included, is loaded strictly.
    """
    import torch

    p = MODELS[name]
    m = model_class(p).restore_from(str(nemo_path), map_location=torch.device("cpu"))
    if type(m).__name__ != p["model_class"]:
        raise RuntimeError(f"{nemo_path} restored as {type(m).__name__}, not {p['model_class']}")
    if p["model_class"] == PROMPT_CLASS and not (getattr(m, "concat", False) and hasattr(m, "prompt_kernel")):
        raise RuntimeError(f"{nemo_path}: the prompt feature was not initialised on restore")
    m.eval()
    return m


def _clean(d: Path) -> Path:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def write_loose_config(model: Any, d: Path) -> None:
    """``model_config.yaml`` + ``tokenizer.model`` as if untarred from the .nemo (tokenizer paths local)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(model.cfg, resolve=True)
    cfg["tokenizer"] = {"dir": None, "type": "bpe", "model_path": "tokenizer.model"}
    cfg.pop("train_ds", None), cfg.pop("validation_ds", None), cfg.pop("test_ds", None)
    (d / "model_config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(cfg)), encoding="utf-8")
    (d / "tokenizer.model").write_bytes(model.tokenizer.tokenizer.serialized_model_proto())


def export_seed(nemo_path: Path, name: str, d: Path, layout: str) -> None:
    """The seed guide's way: model.export with cache support (default lookahead), RNNT pair + CTC graph."""
    import torch

    _clean(d)
    model = fresh_model(nemo_path, name)
    torch.manual_seed(0)
    model.set_export_config({"cache_support": "True"})
    model.export(str(d / f"{name}.onnx"))  # -> encoder-<name>.onnx, decoder_joint-<name>.onnx
    model = fresh_model(nemo_path, name)
    torch.manual_seed(0)
    model.set_export_config({"decoder_type": "ctc", "cache_support": "True"})
    model.export(str(d / f"{name}.onnx"))  # -> <name>.onnx (encoder + CTC, log-probs)
    if layout == "nemo":
        shutil.copyfile(nemo_path, d / f"{name}.nemo")
    else:
        write_loose_config(model, d)


def export_broken(nemo_path: Path, name: str, d: Path) -> None:
    """Cache-less exports (``cache_support`` off): the seed's broken "sh sh sh" models."""
    import torch

    _clean(d)
    model = fresh_model(nemo_path, name)
    torch.manual_seed(0)
    model.set_export_config({"cache_support": False})
    model.export(str(d / f"{name}.onnx"))
    model = fresh_model(nemo_path, name)
    torch.manual_seed(0)
    model.set_export_config({"decoder_type": "ctc", "cache_support": False})
    model.export(str(d / f"{name}.onnx"))
    write_loose_config(model, d)


# ---------------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------------
def _repeats(ids: list[int], frames: list[int], steps: list[Any]) -> tuple[int, int]:
    """(same id twice on one frame, same id on the last frame of one step and the first of the next)."""
    in_frame = sum(1 for i in range(1, len(ids)) if ids[i] == ids[i - 1] and frames[i] == frames[i - 1])
    starts = {s.first_frame for s in steps[1:]}
    across = sum(
        1 for i in range(1, len(ids)) if ids[i] == ids[i - 1] and frames[i] in starts and frames[i - 1] == frames[i] - 1
    )
    return in_frame, across


def _steps_array(steps: list[Any]) -> np.ndarray:
    return np.array(
        [
            [s.window, s.length, s.drop_extra_pre_encoded, int(s.keep_all_outputs), s.encoded_len, s.first_frame]
            for s in steps
        ],
        dtype=np.int32,
    ).reshape(-1, 6)


def make_references(
    nemo_path: Path, name: str, clips: dict[str, Path], out: Path
) -> tuple[list[dict], list[dict], str]:
    """Every clip x lookahead x mode x decoder (x locale for a prompt model) through NeMo's streaming loop.

    Keys of a prompt model's arrays end in ``/<locale>`` (``ids/<clip>/la<ms>/<mode>/rnnt/<locale>``,
    ``enc/<clip>/la<ms>/<mode>/<locale>``: the prompted encoder output); ``steps/`` do not depend on it.
    """
    from captioner.export import reference as ref

    model = fresh_model(nemo_path, name)
    p = MODELS[name]
    decoders = tuple(p["decoders"])
    assert decoders == ref.model_decoders(model), (decoders, ref.model_decoders(model))
    locales: list[str | None] = list(p["locales"]) if p["model_class"] == PROMPT_CLASS else [None]
    sub = int(model.encoder.subsampling_factor)
    arrays: dict[str, np.ndarray] = {}
    cases: list[dict[str, Any]] = []
    offline: list[dict[str, Any]] = []
    ref.configure_decoding(model, "rnnt")
    greedy_impl = ref.rnnt_greedy_implementation(model)
    for clip, wav in clips.items():
        audio = load_clip(wav)
        feats = ref.nemo_features(model, audio)
        arrays[f"features/{clip}"] = feats
        for att in p["att_context_size"]:
            ms = att[1] * sub * 10
            la = f"la{ms}"
            for mode in ref.MODES:
                steps_key = f"steps/{clip}/{la}/{mode}"
                for locale in locales:
                    sfx = "" if locale is None else f"/{locale}"
                    enc_key = f"enc/{clip}/{la}/{mode}{sfx}"
                    enc_ref = None
                    for dec in decoders:
                        r = ref.stream_reference(model, audio, att, mode, dec, locale=locale)
                        ids2, fr2, margins = ref.redecode(model, r.encoder_out, dec)
                        if (ids2, fr2) != (r.ids, r.frames):
                            raise RuntimeError(f"{name}/{clip}/{la}/{mode}/{dec}{sfx}: re-decode disagrees with NeMo")
                        steps = _steps_array(r.steps)
                        if steps_key in arrays:
                            if not np.array_equal(arrays[steps_key], steps):
                                raise RuntimeError(f"{steps_key}: steps differ between decoders or locales")
                        else:
                            arrays[steps_key] = steps
                        if enc_ref is None:
                            enc_ref = r.encoder_out
                            arrays[enc_key] = r.encoder_out
                        elif not np.array_equal(enc_ref, r.encoder_out):
                            raise RuntimeError("encoder outputs differ between decoders")
                        gb_same = None
                        if dec == "rnnt":
                            rb = ref.stream_reference(
                                model, audio, att, mode, dec, rnnt_strategy="greedy_batch", locale=locale
                            )
                            gb_same = rb.ids == r.ids
                        key = f"{clip}/{la}/{mode}/{dec}{sfx}"
                        arrays[f"ids/{key}"] = np.asarray(r.ids, np.int32)
                        arrays[f"frames/{key}"] = np.asarray(r.frames, np.int32)
                        if r.frame_argmax is not None:
                            arrays[f"frame_argmax/{key}"] = np.asarray(r.frame_argmax, np.int32)
                        rep_f, rep_x = _repeats(r.ids, r.frames, r.steps)
                        cases.append(
                            {
                                "id": f"{name}/{key}",
                                "model": name,
                                "clip": clip,
                                "wav": f"audio/{clip}.wav",
                                "lookahead_ms": ms,
                                "att_context_size": list(att),
                                "mode": mode,
                                "decoder": dec,
                                "npz": f"reference/{name}.npz",
                                "ids_key": f"ids/{key}",
                                "frames_key": f"frames/{key}",
                                "frame_argmax_key": f"frame_argmax/{key}" if dec == "ctc" else None,
                                "features_key": f"features/{clip}",
                                "enc_key": enc_key,
                                "steps_key": steps_key,
                                "n_feature_frames": int(feats.shape[1]),
                                "n_encoder_frames": int(r.encoder_out.shape[1]),
                                "n_steps": len(r.steps),
                                "n_tokens": len(r.ids),
                                "repeats_in_frame": rep_f,
                                "repeats_across_steps": rep_x,
                                "min_margin": round(min(margins), 6) if margins else None,
                                "greedy_batch_same": gb_same,
                                "text": model.tokenizer.ids_to_text(r.ids) if r.ids else "",
                                "locale": locale,
                            }
                        )
            for locale in locales:
                sfx = "" if locale is None else f"/{locale}"
                for dec in decoders:
                    ids, frames, enc = ref.offline_reference(model, feats, att, dec, locale=locale)
                    key = f"{clip}/{la}/{dec}{sfx}"
                    enc_key = f"offline_enc/{clip}/{la}{sfx}"
                    arrays[f"offline_ids/{key}"] = np.asarray(ids, np.int32)
                    arrays[f"offline_frames/{key}"] = np.asarray(frames, np.int32)
                    arrays[enc_key] = enc
                    mode_a = arrays[f"enc/{clip}/{la}/A{sfx}"]
                    n = min(enc.shape[1], mode_a.shape[1])
                    offline.append(
                        {
                            "model": name,
                            "clip": clip,
                            "lookahead_ms": ms,
                            "decoder": dec,
                            "ids_key": f"offline_ids/{key}",
                            "frames_key": f"offline_frames/{key}",
                            "enc_key": enc_key,
                            "n_tokens": len(ids),
                            "n_encoder_frames": int(enc.shape[1]),
                            "mode_a_max_abs_enc_diff": float(
                                np.max(np.abs(enc[:, :n] - mode_a[:, :n]), initial=0.0)
                            ),
                            "locale": locale,
                        }
                    )
    if len(locales) > 1:
        n = check_locales_differ(name, cases, arrays)
        log(f"{name}: token ids differ between every pair of locales ({n} speech comparisons)")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return cases, offline, greedy_impl


SPEECH_CLIPS = ("speech_3s", "speech_8s")


def check_locales_differ(name: str, cases: list[dict[str, Any]], arrays: dict[str, np.ndarray]) -> int:
    """A prompt model must decode the speech clips to different token ids for every pair of locales, in every
    lookahead x mode, so that a runtime ignoring the language (or feeding a wrong prompt index) fails.
    Returns the number of (group, locale pair) comparisons made."""
    import itertools

    groups: dict[tuple[Any, ...], dict[str, str]] = {}
    for c in cases:
        if c["clip"] in SPEECH_CLIPS:
            groups.setdefault((c["clip"], c["lookahead_ms"], c["mode"], c["decoder"]), {})[c["locale"]] = c["ids_key"]
    n = 0
    for group, by_locale in groups.items():
        for a, b in itertools.combinations(sorted(by_locale), 2):
            ids_a, ids_b = arrays[by_locale[a]].tolist(), arrays[by_locale[b]].tolist()
            if not ids_a or not ids_b:
                raise RuntimeError(f"{name} {group}: locale {a if not ids_a else b} emits no tokens")
            if ids_a == ids_b:
                raise RuntimeError(f"{name} {group}: locales {a} and {b} decode to the same tokens")
            n += 1
    if not n:
        raise RuntimeError(f"{name}: no locale pairs were compared")
    return n


# ---------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------
GENERATED_DIRS = ("audio", "broken", "models", "nemo", "reference", "seed")


def file_table(root: Path) -> list[dict[str, Any]]:
    """Size (and ONNX I/O) of every file this script writes (other folders under tests/fixtures are not its own)."""
    rows = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] in GENERATED_DIRS and path.name not in ("README.md", "files.json"):
            row: dict[str, Any] = {"path": str(rel), "bytes": path.stat().st_size}
            if path.suffix == ".onnx":
                from captioner.export.nemo_export import graph_io

                row["io"] = graph_io(path)
            rows.append(row)
    return rows


def nemo_rel_path(name: str) -> str:
    """Where a model's repacked .nemo lives: tiny-a's is its seed file, the others' ``nemo/<name>.nemo``."""
    return f"seed/{name}/{name}.nemo" if MODELS[name]["seed_layout"] == "nemo" else f"nemo/{name}.nemo"


def static_model_info(name: str) -> dict[str, Any]:
    """The ``models[name]`` fields that follow from ``MODELS`` alone."""
    p = MODELS[name]
    return {
        "model_dir": f"models/{name}",
        "seed_dir": f"seed/{name}" if p["seed_layout"] is not None else None,
        "nemo": nemo_rel_path(name),
        "npz": f"reference/{name}.npz",
        "model_class": p["model_class"],
        "decoders": list(p["decoders"]),
        "n_mels": p["n_mels"],
        "att_context_size": p["att_context_size"],
        "config": {k: v for k, v in p.items() if k != "att_context_size"},
    }


def adopt_committed_nemo(name: str, out: Path, work: Path) -> Path:
    """Write ``nemo/<name>.nemo`` for a model whose committed graphs were made on another machine.

    The calibration-derived tensors of ``shape_weights`` (means, stds and matmuls in float32) differ in their
    last bits between CPUs (SIMD paths), so a model rebuilt here can differ from the committed one by ~1e-6.
    This rebuilds the model, takes every tensor that the committed ``models/<name>/`` graphs store under its
    parameter name (the biases and heads shaped by ``shape_weights``), and then requires that exporting the
    result reproduces every committed graph of ``models/<name>/`` byte for byte; otherwise it fails.
    """
    import filecmp

    import onnx
    import torch
    from onnx import numpy_helper

    from captioner.export import export_model

    work.mkdir(parents=True, exist_ok=True)
    model = build_model(name, work)
    state = model.state_dict()
    committed_dir = out / "models" / name
    adopted: dict[str, float] = {}
    with torch.no_grad():
        for graph in sorted(committed_dir.glob("*.onnx")):
            for init in onnx.load(str(graph)).graph.initializer:
                value = numpy_helper.to_array(init)
                for prefix in ("", "encoder.", "ctc_decoder."):
                    key = prefix + init.name
                    if key in state and tuple(state[key].shape) == value.shape and key not in adopted:
                        diff = float(np.max(np.abs(state[key].numpy() - value), initial=0.0))
                        state[key].copy_(torch.from_numpy(np.ascontiguousarray(value)))
                        adopted[key] = diff
    changed = {k: d for k, d in adopted.items() if d > 0}
    log(f"{name}: adopted {len(adopted)} named tensors from the committed graphs; changed {changed}")
    nemo_path = work / f"{name}.nemo"
    model.save_to(str(nemo_path))
    repack_nemo(nemo_path)
    check = work / f"{name}-adopt-check"
    export_model(fresh_model(nemo_path, name), check, verify=False, name=name, share=False, compact=False)
    differ = [g.name for g in sorted(committed_dir.glob("*.onnx")) if not filecmp.cmp(g, check / g.name, shallow=False)]
    if differ:
        raise RuntimeError(f"{name}: the adopted model does not reproduce the committed graphs {differ}")
    (out / "nemo").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(nemo_path, out / nemo_rel_path(name))
    log(f"{name}: {nemo_rel_path(name)} reproduces all committed models/{name}/*.onnx byte for byte")
    return out / nemo_rel_path(name)


def generate_model(name: str, out: Path, work: Path, clips: dict[str, Path], verify: bool) -> tuple[Any, ...]:
    """Build, export and reference one model; returns (models info, cases, offline, greedy implementation)."""
    from captioner.export import export_model

    p = MODELS[name]
    log(f"{name}: build")
    model = build_model(name, work)
    nemo_path = work / f"{name}.nemo"
    model.save_to(str(nemo_path))
    repack_nemo(nemo_path)
    del model
    # every model's repacked (byte-reproducible) .nemo, for import tests; tiny-a's is seed/tiny-a/tiny-a.nemo
    if p["seed_layout"] != "nemo":
        (out / "nemo").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(nemo_path, out / nemo_rel_path(name))
    log(f"{name}: export_model -> models/{name}")
    spec = export_model(
        fresh_model(nemo_path, name), _clean(out / "models" / name), verify=verify, name=name,
        share=False, compact=False,  # graphs as torch exported them: tests derive shared/compacted copies
    )
    if p["seed_layout"] is not None:
        log(f"{name}: seed export")
        export_seed(nemo_path, name, out / "seed" / name, p["seed_layout"])
    if name == BROKEN_MODEL:
        log(f"{name}: broken (cache-less) export")
        export_broken(nemo_path, name, out / "broken")
    log(f"{name}: NeMo references")
    cases, offline, greedy_impl = make_references(nemo_path, name, clips, out / "reference" / f"{name}.npz")
    info = static_model_info(name)
    info.update(lookaheads_ms=spec.lookaheads_ms(), vocab_size=spec.vocab_size, blank_id=spec.blank_id)
    if spec.prompt is not None:
        info["locales"] = list(p["locales"])
        info["prompt"] = {
            "dictionary": dict(spec.prompt.dictionary),
            "num_prompts": spec.prompt.num_prompts,
            "default": spec.prompt.default,
        }
        info["language_tags"] = dict(language_tag_ids(out / "models" / name, language_tags(p)))
    return info, cases, offline, greedy_impl


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=FIXTURES)
    ap.add_argument("--no-verify", action="store_true", help="skip export_model's ONNX-vs-NeMo token check")
    ap.add_argument(
        "--models", nargs="*", default=list(MODELS),
        help="models to (re)generate (default: all). With a subset, the audio and the other models' files are "
        "kept and their entries of reference/cases.json are carried over (new index fields filled in)",
    )
    ap.add_argument(
        "--adopt-nemo", nargs="*", default=[], metavar="MODEL",
        help="for kept models: write nemo/<name>.nemo matching the committed graphs (see adopt_committed_nemo)",
    )
    args = ap.parse_args()
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        ap.error(f"unknown models {unknown}; known: {list(MODELS)}")

    import logging

    import torch
    from nemo.utils import logging as nemo_logging

    nemo_logging.setLevel(logging.ERROR)
    torch.set_num_threads(1)
    os.environ.setdefault("PYTHONHASHSEED", "0")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    regenerate = [m for m in MODELS if m in args.models]
    kept = [m for m in MODELS if m not in args.models]
    old: dict[str, Any] = {}
    if kept:
        old_path = out / "reference" / "cases.json"
        if not old_path.is_file():
            ap.error(f"--models {' '.join(args.models)} keeps {kept}, but {old_path} does not exist")
        old = json.loads(old_path.read_text(encoding="utf-8"))
        missing = [m for m in kept if m not in old.get("models", {})]
        if missing:
            ap.error(f"{old_path} has no entries for {missing}: regenerate them too")
    bad_adopt = sorted(set(args.adopt_nemo) - set(kept))
    if bad_adopt:
        ap.error(f"--adopt-nemo takes kept models only, not {bad_adopt}")
    generated: dict[str, tuple[Any, ...]] = {}
    with tempfile.TemporaryDirectory(prefix="captioner-fixtures-") as tmp:
        work = Path(tmp)
        if kept:
            log("audio: kept (the kept references were computed on it)")
            clips_info = old["clips"]
        else:
            log("audio")
            _clean(out / "audio")
            clips_info = make_audio(out / "audio", work)
        clips = {c: out / "audio" / f"{c}.wav" for c in CLIPS}
        for name in regenerate:
            generated[name] = generate_model(name, out, work, clips, verify=not args.no_verify)
        for name in args.adopt_nemo:
            adopt_committed_nemo(name, out, work / "adopt")
    models_info: dict[str, Any] = {}
    all_cases: list[dict] = []
    all_offline: list[dict] = []
    greedy_impl = old.get("rnnt_greedy_implementation", "")
    for name in MODELS:
        if name in generated:
            info, cases, offline, greedy_impl = generated[name]
        else:
            info = {**old["models"][name], **static_model_info(name)}
            cases = [c for c in old["cases"] if c["model"] == name]
            offline = [c for c in old["offline"] if c["model"] == name]
            for c in cases + offline:
                c.setdefault("locale", None)
        models_info[name] = info
        all_cases += cases
        all_offline += offline
    missing_nemo = [m for m in MODELS if not (out / nemo_rel_path(m)).is_file()]
    if missing_nemo:
        log(f"WARNING: no .nemo for {missing_nemo} (regenerate them, or --adopt-nemo for kept ones)")
    index = {
        "generator": "tools/make_fixtures.py",
        "versions": versions(),
        "rnnt_greedy_implementation": greedy_impl,
        "rnnt_max_symbols": 10,
        "modes": {
            "A": "NeMo script default: step 0 = feats[0:chunk[0]] without pre-encode cache, drop 0; later steps "
            "feats[idx-9:idx+chunk[1]], drop 2",
            "B": "pad_and_drop_preencoded=True: step 0 = 9 zero frames + feats[0:chunk[1]], drop 2 always",
        },
        "frame_index": "global encoder frame = index into the concatenation of all steps' encoder outputs "
        "(RNNT: frames of earlier steps + NeMo's chunk-local timestamp; CTC: first frame of the run)",
        "steps_columns": [
            "window",
            "length",
            "drop_extra_pre_encoded",
            "keep_all_outputs",
            "encoded_len",
            "first_frame",
        ],
        "clips": clips_info,
        "models": models_info,
        "broken": {"model": BROKEN_MODEL, "dir": "broken"},
        "cases": all_cases,
        "offline": all_offline,
    }
    if old and old.get("versions") != index["versions"]:
        log(f"WARNING: kept models were made with {old.get('versions')}, now {index['versions']}")
    (out / "reference").mkdir(exist_ok=True)
    (out / "reference" / "cases.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    (out / "reference" / "files.json").write_text(json.dumps(file_table(out), indent=1) + "\n", encoding="utf-8")
    n_tok = sum(c["n_tokens"] for c in all_cases)
    log(
        f"{len(all_cases)} cases, {n_tok} non-blank tokens; min margin "
        f"{min(c['min_margin'] for c in all_cases if c['min_margin'] is not None)}"
    )
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file() and f.relative_to(out).parts[0] in
                GENERATED_DIRS)
    log(f"total size {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
