"""Export a NeMo cache-aware streaming FastConformer model to a Captioner model folder.

Three NeMo classes are accepted: ``EncDecHybridRNNTCTCBPEModel`` (RNNT + CTC, e.g.
``stt_en_fastconformer_hybrid_large_streaming_multi``), ``EncDecRNNTBPEModel`` (RNNT only, e.g.
``nemotron-speech-streaming-en-0.6b``) and ``EncDecRNNTBPEModelWithPrompt`` (RNNT only with a language prompt,
e.g. ``nemotron-3.5-asr-streaming-0.6b``). The encoder graphs of a prompt model take one more input,
``prompt_index`` (int64 ``[B]``), and apply NeMo's prompt inside the graph: ``outputs =
prompt_kernel(concat(encoded^T, one_hot(prompt_index, num_prompts)))^T``, i.e. what NeMo's
``_apply_prompt_to_encoded`` does after every ``cache_aware_stream_step``.

Folder layout (``captioner-model.json`` describes it)::

    encoder-la{ms}.onnx        cache-aware encoder for one lookahead (drops 2 pre-encoded frames: later steps)
    encoder-la{ms}-first.onnx  same weights, drop 0: NeMo's step 0 in mode A (script default)
    decoder_joint.onnx         RNNT prediction net + joint (lookahead independent)
    ctc_head.onnx              CTC head: encoder ``outputs [B, D, T]`` -> ``logprobs [B, T, V+1]`` (hybrids only)
    tokenizer.model            SentencePiece model
    captioner-model.json       the manifest

NeMo, torch and onnx are imported inside the functions; importing this module needs none of them, and
calling :func:`export_model` without them raises :class:`ExportDependencyError` naming the extra to install.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from captioner.asr.manifest import MANIFEST_NAME, write_manifest
from captioner.asr.spec import (
    CtcSpec,
    EncoderSpec,
    ModelSpec,
    PreprocessorSpec,
    PromptSpec,
    RnntSpec,
    StreamingSpec,
)
from captioner.export.compact import (
    WEIGHTS_FILE,
    max_step_window,
    share_weights,
    shorten_value_names,
    store_half_exact,
    trim_position_tables,
)
from captioner.export.deps import require_onnx as _require_onnx
from captioner.export.errors import ExportVerificationError, ModelExportError
from captioner.export.reference import (
    default_locale,
    is_prompt_model,
    model_decoders,
    prompt_dictionary,
    require_nemo,
    set_locale,
)

OPSET = 17
ENCODER_INPUTS = ("audio_signal", "length", "cache_last_channel", "cache_last_time", "cache_last_channel_len")
ENCODER_OUTPUTS = (
    "outputs",
    "encoded_lengths",
    "cache_last_channel_next",
    "cache_last_time_next",
    "cache_last_channel_next_len",
)
PROMPT_INPUT = "prompt_index"
DECODER_JOINT_INPUTS = ("encoder_outputs", "targets", "target_length", "input_states_1", "input_states_2")
DECODER_JOINT_OUTPUTS = ("outputs", "prednet_lengths", "output_states_1", "output_states_2")
SUPPORTED_CLASSES = ("EncDecHybridRNNTCTCBPEModel", "EncDecRNNTBPEModel", "EncDecRNNTBPEModelWithPrompt")
WEIGHT_PRECISIONS = ("float32", "float16")
HALF_WEIGHTS_SCHEME = "float16-weights"


# ---------------------------------------------------------------------------------------------------
# loading and describing the model
# ---------------------------------------------------------------------------------------------------
_SUPPORTED_HELP = (
    "Captioner exports cache-aware streaming FastConformer models: hybrid RNNT + CTC "
    "(EncDecHybridRNNTCTCBPEModel, e.g. stt_en_fastconformer_hybrid_large_streaming_multi), RNNT "
    "(EncDecRNNTBPEModel, e.g. nemotron-speech-streaming-en-0.6b) and RNNT with a language prompt "
    "(EncDecRNNTBPEModelWithPrompt, e.g. nemotron-3.5-asr-streaming-0.6b)."
)


def _supported(model: Any) -> bool:
    from nemo.collections.asr.models import EncDecHybridRNNTCTCBPEModel, EncDecRNNTBPEModel

    return isinstance(model, (EncDecHybridRNNTCTCBPEModel, EncDecRNNTBPEModel))


def _restore(path: Path) -> Any:
    """Restore a ``.nemo`` with the class its config names (``target``), as ``ASRModel.restore_from`` does.

    ``EncDecRNNTBPEModelWithPrompt.restore_from`` itself delegates to ``EncDecRNNTBPEModel.restore_from``, which
    instantiates the checkpoint's ``target`` class; so the generic ``ASRModel.restore_from`` gives the prompt model
    (with its ``prompt_kernel``, built by ``initialize_prompt_feature`` in ``__init__``), an RNNT model or a hybrid.
    Checkpoints without a ``target`` are tried as a hybrid, as before.
    """
    torch, _ = require_nemo()
    from nemo.collections.asr.models import ASRModel, EncDecHybridRNNTCTCBPEModel

    cpu = torch.device("cpu")
    try:
        return ASRModel.restore_from(str(path), map_location=cpu)
    except Exception as first:  # NeMo raises many kinds of errors for wrong archives
        try:
            return EncDecHybridRNNTCTCBPEModel.restore_from(str(path), map_location=cpu)
        except Exception:
            raise first from None


def _load_model(model_or_path: Any) -> tuple[Any, str, str]:
    """Return (model, default name, source description)."""
    require_nemo()

    if isinstance(model_or_path, (str, Path)):
        path = Path(model_or_path)
        if not path.is_file():
            raise ModelExportError(f"{path} does not exist or is not a file; pass the path of a .nemo checkpoint.")
        try:
            model = _restore(path)
        except Exception as exc:
            raise ModelExportError(
                f"{path} could not be restored as a NeMo ASR model ({type(exc).__name__}: {exc}). " + _SUPPORTED_HELP
            ) from exc
        if not _supported(model):
            raise ModelExportError(f"{path} holds a NeMo {type(model).__name__}, which Captioner cannot export. "
                                   + _SUPPORTED_HELP)
        return model, path.stem, str(path.name)
    if not _supported(model_or_path):
        raise ModelExportError(f"Cannot export a {type(model_or_path).__name__}. " + _SUPPORTED_HELP)
    name = str(model_or_path.cfg.get("name", "") or "model") if hasattr(model_or_path, "cfg") else "model"
    return model_or_path, name, f"in-memory {type(model_or_path).__name__}"


def _prompt_spec(model: Any) -> PromptSpec | None:
    """The manifest's ``prompt`` for a prompt model (``None`` otherwise); default "auto", else "en-US", else first."""
    if not is_prompt_model(model):
        return None
    dictionary = prompt_dictionary(model)
    num_prompts = int(model.num_prompts)
    bad = {k: v for k, v in dictionary.items() if not 0 <= v < num_prompts}
    if bad:
        raise ModelExportError(f"prompt_dictionary entries {bad} are outside the model's {num_prompts} prompts.")
    default = default_locale(model)
    assert default is not None
    return PromptSpec(dictionary=dictionary, num_prompts=num_prompts, default=default)


def _decoders_to_export(model: Any, decoders: str) -> tuple[str, ...]:
    """``--decoder`` against what the model has: "both" exports what exists; an explicit missing one is an error."""
    have = model_decoders(model)
    if decoders == "both":
        return have
    if decoders not in have:
        raise ModelExportError(
            f"This {type(model).__name__} has no {decoders.upper()} decoder; it has "
            f"{' and '.join(d.upper() for d in have)}. Export with --decoder {have[0]} (or both)."
        )
    return (decoders,)


def _check_streaming_model(model: Any) -> None:
    enc = model.encoder
    if not hasattr(enc, "setup_streaming_params") or not hasattr(enc, "att_context_size_all"):
        raise ModelExportError("This model's encoder does not support cache-aware streaming (no streaming params).")
    if getattr(enc, "att_context_style", None) != "chunked_limited":
        raise ModelExportError(
            f"This model uses att_context_style={enc.att_context_style!r}; Captioner supports cache-aware "
            "streaming models trained with 'chunked_limited' attention."
        )
    if enc.conv_context_size[1] != 0:
        raise ModelExportError(f"This model's convolutions are not causal (conv_context_size={enc.conv_context_size}).")


def preprocessor_spec(model: Any) -> PreprocessorSpec:
    """NeMo preprocessor settings with NeMo's own defaults for keys the config leaves out."""
    from nemo.collections.asr.modules.audio_preprocessing import AudioToMelSpectrogramPreprocessorConfig
    from omegaconf import OmegaConf

    cfg: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(AudioToMelSpectrogramPreprocessorConfig)}
    container: Any = OmegaConf.to_container(model.cfg.preprocessor, resolve=True)
    given: dict[str, Any] = dict(container)
    cfg.update(given)
    target = str(cfg.get("_target_", ""))
    if not target.endswith("AudioToMelSpectrogramPreprocessor"):
        raise ModelExportError(
            f"Unsupported preprocessor {target!r}; Captioner computes NeMo mel-spectrogram features only."
        )
    if int(cfg.get("frame_splicing") or 1) != 1 or cfg.get("exact_pad"):
        raise ModelExportError("Unsupported preprocessor settings (frame_splicing != 1 or exact_pad).")
    sr = int(cfg["sample_rate"])
    win = int(cfg["n_window_size"]) if cfg.get("n_window_size") else round(float(cfg["window_size"]) * sr)
    hop = int(cfg["n_window_stride"]) if cfg.get("n_window_stride") else round(float(cfg["window_stride"]) * sr)
    n_fft = int(cfg["n_fft"]) if cfg.get("n_fft") else 2 ** math.ceil(math.log2(win))
    guard = cfg.get("log_zero_guard_value", 2.0**-24)
    if isinstance(guard, str):
        guard = {"tiny": float(np.finfo(np.float32).tiny), "eps": float(np.finfo(np.float32).eps)}[guard]
    return PreprocessorSpec(
        sample_rate=sr,
        win_length=win,
        hop_length=hop,
        n_fft=n_fft,
        n_mels=int(cfg["features"]),
        window=str(cfg.get("window") or "hann"),
        preemph=None if cfg.get("preemph") is None else float(cfg["preemph"]),
        fmin=float(cfg.get("lowfreq") or 0.0),
        fmax=None if cfg.get("highfreq") is None else float(cfg["highfreq"]),
        mel_norm=cfg.get("mel_norm", "slaney"),
        mag_power=float(cfg.get("mag_power", 2.0)),
        log=bool(cfg.get("log", True)),
        log_zero_guard_type=str(cfg.get("log_zero_guard_type", "add")),
        log_zero_guard_value=float(guard),
        normalize=str(cfg.get("normalize", "per_feature")),
        pad_value=float(cfg.get("pad_value", 0.0)),
    )


def _lookahead_ms(model: Any, att: list[int]) -> int:
    sub = int(model.encoder.subsampling_factor)
    hop_ms = 1000.0 * float(model.cfg.preprocessor.get("window_stride", 0.01))
    return round(att[1] * sub * hop_ms)


def _select_lookaheads(model: Any, lookaheads_ms: list[int] | None) -> list[list[int]]:
    all_att = [[int(a), int(b)] for a, b in model.encoder.att_context_size_all]
    if not lookaheads_ms:
        return all_att
    by_ms = {_lookahead_ms(model, att): att for att in all_att}
    chosen = []
    for ms in lookaheads_ms:
        if int(ms) not in by_ms:
            avail = ", ".join(f"{m} ms" for m in by_ms)
            raise ModelExportError(f"This model was not trained with a {ms} ms lookahead; it supports {avail}.")
        if by_ms[int(ms)] not in chosen:
            chosen.append(by_ms[int(ms)])
    return chosen


# ---------------------------------------------------------------------------------------------------
# ONNX helpers
# ---------------------------------------------------------------------------------------------------
def _dedupe_initializers(path: Path) -> int:
    """Merge byte-identical initializers (the TorchScript exporter sometimes duplicates constants)."""
    onnx, _ = _require_onnx()
    model = onnx.load(str(path))
    graph = model.graph
    seen: dict[tuple[int, tuple[int, ...], bytes], str] = {}
    rename: dict[str, str] = {}
    keep = []
    for init in graph.initializer:
        key = (init.data_type, tuple(init.dims), init.raw_data if init.raw_data else init.SerializeToString())
        if init.raw_data and key in seen:
            rename[init.name] = seen[key]
            continue
        if init.raw_data:
            seen[key] = init.name
        keep.append(init)
    if not rename:
        return 0

    def fix(g: Any) -> None:
        for node in g.node:
            for i, name in enumerate(node.input):
                if name in rename:
                    node.input[i] = rename[name]
            for attr in node.attribute:
                if attr.g is not None and attr.g.node:
                    fix(attr.g)
                for sub in attr.graphs:
                    fix(sub)

    fix(graph)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(rename)


def _compact_encoder(path: Path, max_window: int) -> None:
    """Cut the 5000-position sine table to what a step reads, shorten tensor names (exact; verified next)."""
    onnx, _ = _require_onnx()
    model = onnx.load(str(path))
    trim_position_tables(model, max_window)
    shorten_value_names(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _round_parameters_to_half(model: Any) -> dict[str, Any]:
    """Round every float32 parameter of ``model`` to the nearest float16 value, in place; returns the originals.

    The export then traces, verifies and stores the rounded model, so the ONNX graphs match it exactly
    and :func:`store_half_exact` can keep its weights in 2 bytes each. Buffers (normalisation statistics)
    stay float32: they are small, and the exporter folds them into other constants anyway.
    """
    import torch

    originals = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dtype == torch.float32:
                originals[name] = param.detach().clone()
                param.copy_(param.half().float())
    return originals


def _restore_parameters(model: Any, originals: dict[str, Any]) -> None:
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in originals:
                param.copy_(originals[name])


def _store_half(path: Path) -> None:
    """Keep the float16-exact float32 tensors of the graph at ``path`` in float16 (exact; verified next)."""
    onnx, _ = _require_onnx()
    model = onnx.load(str(path))
    store_half_exact(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def graph_io(path: Path) -> dict[str, list[tuple[str, str, list[Any]]]]:
    """``{"inputs": [(name, dtype, shape)], "outputs": [...]}`` as onnxruntime sees the graph."""
    _, ort = _require_onnx()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return {
        "inputs": [(i.name, i.type, list(i.shape)) for i in sess.get_inputs()],
        "outputs": [(o.name, o.type, list(o.shape)) for o in sess.get_outputs()],
    }


def _check_names(path: Path, io: dict[str, Any], inputs: tuple[str, ...], outputs: tuple[str, ...]) -> None:
    got_in = tuple(n for n, _, _ in io["inputs"])
    got_out = tuple(n for n, _, _ in io["outputs"])
    if got_in != inputs or got_out != outputs:
        raise ModelExportError(
            f"{path.name} has inputs {got_in} and outputs {got_out}; expected {inputs} -> {outputs}. "
            "This NeMo version exports a different graph interface than Captioner supports."
        )


# ---------------------------------------------------------------------------------------------------
# exporting the parts
# ---------------------------------------------------------------------------------------------------
def _prompted_encoder(model: Any) -> Any:
    """A NeMo ``Exportable`` wrapping ``model.encoder`` + the language prompt, exported like the encoder itself.

    Inputs: the encoder's five export inputs + ``prompt_index`` (int64 ``[B]``); outputs: the encoder's five,
    ``outputs`` being ``prompt_kernel(concat(encoded^T, one_hot(prompt_index)))^T`` as in NeMo's
    ``PromptStreamingMixin._apply_prompt_to_encoded``. ``Exportable.export`` runs NeMo's own export path
    (typechecks off, export module replacements, the TorchScript-based ``torch.onnx.export``, opset 17).
    """
    from collections import OrderedDict

    torch, _ = require_nemo()
    from nemo.core.classes.exportable import Exportable
    from nemo.core.neural_types import LabelsType, NeuralType

    class PromptedEncoder(torch.nn.Module, Exportable):  # type: ignore[name-defined,misc]
        def __init__(self, encoder: Any, prompt_kernel: Any, num_prompts: int) -> None:
            super().__init__()
            self.encoder = encoder
            self.prompt_kernel = prompt_kernel
            self.num_prompts = int(num_prompts)

        @property
        def input_types_for_export(self) -> Any:
            types = OrderedDict(
                (k, v) for k, v in self.encoder.input_types_for_export.items() if k in ENCODER_INPUTS
            )
            types[PROMPT_INPUT] = NeuralType(("B",), LabelsType())
            return types

        @property
        def output_types_for_export(self) -> Any:
            return self.encoder.output_types_for_export

        @property
        def disabled_deployment_input_names(self) -> Any:
            return self.encoder.disabled_deployment_input_names

        @property
        def disabled_deployment_output_names(self) -> Any:
            return self.encoder.disabled_deployment_output_names

        def input_example(self, max_batch: int = 1, max_dim: int = 256) -> tuple[Any, ...]:
            example = tuple(self.encoder.input_example(max_batch=max_batch, max_dim=max_dim))
            return (*example, torch.zeros(max_batch, dtype=torch.int64))

        def forward(self, audio_signal: Any, length: Any, cache_last_channel: Any, cache_last_time: Any,
                    cache_last_channel_len: Any, prompt_index: Any) -> Any:
            out = self.encoder.forward_for_export(
                audio_signal, length, cache_last_channel, cache_last_time, cache_last_channel_len
            )
            encoded = out[0].transpose(1, 2)  # [B, T, D]
            classes = torch.arange(self.num_prompts, device=encoded.device)
            one_hot = (prompt_index[:, None] == classes[None, :]).to(encoded.dtype)  # [B, P]
            one_hot = one_hot[:, None, :].expand(-1, encoded.shape[1], -1)  # [B, T, P]
            prompted = self.prompt_kernel(torch.cat([encoded, one_hot], dim=-1)).to(encoded.dtype)
            return (prompted.transpose(1, 2), *out[1:])

    return PromptedEncoder(model.encoder, model.prompt_kernel, model.num_prompts)


def _export_encoder(model: Any, att: list[int], path: Path, first_chunk: bool) -> None:
    torch, _ = require_nemo()
    enc = model.encoder
    enc.set_default_att_context_size(att)
    enc.setup_streaming_params()
    if first_chunk:
        enc.streaming_cfg.drop_extra_pre_encoded = 0
    torch.manual_seed(0)  # NeMo's input example is random; keep the trace deterministic
    exportable = _prompted_encoder(model) if is_prompt_model(model) else enc
    exportable.export(str(path), onnx_opset_version=OPSET, check_trace=False)
    enc.setup_streaming_params()


def _verify_encoder_graph(model: Any, att: list[int], path: Path, first_chunk: bool) -> float:
    """Run one step through ORT and NeMo's ``cache_aware_stream_step`` with the same inputs; max abs diff.

    A prompt model is checked for two locales (its default and the one with the highest prompt index, so
    that two different one-hot prompts are compared): NeMo's step output goes through
    ``_apply_prompt_to_encoded`` after ``set_inference_prompt(locale)``, the graph gets that ``prompt_index``.
    """
    if not is_prompt_model(model):
        return _verify_encoder_step(model, att, path, first_chunk, None)
    dictionary = prompt_dictionary(model)
    default = default_locale(model)
    locales = [default, max(dictionary, key=lambda k: (dictionary[k], k))]
    try:
        return max(_verify_encoder_step(model, att, path, first_chunk, loc) for loc in dict.fromkeys(locales))
    finally:
        set_locale(model, default)


def _verify_encoder_step(model: Any, att: list[int], path: Path, first_chunk: bool, locale: str | None) -> float:
    torch, _ = require_nemo()
    _, ort = _require_onnx()
    enc = model.encoder
    enc.set_default_att_context_size(att)
    enc.setup_streaming_params()
    cfg = enc.streaming_cfg
    gen = torch.Generator().manual_seed(7)
    if first_chunk:
        width, drop = cfg.chunk_size[0], 0
    else:
        width, drop = cfg.chunk_size[1] + cfg.pre_encode_cache_size[1], cfg.drop_extra_pre_encoded
    feats = torch.randn(1, enc._feat_in, width, generator=gen) * 3.0 - 5.0
    length = torch.tensor([width], dtype=torch.int64)
    c_ch, c_t, c_len = enc.get_initial_cache_state(batch_size=1)
    if not first_chunk:  # a mid-stream state: partly filled caches
        n = min(5, cfg.last_channel_cache_size)
        c_ch[:, :, -n:, :] = torch.randn(c_ch[:, :, -n:, :].shape, generator=gen)
        c_t.copy_(torch.randn(c_t.shape, generator=gen))
        c_len = torch.tensor([n], dtype=torch.int64)
    with torch.inference_mode():
        ref = enc.cache_aware_stream_step(
            processed_signal=feats,
            processed_signal_length=length,
            cache_last_channel=c_ch,
            cache_last_time=c_t,
            cache_last_channel_len=c_len,
            keep_all_outputs=False,
            drop_extra_pre_encoded=drop,
        )
        feeds = {
            "audio_signal": feats.numpy(),
            "length": length.numpy(),
            "cache_last_channel": c_ch.transpose(0, 1).numpy(),
            "cache_last_time": c_t.transpose(0, 1).numpy(),
            "cache_last_channel_len": c_len.numpy(),
        }
        if locale is not None:
            set_locale(model, locale)
            ref = (model._apply_prompt_to_encoded(ref[0]), *ref[1:])
            feeds[PROMPT_INPUT] = np.array([prompt_dictionary(model)[locale]], dtype=np.int64)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, feeds)
    refs = [ref[0], ref[1], ref[2].transpose(0, 1), ref[3].transpose(0, 1), ref[4]]
    worst = 0.0
    for name, got, want in zip(ENCODER_OUTPUTS, outs, refs, strict=True):
        want_np = want.numpy()
        if got.shape != want_np.shape:
            raise ExportVerificationError(
                f"{path.name}: output {name} has shape {got.shape} in ONNX but {want_np.shape} in NeMo."
            )
        worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want_np.astype(np.float64)), initial=0.0)))
    if worst > 1e-3:
        where = f" with prompt {locale!r}" if locale is not None else ""
        raise ExportVerificationError(
            f"{path.name} differs from NeMo's encoder step{where} by {worst:.3g} (max abs)."
        )
    return worst


def _export_decoder_joint(model: Any, path: Path) -> None:
    torch, _ = require_nemo()
    torch.manual_seed(0)
    model.decoder_joint.export(str(path), onnx_opset_version=OPSET, check_trace=False)


def _export_ctc_head(model: Any, path: Path) -> None:
    torch, _ = require_nemo()
    head = model.ctc_decoder
    torch.manual_seed(0)
    example = (torch.randn(1, model.encoder.d_model, 16),)
    head.export(
        str(path),
        input_example=example,
        onnx_opset_version=OPSET,
        check_trace=False,
        dynamic_axes={"encoder_output": {0: "B", 2: "T"}, "logprobs": {0: "B", 1: "T"}},
    )
    _, ort = _require_onnx()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(2, model.encoder.d_model, 5, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        want = head(encoder_output=x).numpy()
    got = sess.run(["logprobs"], {"encoder_output": x.numpy()})[0]
    if got.shape != want.shape or float(np.max(np.abs(got - want))) > 1e-4:
        raise ExportVerificationError(
            f"{path.name} does not reproduce NeMo's CTC head (shape {got.shape} vs {want.shape})."
        )


def _write_tokenizer(model: Any, path: Path) -> int:
    tok = getattr(model.tokenizer, "tokenizer", None)
    if tok is None or not hasattr(tok, "serialized_model_proto"):
        raise ModelExportError(
            "This model's tokenizer is not SentencePiece; Captioner needs a SentencePiece BPE model.")
    path.write_bytes(tok.serialized_model_proto())
    return int(tok.get_piece_size())


# ---------------------------------------------------------------------------------------------------
# the public entry point
# ---------------------------------------------------------------------------------------------------
def _require_empty(out_dir: Path) -> None:
    """Refuse a folder holding an earlier export: its graphs would be left mixed with the new ones."""
    old = sorted(p.name for p in out_dir.glob("*") if p.suffix == ".onnx" or p.name in (WEIGHTS_FILE, MANIFEST_NAME))
    if old:
        listed = ", ".join(old[:4]) + (", ..." if len(old) > 4 else "")
        raise ModelExportError(f"{out_dir} already holds a model ({listed}): "
                               "export into an empty or new folder, or delete that one first.")


def _check_options(decoders: str, weights: str) -> None:
    if decoders not in ("rnnt", "ctc", "both"):
        raise ModelExportError(f"--decoder must be rnnt, ctc or both, not {decoders!r}.")
    if weights not in WEIGHT_PRECISIONS:
        raise ModelExportError(f"--weights must be {' or '.join(WEIGHT_PRECISIONS)}, not {weights!r}.")


def _export_state(model: Any) -> dict[str, Any]:
    """The encoder settings an export changes, to be put back afterwards (:func:`_restore_export_state`)."""
    enc = model.encoder
    return {
        "att": list(enc.att_context_size),
        "cache": getattr(enc, "export_cache_support", False),
        "cur_decoder": getattr(model, "cur_decoder", None),
    }


def _restore_export_state(model: Any, saved: dict[str, Any], originals: dict[str, Any]) -> None:
    """The model as it was before the export: its float32 parameters, default lookahead and cache setting."""
    _restore_parameters(model, originals)
    enc = model.encoder
    enc.set_default_att_context_size(saved["att"])
    enc.export_cache_support = saved["cache"]
    enc.setup_streaming_params()


def _export_lookahead(model: Any, att: list[int], out_dir: Path, encoder_inputs: tuple[str, ...], compact: bool,
                      half: bool) -> StreamingSpec:
    """The two encoder graphs of one lookahead (later chunks and the first chunk), each checked against NeMo."""
    enc = model.encoder
    ms = _lookahead_ms(model, att)
    enc_file, first_file = f"encoder-la{ms}.onnx", f"encoder-la{ms}-first.onnx"
    enc.set_default_att_context_size(att)
    enc.setup_streaming_params()
    cfg = enc.streaming_cfg
    chunk = cfg.chunk_size if isinstance(cfg.chunk_size, list) else [cfg.chunk_size, cfg.chunk_size]
    shift = cfg.shift_size if isinstance(cfg.shift_size, list) else [cfg.shift_size, cfg.shift_size]
    pre = cfg.pre_encode_cache_size
    pre_later = int(pre[1] if isinstance(pre, list) else pre)
    lookahead = StreamingSpec(
        att_context_size=(int(att[0]), int(att[1])),
        chunk_frames=(int(chunk[0]), int(chunk[1])),
        shift_frames=(int(shift[0]), int(shift[1])),
        valid_out_len=int(cfg.valid_out_len),
        pre_encode_cache_size=pre_later,
        drop_extra_pre_encoded=int(cfg.drop_extra_pre_encoded),
        last_channel_cache_size=int(cfg.last_channel_cache_size),
        encoder_file=enc_file,
        first_chunk_encoder_file=first_file,
        ctc_file=None,
    )
    sub = int(enc.subsampling_factor)
    for fname, first in ((enc_file, False), (first_file, True)):
        path = out_dir / fname
        _export_encoder(model, att, path, first_chunk=first)
        _dedupe_initializers(path)
        if compact:
            _compact_encoder(path, max_step_window(lookahead.last_channel_cache_size, max(lookahead.chunk_frames),
                                                   lookahead.pre_encode_cache_size, sub))
        if half:
            _store_half(path)
        io = graph_io(path)
        _check_names(path, io, encoder_inputs, ENCODER_OUTPUTS)
        _verify_encoder_graph(model, att, path, first_chunk=first)
    return lookahead


def _export_rnnt(model: Any, out_dir: Path, half: bool) -> RnntSpec:
    """The RNNT prediction network and joint as one graph, ``decoder_joint.onnx``."""
    path = out_dir / "decoder_joint.onnx"
    _export_decoder_joint(model, path)
    _dedupe_initializers(path)
    if half:
        _store_half(path)
    _check_names(path, graph_io(path), DECODER_JOINT_INPUTS, DECODER_JOINT_OUTPUTS)
    greedy = model.cfg.get("decoding", {}).get("greedy", {}) or {}
    max_sym = greedy.get("max_symbols", None) or greedy.get("max_symbols_per_step", None) or 10
    return RnntSpec(
        decoder_joint_file="decoder_joint.onnx",
        pred_hidden=int(model.decoder.pred_hidden),
        pred_rnn_layers=int(model.decoder.pred_rnn_layers),
        max_symbols_per_step=int(max_sym),
    )


def _export_ctc(model: Any, out_dir: Path, half: bool) -> CtcSpec:
    """The CTC head as its own graph, ``ctc_head.onnx``."""
    path = out_dir / "ctc_head.onnx"
    _export_ctc_head(model, path)
    _dedupe_initializers(path)
    if half:
        _store_half(path)
    _check_names(path, graph_io(path), ("encoder_output",), ("logprobs",))
    return CtcSpec(head_file="ctc_head.onnx")


def _share_graph_weights(out_dir: Path, streaming: list[StreamingSpec], rnnt_spec: RnntSpec | None,
                         ctc_spec: CtcSpec | None) -> str:
    """Store the weights of every exported graph once, in ``weights.bin``; returns its name."""
    graphs = [f for s_ in streaming for f in (s_.encoder_file, s_.first_chunk_encoder_file) if f]
    graphs += [rnnt_spec.decoder_joint_file] if rnnt_spec else []
    graphs += [ctc_spec.head_file] if ctc_spec and ctc_spec.head_file else []
    share_weights(out_dir, graphs)
    return WEIGHTS_FILE


def export_model(
    model_or_nemo_path: Any,
    out_dir: Path,
    lookaheads_ms: list[int] | None = None,
    decoders: str = "both",
    verify: bool = True,
    name: str | None = None,
    share: bool = True,
    compact: bool = True,
    weights: str = "float32",
) -> ModelSpec:
    """Export ``model_or_nemo_path`` (a ``.nemo`` path or an in-memory hybrid model) to ``out_dir``.

    ``lookaheads_ms``: which trained lookaheads to export (default: all of them). ``decoders``: "rnnt",
    "ctc" or "both"; "both" exports the decoders the model has (RNNT only for ``EncDecRNNTBPEModel`` and its
    prompt subclass), asking for CTC on a model without a CTC head is an error. A language-prompt model's
    encoder graphs get the ``prompt_index`` input and the manifest its ``prompt`` (dictionary, number of prompts,
    default locale). With ``verify`` the folder is run through Captioner's recognizer and must emit the
    same token ids as NeMo's own streaming loop for every exported decoder and lookahead. With
    ``share`` (the default) the weights of all graphs are stored once, in ``weights.bin`` (see
    :func:`share_weights`); without it every graph is self-contained. With ``compact`` (the default) NeMo's
    position table is cut to the rows a step reads and tensor names are shortened (exact; see
    :mod:`captioner.export.compact`); without it the graphs are exactly as torch exported them.
    ``weights="float16"`` rounds the model's parameters to float16 before exporting (restored afterwards)
    and stores them in 2 bytes each: a folder about half the size, verified against the rounded model,
    whose tokens may differ slightly from the float32 model's; the manifest says so.
    """
    _check_options(decoders, weights)
    half = weights == "float16"
    _, nemo = require_nemo()
    _require_onnx()
    _require_empty(Path(out_dir))
    model, default_name, source = _load_model(model_or_nemo_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    model.eval()
    model = model.to("cpu")
    _check_streaming_model(model)
    wanted = _decoders_to_export(model, decoders)
    prompt = _prompt_spec(model)
    encoder_inputs = ENCODER_INPUTS + ((PROMPT_INPUT,) if prompt else ())
    enc = model.encoder
    saved = _export_state(model)
    originals = _round_parameters_to_half(model) if half else {}
    try:
        model.set_export_config({"cache_support": True})
        streaming = [_export_lookahead(model, att, out_dir, encoder_inputs, compact, half)
                     for att in _select_lookaheads(model, lookaheads_ms)]
        rnnt_spec = _export_rnnt(model, out_dir, half) if "rnnt" in wanted else None
        ctc_spec = _export_ctc(model, out_dir, half) if "ctc" in wanted else None
        weights_file = _share_graph_weights(out_dir, streaming, rnnt_spec, ctc_spec) if share else None
        vocab = _write_tokenizer(model, out_dir / "tokenizer.model")
        if int(model.decoder.blank_idx) != vocab:
            raise ModelExportError(f"Unexpected blank id {model.decoder.blank_idx} (vocabulary size {vocab}).")
        spec = ModelSpec(
            name=name or default_name,
            preprocessor=preprocessor_spec(model),
            encoder=EncoderSpec(
                n_layers=len(enc.layers),
                d_model=int(enc.d_model),
                subsampling_factor=int(enc.subsampling_factor),
                conv_cache_size=int(enc.conv_context_size[0]),
                feat_in=int(enc._feat_in),
            ),
            streaming=tuple(streaming),
            vocab_size=vocab,
            blank_id=vocab,
            tokenizer_file="tokenizer.model",
            rnnt=rnnt_spec,
            ctc=ctc_spec,
            nemo_version=str(nemo.__version__),
            source=source,
            weights_file=weights_file,
            quantization=HALF_WEIGHTS_SCHEME if half else None,
            prompt=prompt,
        )
        write_manifest(spec, out_dir)
        if verify:
            verify_export(model, out_dir, spec)
        return spec
    finally:
        _restore_export_state(model, saved, originals)


def _verification_audio(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A deterministic, vaguely speech-like signal (harmonics with a moving pitch, bursts of noise)."""
    sr = 16000
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 140 + 50 * np.sin(2 * np.pi * 0.9 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 10)) * np.clip(np.sin(2 * np.pi * 2.1 * t), 0, None) ** 2
    x = 0.3 * x + 0.1 * rng.standard_normal(len(t)) * np.clip(np.sin(2 * np.pi * 1.3 * t + 2), 0, None)
    out: np.ndarray = np.asarray(0.5 * x / np.max(np.abs(x)), dtype=np.float32)
    return out


def _verify_locales(spec: ModelSpec) -> list[str | None]:
    """``[None]`` without a prompt; else the default locale and the one with the highest prompt index."""
    if spec.prompt is None:
        return [None]
    d = spec.prompt.dictionary
    return list(dict.fromkeys([spec.prompt.default, max(d, key=lambda k: (d[k], k))]))


def verify_export(model: Any, out_dir: Path, spec: ModelSpec, audio: np.ndarray | None = None) -> None:
    """Require identical token ids from NeMo's streaming loop (mode A) and Captioner's recognizer.

    A prompt model is checked for two locales (see :func:`_verify_locales`): NeMo streams with
    ``set_inference_prompt(locale)``, the recognizer with ``language=locale``.
    """
    import inspect

    from captioner.export import reference as ref

    try:
        from captioner.asr.model_folder import load_model_folder
        from captioner.asr.recognizer import StreamingRecognizer
    except ImportError as exc:
        raise ExportVerificationError(
            f"Cannot verify the export: Captioner's recognizer is not importable ({exc}). "
            "Re-run with verification turned off (--no-verify) to keep the unverified folder."
        ) from exc
    locales = _verify_locales(spec)
    if spec.prompt is not None and "language" not in inspect.signature(StreamingRecognizer).parameters:
        # the encoder graphs were already checked step by step against NeMo with prompt_index (export_model)
        return
    audio = _verification_audio() if audio is None else audio
    folder = load_model_folder(out_dir)
    saved_att = list(model.encoder.att_context_size)
    problems = []
    try:
        for s in spec.streaming:
            ms = s.lookahead_ms(spec.encoder.subsampling_factor, spec.preprocessor.frame_ms)
            for dec in spec.decoders():
                for locale in locales:
                    want = ref.stream_reference(model, audio, list(s.att_context_size), "A", dec, locale=locale)
                    extra: dict[str, Any] = {} if locale is None else {"language": locale}
                    rec = StreamingRecognizer(folder, decoder=dec, lookahead_ms=ms, mode="A", provider="cpu",
                                              **extra)
                    toks = rec.accept(audio) + rec.finish()
                    got = [int(t.id) for t in toks]
                    if got != want.ids:
                        where = f" ({locale})" if locale is not None else ""
                        problems.append(
                            f"{dec} @ {ms} ms{where}: NeMo {want.ids[:12]}... ({len(want.ids)} tokens) vs "
                            f"Captioner {got[:12]}... ({len(got)} tokens)"
                        )
    finally:
        model.encoder.set_default_att_context_size(saved_att)
        if spec.prompt is not None:
            ref.set_locale(model, spec.prompt.default)
    if problems:
        raise ExportVerificationError(
            f"The exported folder {out_dir} does not reproduce NeMo's streaming output: " + "; ".join(problems)
        )


__all__ = ["export_model", "graph_io", "preprocessor_spec", "verify_export"]
