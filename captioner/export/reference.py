"""NeMo's own cache-aware streaming loop, used as the reference for exports and test fixtures.

The loop mirrors NeMo's ``examples/asr/asr_cache_aware_streaming/speech_to_text_cache_aware_streaming_infer.py``
(``perform_streaming``) exactly: ``CacheAwareStreamingAudioBuffer`` cuts the features into windows,
``conformer_stream_step`` runs encoder + decoder with ``keep_all_outputs = buffer empty``,
``drop_extra_pre_encoded = 0`` on step 0 unless ``pad_and_drop_preencoded`` (mode B), and carries
``previous_hypotheses`` (RNNT) / ``previous_pred_out`` (CTC) across steps.

The same loop serves the three NeMo classes Captioner exports: ``EncDecHybridRNNTCTCBPEModel`` (RNNT + CTC,
``change_decoding_strategy(..., decoder_type=...)``), ``EncDecRNNTBPEModel`` (RNNT only) and
``EncDecRNNTBPEModelWithPrompt`` (RNNT only, with a language prompt). For a prompt model the locale is set with
``model.set_inference_prompt(locale)`` before the loop, exactly as NeMo streams them: ``conformer_stream_step``
then passes every encoder step through ``_apply_prompt_to_encoded`` (one-hot prompt concatenated to the encoder
output, mapped back by ``prompt_kernel``) before decoding, and the recorded encoder outputs are those prompted
outputs, i.e. what the decoder sees.

Only the bookkeeping is added: every encoder step is recorded (window width, ``length``, drop, encoded
frames) through a thin wrapper around ``encoder.cache_aware_stream_step`` that returns NeMo's own result
unchanged, and each emitted token is given its *global* encoder-frame index (the index into the
concatenation of all steps' encoder outputs). NeMo's greedy RNNT timestamps are chunk-local and restart
every step (``GreedyRNNTInfer`` builds a fresh ``Hypothesis`` per call), so the global index is
``frames emitted by earlier steps + local timestamp``. A CTC token's frame is the first frame of its run of
identical per-frame argmaxes.

NeMo and torch are imported inside the functions: this module is importable without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from captioner.asr.choices import Decoder, StreamingMode
from captioner.export.errors import ExportDependencyError

MODES = (StreamingMode.NEMO_A, StreamingMode.NEMO_B)
DECODERS = tuple(Decoder)


def require_nemo() -> tuple[Any, Any]:
    """Import torch and NeMo's ASR collection, or raise ``ExportDependencyError`` with the fix."""
    try:
        import torch
    except Exception as exc:  # ImportError, or a broken binary wheel
        raise ExportDependencyError("PyTorch", exc) from exc
    try:
        import nemo
        import nemo.collections.asr
    except Exception as exc:
        raise ExportDependencyError("NVIDIA NeMo (nemo-toolkit[asr])", exc) from exc
    return torch, nemo


@dataclass
class StepRecord:
    window: int
    """Width of the feature window fed to the encoder (including the pre-encode cache frames)."""
    length: int
    """``processed_signal_length`` fed with it."""
    drop_extra_pre_encoded: int
    keep_all_outputs: bool
    encoded_len: int
    first_frame: int
    """Global encoder-frame index of this step's first output frame."""


@dataclass
class StreamResult:
    ids: list[int]
    frames: list[int]
    encoder_out: np.ndarray
    """Concatenated encoder outputs ``[D, T_total]`` float32."""
    steps: list[StepRecord]
    frame_argmax: list[int] | None = None
    """CTC only: per-frame argmax over all frames."""
    margins: list[float] = field(default_factory=list)
    """Top-1 minus top-2 logit of every greedy decision (each RNNT joint call / each CTC frame)."""
    text: str = ""


def is_hybrid(model: Any) -> bool:
    """An RNNT + CTC hybrid (``EncDecHybridRNNTCTCModel`` family): it has a CTC head and ``cur_decoder``."""
    return hasattr(model, "ctc_decoder") and hasattr(model, "cur_decoder")


def model_decoders(model: Any) -> tuple[str, ...]:
    """The greedy decoders a model has: ``("rnnt", "ctc")`` for a hybrid, ``("rnnt",)`` for an RNNT model."""
    return DECODERS if is_hybrid(model) else ("rnnt",)


def is_prompt_model(model: Any) -> bool:
    """A language-prompt model (NeMo's ``PromptStreamingMixin``) whose prompt kernel is initialised."""
    return bool(getattr(model, "concat", False)) and hasattr(model, "prompt_kernel") and hasattr(
        model, "set_inference_prompt"
    )


def prompt_dictionary(model: Any) -> dict[str, int]:
    """``model_defaults.prompt_dictionary`` (locale -> prompt index) of a prompt model, in config order."""
    from omegaconf import OmegaConf

    raw = model.cfg.model_defaults.get("prompt_dictionary", None)
    if raw is None:
        return {}
    container = OmegaConf.to_container(raw, resolve=True) if not isinstance(raw, dict) else raw
    return {str(k): int(v) for k, v in dict(container).items()}


def default_locale(model: Any) -> str | None:
    """The locale a prompt model uses unless told otherwise: "auto" if it has it, else "en-US", else the first."""
    if not is_prompt_model(model):
        return None
    keys = list(prompt_dictionary(model))
    if not keys:
        raise ValueError("This prompt model has an empty model_defaults.prompt_dictionary.")
    for key in ("auto", "en-US"):
        if key in keys:
            return key
    return keys[0]


def set_locale(model: Any, locale: str | None) -> str | None:
    """Point a prompt model's streaming prompt at ``locale`` (its default when ``None``); returns the locale.

    Raises ``ValueError`` when ``locale`` is given for a model without a prompt.
    """
    if not is_prompt_model(model):
        if locale is not None:
            raise ValueError(f"This {type(model).__name__} has no language prompt; locale must be None.")
        return None
    chosen = default_locale(model) if locale is None else locale
    model.set_inference_prompt(chosen)
    return chosen


def apply_prompt(model: Any, encoded: Any) -> Any:
    """NeMo's ``_apply_prompt_to_encoded`` on ``[B, D, T]`` encoder outputs (identity without a prompt)."""
    return model._apply_prompt_to_encoded(encoded)


def rnnt_greedy_implementation(model: Any) -> str:
    inner = getattr(model.decoding, "decoding", None)
    return f"{type(inner).__module__}.{type(inner).__qualname__}" if inner is not None else "unknown"


def configure_decoding(model: Any, decoder: str, rnnt_strategy: str = "greedy", max_symbols: int = 10) -> None:
    """Select ``decoder`` with plain greedy decoding (frame-loop RNNT, max_symbols).

    Hybrid models switch ``cur_decoder`` (``decoder_type=``); RNNT-only models (``EncDecRNNTBPEModel`` and its
    prompt subclass) have no ``decoder_type`` argument and no CTC head.
    """
    from nemo.collections.asr.parts.submodules.ctc_decoding import CTCDecodingConfig
    from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTDecodingConfig
    from omegaconf import OmegaConf

    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}")
    if decoder not in model_decoders(model):
        raise ValueError(f"This {type(model).__name__} has no {decoder.upper()} decoder.")
    if decoder == "rnnt":
        rcfg = OmegaConf.structured(RNNTDecodingConfig(strategy=rnnt_strategy, fused_batch_size=-1))
        rcfg.greedy.max_symbols_per_step = max_symbols
        if is_hybrid(model):
            model.change_decoding_strategy(rcfg, decoder_type="rnnt", verbose=False)
        else:
            model.change_decoding_strategy(rcfg, verbose=False)
    elif decoder == "ctc":
        ccfg = OmegaConf.structured(CTCDecodingConfig(strategy="greedy"))
        model.change_decoding_strategy(ccfg, decoder_type="ctc", verbose=False)
    else:
        raise ValueError(f"unknown decoder {decoder!r}")


def set_lookahead(model: Any, att_context_size: tuple[int, int] | list[int]) -> None:
    model.encoder.set_default_att_context_size([int(att_context_size[0]), int(att_context_size[1])])
    model.encoder.setup_streaming_params()


def nemo_features(model: Any, audio: np.ndarray) -> np.ndarray:
    """``[n_mels, T]`` float32 features exactly as ``CacheAwareStreamingAudioBuffer`` computes them."""
    torch, _ = require_nemo()
    from nemo.collections.asr.parts.utils.streaming_utils import CacheAwareStreamingAudioBuffer

    buf = CacheAwareStreamingAudioBuffer(model=model, online_normalization=False, pad_and_drop_preencoded=False)
    with torch.inference_mode():
        sig, _, _ = buf.append_audio(np.ascontiguousarray(audio, dtype=np.float32), stream_id=-1)
    return np.ascontiguousarray(sig[0].cpu().numpy(), dtype=np.float32)


def _ids(seq: Any) -> list[int]:
    if seq is None:
        return []
    if hasattr(seq, "tolist"):
        seq = seq.tolist()
    return [int(x) for x in seq]


def _ctc_collapse(frame_ids: list[int], blank: int) -> tuple[list[int], list[int]]:
    ids: list[int] = []
    frames: list[int] = []
    prev = -1
    for t, k in enumerate(frame_ids):
        if k != prev and k != blank:
            ids.append(k)
            frames.append(t)
        prev = k
    return ids, frames


def stream_reference(
    model: Any,
    audio: np.ndarray,
    att_context_size: tuple[int, int] | list[int],
    mode: str,
    decoder: str,
    rnnt_strategy: str = "greedy",
    max_symbols: int = 10,
    locale: str | None = None,
) -> StreamResult:
    """Run NeMo's streaming script loop on one clip; ``mode`` "A" (default) or "B" (pad_and_drop_preencoded).

    ``locale``: for a prompt model, the ``prompt_dictionary`` key to stream with (``set_inference_prompt``);
    ``None`` = its default ("auto", else "en-US", else the first key). Must be ``None`` for other models.
    ``encoder_out`` is then the prompted encoder output (what the decoder sees).
    """
    torch, _ = require_nemo()
    from nemo.collections.asr.parts.utils.streaming_utils import CacheAwareStreamingAudioBuffer

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    pad_and_drop = mode == "B"
    model.eval()
    set_lookahead(model, att_context_size)
    configure_decoding(model, decoder, rnnt_strategy=rnnt_strategy, max_symbols=max_symbols)
    set_locale(model, locale)

    buf = CacheAwareStreamingAudioBuffer(model=model, online_normalization=False, pad_and_drop_preencoded=pad_and_drop)
    with torch.inference_mode():
        buf.append_audio(np.ascontiguousarray(audio, dtype=np.float32), stream_id=-1)

    steps: list[StepRecord] = []
    enc_chunks: list[np.ndarray] = []
    orig_step = model.encoder.cache_aware_stream_step

    def recording_step(*args: Any, **kwargs: Any) -> Any:
        out = orig_step(*args, **kwargs)
        enc_len = int(out[1][0])
        sig = kwargs["processed_signal"]
        steps.append(
            StepRecord(
                window=int(sig.shape[-1]),
                length=int(kwargs["processed_signal_length"][0]),
                drop_extra_pre_encoded=int(kwargs["drop_extra_pre_encoded"]),
                keep_all_outputs=bool(kwargs["keep_all_outputs"]),
                encoded_len=enc_len,
                first_frame=sum(s.encoded_len for s in steps),
            )
        )
        enc_chunks.append(out[0][0, :, :enc_len].detach().cpu().numpy().astype(np.float32))
        return out

    orig_prompt = model._apply_prompt_to_encoded
    prompted = is_prompt_model(model)

    def recording_prompt(encoded: Any) -> Any:
        out = orig_prompt(encoded)
        if prompted:  # record what the decoder sees: the encoder output after the prompt kernel
            enc_chunks[-1] = out[0, :, : steps[-1].encoded_len].detach().cpu().numpy().astype(np.float32)
        return out

    blank = int(model.tokenizer.vocab_size)
    ids: list[int] = []
    frames: list[int] = []
    model.encoder.cache_aware_stream_step = recording_step
    model._apply_prompt_to_encoded = recording_prompt
    try:
        cache_last_channel, cache_last_time, cache_last_channel_len = model.encoder.get_initial_cache_state(
            batch_size=1, dtype=torch.float32
        )
        previous_hypotheses = None
        pred_out_stream = None
        transcribed = None
        for step_num, (chunk_audio, chunk_lengths) in enumerate(iter(buf)):
            drop = 0 if (step_num == 0 and not pad_and_drop) else model.encoder.streaming_cfg.drop_extra_pre_encoded
            with torch.inference_mode():
                (
                    pred_out_stream,
                    transcribed,
                    cache_last_channel,
                    cache_last_time,
                    cache_last_channel_len,
                    previous_hypotheses,
                ) = model.conformer_stream_step(
                    processed_signal=chunk_audio,
                    processed_signal_length=chunk_lengths,
                    cache_last_channel=cache_last_channel,
                    cache_last_time=cache_last_time,
                    cache_last_channel_len=cache_last_channel_len,
                    keep_all_outputs=buf.is_buffer_empty(),
                    previous_hypotheses=previous_hypotheses,
                    previous_pred_out=pred_out_stream,
                    drop_extra_pre_encoded=drop,
                    return_transcription=True,
                )
            if decoder == "rnnt":
                hyp = previous_hypotheses[0]
                seq = _ids(hyp.y_sequence)
                new = seq[len(ids) :]
                local = _ids(hyp.timestamp)
                if isinstance(hyp.timestamp, dict) or len(local) < len(new):
                    raise RuntimeError("NeMo RNNT hypothesis has no per-token timestamps to place tokens")
                local = local[len(local) - len(new) :]
                if seq[: len(ids)] != ids:
                    raise RuntimeError("NeMo RNNT hypothesis rewrote earlier tokens")
                ids.extend(new)
                frames.extend(steps[-1].first_frame + t for t in local)
    finally:
        del model.encoder.cache_aware_stream_step
        del model._apply_prompt_to_encoded

    enc = np.concatenate(enc_chunks, axis=1) if enc_chunks else np.zeros((model.encoder.d_model, 0), np.float32)
    result = StreamResult(ids=ids, frames=frames, encoder_out=enc, steps=steps)
    if decoder == "ctc":
        frame_ids = _ids(pred_out_stream[0]) if pred_out_stream is not None else []
        result.frame_argmax = frame_ids
        result.ids, result.frames = _ctc_collapse(frame_ids, blank)
        if transcribed is not None:
            result.text = str(transcribed[0])
    else:
        result.text = model.tokenizer.ids_to_text(ids) if ids else ""
    return result


def redecode(
    model: Any, encoder_out: np.ndarray, decoder: str, max_symbols: int = 10
) -> tuple[list[int], list[int], list[float]]:
    """Plain greedy decoding of ``[D, T]`` encoder outputs with NeMo's torch modules; also the margins.

    Used to check NeMo's streaming tokens and to measure how far each argmax is from flipping.
    """
    torch, _ = require_nemo()
    blank = int(model.tokenizer.vocab_size)
    enc = torch.from_numpy(np.ascontiguousarray(encoder_out, dtype=np.float32))[None]  # [1, D, T]
    ids: list[int] = []
    frames: list[int] = []
    margins: list[float] = []
    with torch.inference_mode():
        if decoder == "ctc":
            logp = model.ctc_decoder(encoder_output=enc)[0]  # [T, V+1]
            top2 = torch.topk(logp, 2, dim=-1).values
            margins = (top2[:, 0] - top2[:, 1]).tolist()
            ids, frames = _ctc_collapse(logp.argmax(-1).tolist(), blank)
            return ids, frames, margins
        f_all = model.joint.project_encoder(enc.transpose(1, 2))  # [1, T, H]
        state = None
        last: int | None = None
        for t in range(f_all.shape[1]):
            f = f_all[:, t : t + 1, :]
            for _ in range(max_symbols):
                y = None if last is None else torch.tensor([[last]], dtype=torch.long)
                g, new_state = model.decoder.predict(y, state, add_sos=False, batch_size=1)
                logits = model.joint.joint_after_projection(f, model.joint.project_prednet(g))[0, 0, 0]
                top2 = torch.topk(logits, 2)
                margins.append(float(top2.values[0] - top2.values[1]))
                k = int(top2.indices[0])
                if k == blank:
                    break
                ids.append(k)
                frames.append(t)
                last = k
                state = new_state
    return ids, frames, margins


def offline_reference(
    model: Any,
    features: np.ndarray,
    att_context_size: tuple[int, int] | list[int],
    decoder: str,
    max_symbols: int = 10,
    locale: str | None = None,
) -> tuple[list[int], list[int], np.ndarray]:
    """NeMo's offline (whole utterance, no cache) pass, as the script's ``compare_vs_offline`` does it.

    For a prompt model (``locale`` as in :func:`stream_reference`) the returned encoder output is the prompted one.
    """
    torch, _ = require_nemo()
    model.eval()
    set_lookahead(model, att_context_size)
    configure_decoding(model, decoder, max_symbols=max_symbols)
    set_locale(model, locale)
    sig = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))[None]
    length = torch.tensor([sig.shape[-1]], dtype=torch.int64)
    with torch.inference_mode():
        enc, enc_len = model.encoder(audio_signal=sig, length=length)
        enc = apply_prompt(model, enc)
        out = model.conformer_stream_step(
            processed_signal=sig, processed_signal_length=length, return_transcription=True
        )
    enc_np = enc[0, :, : int(enc_len[0])].cpu().numpy().astype(np.float32)
    blank = int(model.tokenizer.vocab_size)
    if decoder == "ctc":
        ids, frames = _ctc_collapse(_ids(out[0][0]), blank)
    else:
        hyp = out[1][0]
        ids = _ids(hyp.y_sequence)
        frames = _ids(hyp.timestamp)
    return ids, frames, enc_np
