#!/usr/bin/env python
"""Build a full-size random-weight NeMo streaming model for the engine benchmarks (not committed).

The model has exactly the architecture of ``stt_en_fastconformer_hybrid_large_streaming_multi``
(``EncDecHybridRNNTCTCBPEModel``: 17-layer FastConformer, d_model 512, 8 heads, dw_striding x8 causal
subsampling, chunked_limited attention with att_context_size [[70,13],[70,6],[70,1],[70,0]], causal
conv kernel 9, LSTM prediction net 640, joint 640, SentencePiece BPE vocabulary 1024, normalize NA,
pad_to 0) and seeded random weights, so its compute cost equals the published checkpoint's (114.75 M
parameters, a ~456 MB .nemo).

Random weights would make greedy decoding emit either nothing or 10 symbols every frame, which would
distort the decoder share of the benchmark. So the RNNT joint's and CTC head's output layers are
re-centred on the encoder statistics of a speech signal, two joint hidden units drive the blank logit
(one from the encoder output, one from the prediction-net output), and the blank bias is calibrated so
that greedy RNNT decoding of an 8 s calibration clip emits about ``--tokens-per-frame`` tokens per 80 ms
encoder frame (default 0.3, i.e. ~3.75 tokens/s). Known limit: a random prediction net has no notion of
"this sound was already emitted", so on long audio the rate drifts (on ``bench_60s.wav`` it emits 84
tokens, nearly all in the first 5 s, then blanks: 1 joint call per frame). The RNNT decoder is < 10% of
Captioner's time either way (see ``benchmarks/engine_profile.py``); the encoder, whose cost does not
depend on the weights' values, dominates.

Outputs, under ``models/full-size/`` (git-ignored):

* ``fullsize.nemo``                      the NeMo model (restore with ``ASRModel.restore_from``)
* ``captioner/``                         Captioner's model folder (``captioner.export.export_model``,
                                         all four lookaheads, verification on)
* ``sherpa/``                            sherpa-onnx folders (``tools/export_sherpa_onnx.py``)
* ``bench_60s.wav``                      the benchmark audio (espeak-ng speech, 16 kHz)
* ``build.json``                         sizes, parameter count, timings, token rate

Run::

    $NEMO_PYTHON -m tools.make_fullsize_model            # everything (~15-25 min on 2 cores)
    $NEMO_PYTHON -m tools.make_fullsize_model --skip-captioner-export
    $NEMO_PYTHON -m tools.make_fullsize_model --only-export   # reuse fullsize.nemo
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tools.nemo_config_builder import fastconformer_config

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "models" / "full-size"
SR = 16000
SEED = 20250101
VOCAB = 1024
ATT_CONTEXT = [[70, 13], [70, 6], [70, 1], [70, 0]]
SHAPE: dict[str, Any] = {
    "n_layers": 17, "d_model": 512, "n_heads": 8, "ff_expansion_factor": 4, "conv_kernel_size": 9,
    "subsampling_conv_channels": 256, "pred_hidden": 640, "joint_hidden": 640, "att_context_size": ATT_CONTEXT,
}
"""stt_en_fastconformer_hybrid_large_streaming_multi's architecture (80 mels, 1-layer LSTM, RNNT + CTC)."""

BENCH_TEXT = (
    "good morning everyone and thank you for joining the meeting. today we will look at the budget for the "
    "next quarter, the schedule for the release, and who will write the notes. the quick brown fox jumps over "
    "the lazy dog while the weather report says it will rain in the afternoon. please remember to send your "
    "comments before friday so that we can prepare the final version of the document. after the break we will "
    "discuss the results of the survey, the new hiring plan and the changes to the office layout. if anyone has "
    "questions about the travel policy, talk to the team lead or write to the support address. the project is "
    "on track, but the testing phase took longer than expected because several devices arrived late. we also "
    "need volunteers for the conference in september; it is a great chance to meet customers and partners. "
    "finally, thank you all for the hard work this year, and enjoy the rest of your day."
)


def log(msg: str) -> None:
    print(f"[make_fullsize_model] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------------
# Tokenizer: 1024-piece BPE trained on generated text (pseudo-words give enough distinct merges)
# ---------------------------------------------------------------------------------------------------
def train_tokenizer(out_dir: Path, seed: int) -> Path:
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    onsets = [*"bcdfghjklmnprstvwyz", "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "pl", "pr", "sc",
              "sh", "sk", "sl", "sp", "st", "str", "th", "tr", "wh"]
    vowels = [*"aeiou", "ai", "au", "ea", "ee", "ie", "oa", "oo", "ou"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "nt", "rd", "st", "ck", "ll", "ss", "th"]
    english = BENCH_TEXT.replace(",", "").replace(".", "").replace(";", "").split()
    pseudo = ["".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(rng.randint(1, 3)))
              for _ in range(6000)]
    lines = []
    for _ in range(20000):
        words = [rng.choice(english) if rng.random() < 0.5 else rng.choice(pseudo) for _ in range(rng.randint(5, 15))]
        lines.append(" ".join(words))
    corpus = out_dir / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(out_dir / "tokenizer"), vocab_size=VOCAB, model_type="bpe",
        character_coverage=1.0, bos_id=-1, eos_id=-1, unk_id=0, num_threads=1, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(out_dir / "tokenizer.model"))
    assert sp.get_piece_size() == VOCAB, sp.get_piece_size()
    (out_dir / "vocab.txt").write_text("".join(sp.id_to_piece(i) + "\n" for i in range(VOCAB)), encoding="utf-8")
    return out_dir


# ---------------------------------------------------------------------------------------------------
# Model config: stt_en_fastconformer_hybrid_large_streaming_multi
# ---------------------------------------------------------------------------------------------------
def model_config(tokenizer_dir: Path) -> Any:
    from omegaconf import OmegaConf

    return OmegaConf.create(fastconformer_config(tokenizer_dir, **SHAPE))


# ---------------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------------
def speech_like(seconds: float, seed: int) -> np.ndarray:
    """Deterministic speech-like signal (voiced harmonics with syllable envelope + noise bursts)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.37 * t) + 20 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formant = 1 + 0.5 * np.sin(2 * np.pi * 3.1 * t)
    voiced = sum(np.sin(k * phase) / k ** formant for k in range(1, 20))
    env = np.clip(np.sin(2 * np.pi * 2.3 * t), 0, None) ** 2 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.21 * t))
    noise = rng.standard_normal(len(t)) * np.clip(np.sin(2 * np.pi * 1.7 * t + 1.0), 0, None) ** 4
    x = 0.3 * voiced * env + 0.15 * noise
    return (x / np.max(np.abs(x)) * 0.5).astype(np.float32)


def espeak_speech(text: str, seconds: float) -> np.ndarray | None:
    """espeak-ng speech of ``text`` at 16 kHz, repeated/padded to ``seconds``; None if espeak-ng is missing."""
    try:
        import soundfile as sf
        import soxr
    except ImportError:
        return None
    if shutil.which("espeak-ng") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "165", "-w", str(wav), text], check=True,
                       capture_output=True)
        x, sr = sf.read(str(wav), dtype="float64")
    if x.ndim > 1:
        x = x.mean(axis=1)
    y = soxr.resample(x, sr, SR, quality="HQ")
    n = int(seconds * SR)
    reps = int(np.ceil(n / len(y)))
    y = np.tile(y, reps)[:n]
    return (y / np.max(np.abs(y)) * 0.6).astype(np.float32)


def bench_audio(seconds: float = 60.0) -> np.ndarray:
    x = espeak_speech(BENCH_TEXT, seconds)
    return x if x is not None else speech_like(seconds, SEED)


# ---------------------------------------------------------------------------------------------------
# Weight shaping: realistic token rate
# ---------------------------------------------------------------------------------------------------
def _greedy_rate(model: Any, enc: Any, max_symbols: int = 10) -> float:
    """Tokens per frame of plain greedy RNNT decoding of encoder output ``enc`` [1, D, T]."""
    import torch

    blank = int(model.tokenizer.vocab_size)
    with torch.inference_mode():
        f_all = model.joint.project_encoder(enc.transpose(1, 2))
        state, last, n = None, None, 0
        g_cache = None
        for t in range(f_all.shape[1]):
            for _ in range(max_symbols):
                if g_cache is None:
                    y = None if last is None else torch.tensor([[last]], dtype=torch.long)
                    g, new_state = model.decoder.predict(y, state, add_sos=False, batch_size=1)
                    g_cache = (model.joint.project_prednet(g), new_state)
                p, new_state = g_cache
                k = int(model.joint.joint_after_projection(f_all[:, t : t + 1], p)[0, 0, 0].argmax())
                if k == blank:
                    break
                n += 1
                last, state, g_cache = k, new_state, None
    return n / max(1, f_all.shape[1])


def shape_weights(model: Any, audio: np.ndarray, tokens_per_frame: float) -> dict[str, float]:
    """Centre the joint/CTC output projections on the encoder statistics of ``audio``; calibrate blank."""
    import torch

    from captioner.export import reference as ref

    blank = int(model.tokenizer.vocab_size)
    feats = ref.nemo_features(model, audio)
    with torch.inference_mode():
        sig = torch.from_numpy(feats)[None]
        enc, enc_len = model.encoder(audio_signal=sig, length=torch.tensor([sig.shape[-1]]))
        enc = enc[:, :, : int(enc_len[0])].clone()
    e = enc[0]
    mu, sd = e.mean(dim=1), e.std() + 1e-6
    with torch.no_grad():
        conv = model.ctc_decoder.decoder_layers[0]
        w = conv.weight[:, :, 0] * (4.0 / sd)
        conv.weight.copy_(w[:, :, None])
        conv.bias.copy_(-(w @ mu))
        lin = model.joint.enc
        w = lin.weight / sd
        lin.weight.copy_(w)
        lin.bias.copy_(lin.bias - w @ mu)
        # Let the prediction-net output follow the last token more than the history (input weights up,
        # recurrent weights down), so each emitted token gives a nearly independent blank/non-blank draw.
        for name, param in model.decoder.prediction["dec_rnn"].lstm.named_parameters():
            if name.startswith("weight_ih"):
                param.mul_(4.0)
            elif name.startswith("weight_hh"):
                param.mul_(0.25)
        gen = torch.Generator().manual_seed(SEED)
        labels = torch.randint(0, blank, (64, 6), generator=gen)
        g, _ = model.decoder.predict(labels, None, add_sos=True, batch_size=64)
        g = g.reshape(-1, g.shape[-1])
        lin = model.joint.pred
        w = lin.weight / (g.std() + 1e-6)
        lin.weight.copy_(w)
        lin.bias.copy_(lin.bias - w @ g.mean(dim=0))
        out = model.joint.joint_net[-1]
        out.weight.mul_(4.0)
        out.bias.mul_(4.0)

        # Two joint hidden units drive the blank logit: one follows a random direction of the encoder
        # output (frames differ), one a random direction of the prediction-net output (every emitted token
        # gives a new draw). Without the second, a random prediction net emits either nothing or
        # max_symbols on every frame; with it, the number of symbols per frame is roughly geometric.
        offset = 8.0
        j_enc, j_pred = 0, 1
        u = torch.randn(e.shape[0], generator=gen)
        s = u @ e
        model.joint.enc.weight[j_enc] = u / s.std()
        model.joint.enc.bias[j_enc] = offset - float((s / s.std()).mean())
        model.joint.pred.weight[j_enc] = 0
        model.joint.pred.bias[j_enc] = 0
        v = torch.randn(g.shape[1], generator=gen)
        z = g @ v
        model.joint.pred.weight[j_pred] = v / z.std()
        model.joint.pred.bias[j_pred] = offset - float((z / z.std()).mean())
        model.joint.enc.weight[j_pred] = 0
        model.joint.enc.bias[j_pred] = 0
        alpha, beta = 1.5, 5.0
        out.weight[:, [j_enc, j_pred]] = 0
        out.weight[blank, j_enc] = alpha
        out.weight[blank, j_pred] = beta
        out.bias[blank] -= (alpha + beta) * offset
        base = float(out.bias[blank])

        # CTC blank: make about (1 - tokens_per_frame) of the frames blank
        logp = model.ctc_decoder(encoder_output=enc)[0]
        margin = logp[:, :blank].max(dim=-1).values - logp[:, blank]
        conv.bias[blank] += float(torch.quantile(margin, 1.0 - tokens_per_frame))

        # RNNT blank: bisection on the greedy token rate over the calibration audio
        lo, hi = -30.0, 30.0
        rate = 0.0
        for _ in range(14):
            mid = (lo + hi) / 2
            out.bias[blank] = base + mid
            rate = _greedy_rate(model, enc)
            if rate > tokens_per_frame:
                lo = mid
            else:
                hi = mid
        out.bias[blank] = base + (lo + hi) / 2
        rate = _greedy_rate(model, enc)
    return {"rnnt_blank_shift": (lo + hi) / 2, "rnnt_tokens_per_frame": rate}


# ---------------------------------------------------------------------------------------------------
def build_nemo(tokens_per_frame: float) -> tuple[Any, dict[str, Any]]:
    import torch
    from nemo.collections.asr.models import EncDecHybridRNNTCTCBPEModel

    info: dict[str, Any] = {}
    t0 = time.perf_counter()
    work = OUT / "tokenizer"
    train_tokenizer(work, SEED)
    info["tokenizer_s"] = round(time.perf_counter() - t0, 1)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)
    t1 = time.perf_counter()
    model = EncDecHybridRNNTCTCBPEModel(cfg=model_config(work))
    model.eval()
    info["parameters"] = int(sum(p.numel() for p in model.parameters()))
    info["build_s"] = round(time.perf_counter() - t1, 1)
    t2 = time.perf_counter()
    calib = espeak_speech("the quick brown fox jumps over the lazy dog. thank you for joining the meeting today.", 8.0)
    info.update(shape_weights(model, calib if calib is not None else speech_like(8.0, SEED), tokens_per_frame))
    info["shape_s"] = round(time.perf_counter() - t2, 1)
    t3 = time.perf_counter()
    nemo_path = OUT / "fullsize.nemo"
    model.save_to(str(nemo_path))
    info["save_s"] = round(time.perf_counter() - t3, 1)
    info["nemo_bytes"] = nemo_path.stat().st_size
    return model, info


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens-per-frame", type=float, default=0.3)
    ap.add_argument("--only-export", action="store_true", help="reuse models/full-size/fullsize.nemo")
    ap.add_argument("--skip-captioner-export", action="store_true")
    ap.add_argument("--skip-sherpa-export", action="store_true")
    ap.add_argument("--no-verify", action="store_true", help="skip the exporter's NeMo-vs-ONNX token check")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    info_path = OUT / "build.json"
    info: dict[str, Any] = json.loads(info_path.read_text()) if info_path.exists() else {}
    t0 = time.perf_counter()
    if args.only_export:
        from nemo.collections.asr.models import ASRModel

        model = ASRModel.restore_from(str(OUT / "fullsize.nemo"), map_location="cpu")
        model.eval()
    else:
        model, built = build_nemo(args.tokens_per_frame)
        info.update(built)
        log(f"built: {built}")
        import soundfile as sf

        sf.write(str(OUT / "bench_60s.wav"), bench_audio(60.0), SR, subtype="PCM_16")

    if not args.skip_captioner_export:
        from captioner.export import export_model

        t = time.perf_counter()
        dest = OUT / "captioner"
        if dest.exists():
            shutil.rmtree(dest)
        export_model(model, dest, lookaheads_ms=None, decoders="both", verify=not args.no_verify)
        info["captioner_export_s"] = round(time.perf_counter() - t, 1)
        info["captioner_bytes"] = dir_bytes(dest)
        log(f"Captioner folder: {dest} ({info['captioner_bytes'] / 1e6:.0f} MB, {info['captioner_export_s']} s)")

    if not args.skip_sherpa_export:
        from tools.export_sherpa_onnx import export_sherpa

        t = time.perf_counter()
        dest = OUT / "sherpa"
        if dest.exists():
            shutil.rmtree(dest)
        export_sherpa(model, dest)
        info["sherpa_export_s"] = round(time.perf_counter() - t, 1)
        info["sherpa_bytes"] = dir_bytes(dest)
        log(f"sherpa-onnx folder: {dest} ({info['sherpa_bytes'] / 1e6:.0f} MB, {info['sherpa_export_s']} s)")

    info["total_s_last_run"] = round(time.perf_counter() - t0, 1)
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    log(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
