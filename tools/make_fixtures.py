#!/usr/bin/env python
"""Build Captioner's test fixtures: tiny random-weight NeMo streaming models, their ONNX exports, test
audio and NeMo's own reference outputs. Everything lands in ``tests/fixtures/`` (see its README.md).

Run (needs the export extra: nemo-toolkit[asr], torch, onnx, onnxruntime, sentencepiece, soundfile,
soxr, and ``espeak-ng`` on PATH for the speech clips)::

    /work/venvs/nemo/bin/python tools/make_fixtures.py            # everything
    /work/venvs/nemo/bin/python tools/make_fixtures.py --no-verify  # skip the ONNX-vs-NeMo check

Deterministic: fixed seeds for torch / numpy / SentencePiece; single-threaded torch. The same NeMo,
torch, ONNX and espeak-ng versions give the same files (those versions are recorded in
``tests/fixtures/reference/cases.json``).

What it does, per tiny model (configs in ``MODELS`` below, modelled on NeMo's
``fastconformer_hybrid_transducer_ctc_bpe_streaming.yaml`` = ``stt_en_fastconformer_hybrid_large_streaming_multi``):

1. trains a SentencePiece BPE tokenizer on a generated English corpus;
2. builds an ``EncDecHybridRNNTCTCBPEModel`` with random weights (seeded), then lowers the blank logit
   of the RNNT joint and the CTC head and scales their output layers so that greedy decoding emits a
   healthy number of non-blank tokens (including repeats) with argmax margins far above float noise;
3. exports it with ``captioner.export.export_model`` -> ``models/<name>/``;
4. exports it the way the seed guide did (``model.export``) -> ``seed/<name>/`` and, for one model,
   a cache-less (broken) export -> ``broken/``;
5. runs NeMo's streaming loop (``captioner.export.reference``, a copy of NeMo's
   ``speech_to_text_cache_aware_streaming_infer.py`` loop) for every clip x lookahead x mode x decoder
   and writes ``reference/<name>.npz`` plus the case index ``reference/cases.json``.
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

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SR = 16000

# ---------------------------------------------------------------------------------------------------
# Tiny model configurations
# ---------------------------------------------------------------------------------------------------
# NeMo requires left % (right + 1) == 0 for chunked_limited attention, so tiny-a uses left 28.
MODELS: dict[str, dict[str, Any]] = {
    "tiny-a": {
        "seed": 1234,
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
}
BROKEN_MODEL = "tiny-b"

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
def train_tokenizer(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) for _ in range(3000)]
    lines += [SPEECH_SHORT, SPEECH_LONG.replace(",", "").replace(".", "")]
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
    from omegaconf import OmegaConf

    return OmegaConf.create(
        {
            "sample_rate": SR,
            "compute_eval_loss": False,
            "log_prediction": False,
            "skip_nan_grad": False,
            "model_defaults": {
                "enc_hidden": p["d_model"],
                "pred_hidden": p["pred_hidden"],
                "joint_hidden": p["joint_hidden"],
            },
            "tokenizer": {"dir": str(tokenizer_dir), "type": "bpe"},
            "preprocessor": {
                "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                "sample_rate": SR,
                "normalize": "NA",
                "window_size": 0.025,
                "window_stride": 0.01,
                "window": "hann",
                "features": 80,
                "n_fft": 512,
                "frame_splicing": 1,
                "dither": 1.0e-05,
                "pad_to": 0,
            },
            "encoder": {
                "_target_": "nemo.collections.asr.modules.ConformerEncoder",
                "feat_in": 80,
                "feat_out": -1,
                "n_layers": p["n_layers"],
                "d_model": p["d_model"],
                "use_bias": True,
                "subsampling": "dw_striding",
                "subsampling_factor": 8,
                "subsampling_conv_channels": p["subsampling_conv_channels"],
                "causal_downsampling": True,
                "ff_expansion_factor": p["ff_expansion_factor"],
                "self_attention_model": "rel_pos",
                "n_heads": p["n_heads"],
                "att_context_size": p["att_context_size"],
                "att_context_style": "chunked_limited",
                "att_context_probs": None,
                "xscaling": True,
                "pos_emb_max_len": 256,  # real model: 5000 (only the size of the baked pe table differs)
                "conv_kernel_size": p["conv_kernel_size"],
                "conv_norm_type": "layer_norm",
                "conv_context_size": "causal",
                "dropout": 0.1,
                "dropout_pre_encoder": 0.1,
                "dropout_emb": 0.0,
                "dropout_att": 0.1,
                "stochastic_depth_drop_prob": 0.0,
                "stochastic_depth_mode": "linear",
                "stochastic_depth_start_layer": 1,
            },
            "decoder": {
                "_target_": "nemo.collections.asr.modules.RNNTDecoder",
                "normalization_mode": None,
                "random_state_sampling": False,
                "blank_as_pad": True,
                "prednet": {"pred_hidden": p["pred_hidden"], "pred_rnn_layers": 1, "t_max": None, "dropout": 0.2},
            },
            "joint": {
                "_target_": "nemo.collections.asr.modules.RNNTJoint",
                "log_softmax": None,
                "preserve_memory": False,
                "fuse_loss_wer": False,
                "jointnet": {"joint_hidden": p["joint_hidden"], "activation": "relu", "dropout": 0.2},
            },
            "decoding": {"strategy": "greedy_batch", "greedy": {"max_symbols": 10}},
            "aux_ctc": {
                "ctc_loss_weight": 0.3,
                "use_cer": False,
                "ctc_reduction": "mean_batch",
                "decoder": {
                    "_target_": "nemo.collections.asr.modules.ConvASRDecoder",
                    "feat_in": None,
                    "num_classes": -1,
                    "vocabulary": [],
                },
                "decoding": {"strategy": "greedy"},
            },
            "optim": None,
        }
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


def shape_weights(model: Any, p: dict[str, Any]) -> None:
    """Make random weights decode to a healthy mix of blanks and tokens with clear argmax margins.

    Random encoders output nearly the same vector every frame, so the CTC head and the joint's encoder
    projection are re-centred on the encoder output statistics of a synthetic calibration signal
    (``(e - mean) / std`` folded into the weights) and scaled; then the blank logit is lowered/raised.
    """
    import torch

    from captioner.export import reference as ref

    blank = model.tokenizer.vocab_size
    feats = ref.nemo_features(model, calibration_audio(p["seed"]))
    with torch.no_grad():
        sig = torch.from_numpy(feats)[None]
        enc, enc_len = model.encoder(audio_signal=sig, length=torch.tensor([sig.shape[-1]]))
        e = enc[0, :, : int(enc_len[0])]  # [D, T]
        mu = e.mean(dim=1)
        sd = e.std() + 1e-6

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


def build_model(name: str, work: Path) -> Any:
    import torch
    from nemo.collections.asr.models import EncDecHybridRNNTCTCBPEModel

    p = MODELS[name]
    tok_dir = train_tokenizer(work / f"{name}-tokenizer", p["vocab_size"], p["seed"])
    torch.manual_seed(p["seed"])
    np.random.seed(p["seed"])
    random.seed(p["seed"])
    model = EncDecHybridRNNTCTCBPEModel(cfg=model_config(p, tok_dir))
    model.eval()
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


def fresh_model(nemo_path: Path) -> Any:
    import torch
    from nemo.collections.asr.models import EncDecHybridRNNTCTCBPEModel

    m = EncDecHybridRNNTCTCBPEModel.restore_from(str(nemo_path), map_location=torch.device("cpu"))
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
    model = fresh_model(nemo_path)
    torch.manual_seed(0)
    model.set_export_config({"cache_support": "True"})
    model.export(str(d / f"{name}.onnx"))  # -> encoder-<name>.onnx, decoder_joint-<name>.onnx
    model = fresh_model(nemo_path)
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
    model = fresh_model(nemo_path)
    torch.manual_seed(0)
    model.set_export_config({"cache_support": False})
    model.export(str(d / f"{name}.onnx"))
    model = fresh_model(nemo_path)
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


def make_references(
    nemo_path: Path, name: str, clips: dict[str, Path], out: Path
) -> tuple[list[dict], list[dict], str]:
    from captioner.export import reference as ref

    model = fresh_model(nemo_path)
    p = MODELS[name]
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
                enc_key = f"enc/{clip}/{la}/{mode}"
                steps_key = f"steps/{clip}/{la}/{mode}"
                enc_ref = None
                for dec in ref.DECODERS:
                    r = ref.stream_reference(model, audio, att, mode, dec)
                    ids2, fr2, margins = ref.redecode(model, r.encoder_out, dec)
                    if (ids2, fr2) != (r.ids, r.frames):
                        raise RuntimeError(f"{name}/{clip}/{la}/{mode}/{dec}: re-decode disagrees with NeMo")
                    if enc_ref is None:
                        enc_ref = r.encoder_out
                        arrays[enc_key] = r.encoder_out
                        arrays[steps_key] = np.array(
                            [
                                [
                                    s.window,
                                    s.length,
                                    s.drop_extra_pre_encoded,
                                    int(s.keep_all_outputs),
                                    s.encoded_len,
                                    s.first_frame,
                                ]
                                for s in r.steps
                            ],
                            dtype=np.int32,
                        ).reshape(-1, 6)
                    elif not np.array_equal(enc_ref, r.encoder_out):
                        raise RuntimeError("encoder outputs differ between decoders")
                    gb_same = None
                    if dec == "rnnt":
                        rb = ref.stream_reference(model, audio, att, mode, dec, rnnt_strategy="greedy_batch")
                        gb_same = rb.ids == r.ids
                    key = f"{clip}/{la}/{mode}/{dec}"
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
                        }
                    )
            for dec in ref.DECODERS:
                ids, frames, enc = ref.offline_reference(model, feats, att, dec)
                key = f"{clip}/{la}/{dec}"
                arrays[f"offline_ids/{key}"] = np.asarray(ids, np.int32)
                arrays[f"offline_frames/{key}"] = np.asarray(frames, np.int32)
                arrays[f"offline_enc/{clip}/{la}"] = enc
                mode_a = arrays[f"enc/{clip}/{la}/A"]
                n = min(enc.shape[1], mode_a.shape[1])
                offline.append(
                    {
                        "model": name,
                        "clip": clip,
                        "lookahead_ms": ms,
                        "decoder": dec,
                        "ids_key": f"offline_ids/{key}",
                        "frames_key": f"offline_frames/{key}",
                        "enc_key": f"offline_enc/{clip}/{la}",
                        "n_tokens": len(ids),
                        "n_encoder_frames": int(enc.shape[1]),
                        "mode_a_max_abs_enc_diff": float(np.max(np.abs(enc[:, :n] - mode_a[:, :n]), initial=0.0)),
                    }
                )
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return cases, offline, greedy_impl


# ---------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------
def file_table(root: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name not in ("README.md", "files.json"):
            row: dict[str, Any] = {"path": str(path.relative_to(root)), "bytes": path.stat().st_size}
            if path.suffix == ".onnx":
                from captioner.export.nemo_export import graph_io

                row["io"] = graph_io(path)
            rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=FIXTURES)
    ap.add_argument("--no-verify", action="store_true", help="skip export_model's ONNX-vs-NeMo token check")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()

    import logging

    import torch
    from nemo.utils import logging as nemo_logging

    nemo_logging.setLevel(logging.ERROR)
    torch.set_num_threads(1)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    from captioner.export import export_model

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    all_cases: list[dict] = []
    all_offline: list[dict] = []
    models_info: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="captioner-fixtures-") as tmp:
        work = Path(tmp)
        log("audio")
        _clean(out / "audio")
        clips_info = make_audio(out / "audio", work)
        clips = {c: out / "audio" / f"{c}.wav" for c in CLIPS}
        greedy_impl = ""
        for name in args.models:
            log(f"{name}: build")
            model = build_model(name, work)
            nemo_path = work / f"{name}.nemo"
            model.save_to(str(nemo_path))
            repack_nemo(nemo_path)
            del model
            log(f"{name}: export_model -> models/{name}")
            spec = export_model(
                fresh_model(nemo_path), _clean(out / "models" / name), verify=not args.no_verify, name=name,
                share=False, compact=False,  # graphs as torch exported them: tests derive shared/compacted copies
            )
            log(f"{name}: seed export")
            export_seed(nemo_path, name, out / "seed" / name, MODELS[name]["seed_layout"])
            if name == BROKEN_MODEL:
                log(f"{name}: broken (cache-less) export")
                export_broken(nemo_path, name, out / "broken")
            log(f"{name}: NeMo references")
            cases, offline, greedy_impl = make_references(nemo_path, name, clips, out / "reference" / f"{name}.npz")
            all_cases += cases
            all_offline += offline
            p = MODELS[name]
            models_info[name] = {
                "model_dir": f"models/{name}",
                "seed_dir": f"seed/{name}",
                "npz": f"reference/{name}.npz",
                "lookaheads_ms": spec.lookaheads_ms(),
                "att_context_size": p["att_context_size"],
                "vocab_size": spec.vocab_size,
                "blank_id": spec.blank_id,
                "config": {k: v for k, v in p.items() if k != "att_context_size"},
            }
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
    (out / "reference").mkdir(exist_ok=True)
    (out / "reference" / "cases.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    (out / "reference" / "files.json").write_text(json.dumps(file_table(out), indent=1) + "\n", encoding="utf-8")
    n_tok = sum(c["n_tokens"] for c in all_cases)
    log(
        f"{len(all_cases)} cases, {n_tok} non-blank tokens; min margin "
        f"{min(c['min_margin'] for c in all_cases if c['min_margin'] is not None)}"
    )
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log(f"total size {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
