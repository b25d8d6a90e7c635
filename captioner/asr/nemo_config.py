"""Reading a NeMo model's configuration and tokenizer without NeMo.

A ``.nemo`` file is a tar archive holding ``model_config.yaml``, the tokenizer and pickled torch
weights. :mod:`captioner.asr.nemo_archive` reads the two small members after checking the whole
archive; the weights are not touched here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from captioner.asr.errors import ModelFolderError
from captioner.asr.spec import EncoderSpec, PreprocessorSpec, PromptSpec, StreamingSpec

CONFIG_NAME = "model_config.yaml"


def read_nemo_archive(path: Path) -> tuple[dict[str, Any], bytes]:
    """``(config, tokenizer_model_bytes)`` from a ``.nemo`` archive, read with the archive's safety checks."""
    from captioner.asr.nemo_archive import NemoArchive  # it parses its config with this module

    with NemoArchive(path) as archive:
        return archive.config(), archive.tokenizer()


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: NeMo never writes them, and nested aliases can expand exponentially."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "YAML aliases are not allowed in a model config",
                                              event.start_mark)
        return super().compose_node(parent, index)


MAX_CONFIG_NODES = 200_000
"""More values than any real model config holds once ``${...}`` references are expanded (NeMo's: ~2,000)."""


def parse_config(text: bytes | str, origin: Path) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise ModelFolderError(f"{origin} has an unreadable {CONFIG_NAME} ({exc}).",
                               "Take the configuration from the original .nemo file.") from exc
    if not isinstance(data, dict):
        raise ModelFolderError(f"{origin}: {CONFIG_NAME} is not a mapping.", "Take it from the original .nemo file.")
    if "model" in data and isinstance(data["model"], dict) and "encoder" not in data:
        data = data["model"]
    budget = [MAX_CONFIG_NODES]
    try:
        resolved: dict[str, Any] = _resolve_interpolations(data, data, budget, 0)
    except RecursionError as exc:
        raise ModelFolderError(f"{origin}: {CONFIG_NAME} refers to itself in a loop.",
                               "Take the configuration from the original .nemo file.") from exc
    if budget[0] < 0:
        raise ModelFolderError(f"{origin}: {CONFIG_NAME} expands to more than {MAX_CONFIG_NODES:,} values, far "
                               "more than a model configuration holds.", "Take the configuration from the "
                               "original .nemo file.")
    return resolved


_INTERP = re.compile(r"^\$\{([A-Za-z0-9_.]+)\}$")


def _resolve_interpolations(node: Any, root: dict[str, Any], budget: list[int], depth: int) -> Any:
    """Resolve OmegaConf ``${a.b}`` references (absolute, with or without a leading ``model.``).

    ``budget[0]`` counts down the values produced; once below zero the rest is left unresolved (the caller
    refuses the config), so references that multiply each other cannot exhaust memory.
    """
    budget[0] -= 1
    if budget[0] < 0 or depth > 64:
        if depth > 64:
            raise RecursionError("interpolation chain too deep")
        return None
    if isinstance(node, dict):
        return {k: _resolve_interpolations(v, root, budget, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_interpolations(v, root, budget, depth + 1) for v in node]
    if isinstance(node, str) and (match := _INTERP.match(node)):
        keys = match.group(1).split(".")
        if keys[0] == "model":
            keys = keys[1:]
        value: Any = root
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return node
            value = value[key]
        return _resolve_interpolations(value, root, budget, depth + 1)
    return node


def model_class(config: dict[str, Any]) -> str:
    """The NeMo model class a config describes (``target`` when saved, else inferred from its sections)."""
    target = str(config.get("target", "")).rsplit(".", 1)[-1]
    if target:
        return target
    if config.get("aux_ctc"):
        return "EncDecHybridRNNTCTCBPEModel"
    if (config.get("model_defaults") or {}).get("prompt_dictionary") is not None:
        return "EncDecRNNTBPEModelWithPrompt"
    if config.get("joint"):
        return "EncDecRNNTBPEModel"
    return "EncDecCTCModelBPE"

def prompt_spec(config: dict[str, Any]) -> PromptSpec | None:
    """The language prompt of an ``EncDecRNNTBPEModelWithPrompt`` config; ``None`` for other models.

    The automatic entry is the default when the model has one, else ``en-US``, else the first locale.
    """
    if model_class(config) != "EncDecRNNTBPEModelWithPrompt":
        return None
    defaults = config.get("model_defaults") or {}
    dictionary = defaults.get("prompt_dictionary") or config.get("prompt_dictionary")
    if not isinstance(dictionary, dict) or not dictionary:
        raise ModelFolderError("This language-prompt model has no prompt_dictionary in its config.",
                               "Use the model's original .nemo file.")
    names = [str(k) for k in dictionary]
    default = next((n for n in names if n.lower() == "auto"), None) or next(
        (n for n in names if "auto" in n.lower()), None) or ("en-US" if "en-US" in names else names[0])
    num = int(config.get("num_prompts") or defaults.get("num_prompts") or max(int(v) for v in dictionary.values()) + 1)
    return PromptSpec({str(k): int(v) for k, v in dictionary.items()}, num, default)


def preprocessor_spec(config: dict[str, Any]) -> PreprocessorSpec:
    """NeMo ``AudioToMelSpectrogramPreprocessor`` settings, with NeMo's defaults for absent keys."""
    pre = config.get("preprocessor") or {}
    sample_rate = int(pre.get("sample_rate", config.get("sample_rate", 16000)))
    win_length = int(pre["n_window_size"]) if pre.get("n_window_size") else round(
        float(pre.get("window_size", 0.02)) * sample_rate)
    hop_length = int(pre["n_window_stride"]) if pre.get("n_window_stride") else round(
        float(pre.get("window_stride", 0.01)) * sample_rate)
    n_fft = int(pre.get("n_fft") or 2 ** (win_length - 1).bit_length())
    guard = pre.get("log_zero_guard_value", 2.0**-24)
    return PreprocessorSpec(
        sample_rate=sample_rate,
        win_length=win_length,
        hop_length=hop_length,
        n_fft=n_fft,
        n_mels=int(pre.get("features", pre.get("nfilt", 64))),
        window=str(pre.get("window", "hann")),
        preemph=None if pre.get("preemph", 0.97) is None else float(pre.get("preemph", 0.97)),
        fmin=float(pre.get("lowfreq", 0.0) or 0.0),
        fmax=None if pre.get("highfreq") is None else float(pre["highfreq"]),
        mel_norm=pre.get("mel_norm", "slaney"),
        mag_power=float(pre.get("mag_power", 2.0)),
        log=bool(pre.get("log", True)),
        log_zero_guard_type=str(pre.get("log_zero_guard_type", "add")),
        log_zero_guard_value=float(guard) if not isinstance(guard, str) else _named_guard(guard),
        normalize=str(pre.get("normalize", "per_feature")),
        pad_value=float(pre.get("pad_value", 0.0)),
    )


def _named_guard(name: str) -> float:
    if name == "tiny":
        return 1.1754943508222875e-38
    if name == "eps":
        return 1.1920928955078125e-07
    return float(name)


def encoder_spec(config: dict[str, Any]) -> EncoderSpec:
    enc = config.get("encoder") or {}
    kernel = int(enc.get("conv_kernel_size", 31))
    context = enc.get("conv_context_size")
    conv_cache = kernel - 1 if context == "causal" or context is None else int(next(iter(context)))
    return EncoderSpec(
        n_layers=int(enc["n_layers"]),
        d_model=int(enc["d_model"]),
        subsampling_factor=int(enc.get("subsampling_factor", 4)),
        conv_cache_size=conv_cache,
        feat_in=int(enc.get("feat_in", 80)),
    )


def att_context_sizes(config: dict[str, Any]) -> list[tuple[int, int]]:
    """The lookaheads the model was trained with, NeMo's default first."""
    value = (config.get("encoder") or {}).get("att_context_size", [-1, -1])
    if value and isinstance(value[0], list | tuple):
        return [(int(a), int(b)) for a, b in value]
    return [(int(value[0]), int(value[1]))]


def streaming_spec_for(config: dict[str, Any], att_context: tuple[int, int], encoder_file: str,
                       ctc_file: str | None = None) -> StreamingSpec:
    """NeMo's ``setup_streaming_params`` for ``chunked_limited`` attention and striding subsampling."""
    enc = config.get("encoder") or {}
    style = enc.get("att_context_style", "regular")
    if style != "chunked_limited":
        raise ModelFolderError(
            f"The encoder uses att_context_style '{style}'.",
            "Captioner streams cache-aware models trained with att_context_style: chunked_limited "
            "(such as stt_en_fastconformer_hybrid_large_streaming_multi).",
        )
    factor = int(enc.get("subsampling_factor", 4))
    left, right = att_context
    sampling = (1, factor)
    chunk = (sampling[0] + factor * right, sampling[1] + factor * right)
    pre_encode_cache = factor + 1
    return StreamingSpec(
        att_context_size=(left, right),
        chunk_frames=chunk,
        shift_frames=chunk,
        valid_out_len=(chunk[1] - sampling[1]) // factor + 1,
        pre_encode_cache_size=pre_encode_cache,
        drop_extra_pre_encoded=1 + (pre_encode_cache - 1) // factor,
        last_channel_cache_size=left if left >= 0 else 10000,
        encoder_file=encoder_file,
        ctc_file=ctc_file,
    )


def rnnt_settings(config: dict[str, Any]) -> tuple[int, int, int]:
    """``(pred_hidden, pred_rnn_layers, max_symbols_per_step)``."""
    prednet = (config.get("decoder") or {}).get("prednet") or {}
    greedy = (config.get("decoding") or {}).get("greedy") or {}
    return (int(prednet.get("pred_hidden", 640)), int(prednet.get("pred_rnn_layers", 1)),
            int(greedy.get("max_symbols", 10) or 10))
