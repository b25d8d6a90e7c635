"""What a ``.nemo`` model is, read from its ``model_config.yaml``: the part the importer can build.

Every setting that changes the computation is read here and checked once; a model outside the
cache-aware FastConformer family gets one message naming the setting and what Captioner supports,
instead of a graph that would compute something else.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

from captioner.asr.nemo_config import att_context_sizes, model_class
from captioner.asr.spec import ModelFamily
from captioner.errors import CaptionerError


class NemoImportError(CaptionerError):
    """A ``.nemo`` model that ``captioner import`` cannot turn into a model folder; the message says why."""


class ConvNorm(enum.Enum):
    BATCH = "batch_norm"
    LAYER = "layer_norm"


_CLASS_FAMILY = {
    "EncDecHybridRNNTCTCBPEModel": ModelFamily.HYBRID,
    "EncDecRNNTBPEModel": ModelFamily.RNNT,
    "EncDecRNNTBPEModelWithPrompt": ModelFamily.RNNT_PROMPT,
    "EncDecCTCModelBPE": ModelFamily.CTC,
}


@dataclass(frozen=True)
class EncoderArch:
    feat_in: int
    n_layers: int
    d_model: int
    n_heads: int
    ff_dim: int
    conv_kernel: int
    conv_norm: ConvNorm
    subsampling_factor: int
    subsampling_channels: int
    xscale: float | None
    att_context_sizes: tuple[tuple[int, int], ...]

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def subsampling_convs(self) -> int:
        return int(math.log2(self.subsampling_factor))


@dataclass(frozen=True)
class RnntArch:
    vocab_size: int
    pred_hidden: int
    pred_layers: int
    joint_hidden: int
    joint_activation: str
    max_symbols: int


@dataclass(frozen=True)
class PromptArch:
    """The language prompt of ``EncDecRNNTBPEModelWithPrompt``: locale name -> prompt index."""

    dictionary: dict[str, int]
    num_prompts: int


@dataclass(frozen=True)
class Architecture:
    model_class: str
    family: ModelFamily
    encoder: EncoderArch
    rnnt: RnntArch | None
    ctc_classes: int | None
    prompt: PromptArch | None


def _target_name(section: dict[str, Any] | None) -> str:
    return str((section or {}).get("_target_", "")).rsplit(".", 1)[-1]


def read_architecture(config: dict[str, Any]) -> Architecture:
    cls = model_class(config)
    family = _CLASS_FAMILY.get(cls)
    if family is None:
        raise NemoImportError(
            f"This .nemo holds a {cls}; Captioner imports NeMo's cache-aware streaming models "
            f"({', '.join(sorted(_CLASS_FAMILY))})."
        )
    if str((config.get("tokenizer") or {}).get("type", "bpe")) != "bpe":
        raise NemoImportError("This model's tokenizer is not a SentencePiece BPE model; Captioner reads BPE only.")
    encoder = _encoder(config.get("encoder") or {})
    rnnt = _rnnt(config) if family is not ModelFamily.CTC else None
    ctc_section = (config.get("aux_ctc") or {}).get("decoder") if family is ModelFamily.HYBRID else (
        config.get("decoder") if family is ModelFamily.CTC else None)
    ctc_classes = int(ctc_section["num_classes"]) if ctc_section else None
    if ctc_section and _target_name(ctc_section) != "ConvASRDecoder":
        raise NemoImportError(
            f"Unsupported CTC decoder {_target_name(ctc_section)!r}; Captioner builds ConvASRDecoder.")
    prompt = _prompt(config) if family is ModelFamily.RNNT_PROMPT else None
    return Architecture(cls, family, encoder, rnnt, ctc_classes, prompt)


def _require(condition: bool, setting: str, value: Any, supported: str) -> None:
    if not condition:
        raise NemoImportError(
            f"This model's encoder has {setting}: {value!r}; Captioner imports cache-aware streaming "
            f"FastConformer encoders with {supported}."
        )


def _encoder(enc: dict[str, Any]) -> EncoderArch:
    _require(_target_name(enc) == "ConformerEncoder", "_target_", enc.get("_target_"), "ConformerEncoder")
    _require(enc.get("att_context_style") == "chunked_limited", "att_context_style", enc.get("att_context_style"),
             "chunked_limited attention (trained for cache-aware streaming)")
    _require(enc.get("self_attention_model", "rel_pos") == "rel_pos", "self_attention_model",
             enc.get("self_attention_model"), "rel_pos")
    _require(enc.get("subsampling") == "dw_striding", "subsampling", enc.get("subsampling"), "dw_striding")
    _require(bool(enc.get("causal_downsampling")), "causal_downsampling", enc.get("causal_downsampling"), "true")
    context = enc.get("conv_context_size")
    kernel = int(enc.get("conv_kernel_size", 31))
    _require(context == "causal" or context == [kernel - 1, 0], "conv_context_size", context, "causal convolutions")
    _require(int(enc.get("feat_out", -1)) <= 0, "feat_out", enc.get("feat_out"), "no output projection (-1)")
    _require(not enc.get("reduction"), "reduction", enc.get("reduction"), "no time reduction")
    _require(enc.get("untie_biases", True) is not False, "untie_biases", enc.get("untie_biases"), "per-layer biases")
    _require(bool(enc.get("use_bias", True)), "use_bias", enc.get("use_bias"), "biases (use_bias: true)")
    _require(int(enc.get("global_tokens", 0) or 0) == 0, "global_tokens", enc.get("global_tokens"), "none")
    norm = str(enc.get("conv_norm_type", "batch_norm"))
    _require(norm in {n.value for n in ConvNorm}, "conv_norm_type", norm, "batch_norm or layer_norm")
    factor = int(enc.get("subsampling_factor", 4))
    _require(factor >= 2 and factor & (factor - 1) == 0, "subsampling_factor", factor, "a power of two")
    d_model = int(enc["d_model"])
    channels = int(enc.get("subsampling_conv_channels", -1))
    heads = int(enc.get("n_heads", 4))
    _require(d_model % heads == 0, "n_heads", heads, "d_model divisible by the number of heads")
    atts = tuple(att_context_sizes({"encoder": enc}))
    for left, right in atts:
        _require(left >= 0 and right >= 0 and left % (right + 1) == 0, "att_context_size", [left, right],
                 "limited left and right context, left a multiple of right + 1")
    return EncoderArch(
        feat_in=int(enc.get("feat_in", 80)),
        n_layers=int(enc["n_layers"]),
        d_model=d_model,
        n_heads=heads,
        ff_dim=d_model * int(enc.get("ff_expansion_factor", 4)),
        conv_kernel=kernel,
        conv_norm=ConvNorm(norm),
        subsampling_factor=factor,
        subsampling_channels=d_model if channels == -1 else channels,
        xscale=math.sqrt(d_model) if enc.get("xscaling", True) else None,
        att_context_sizes=atts,
    )


def _rnnt(config: dict[str, Any]) -> RnntArch:
    decoder = config.get("decoder") or {}
    joint = config.get("joint") or {}
    if _target_name(decoder) != "RNNTDecoder" or _target_name(joint) != "RNNTJoint":
        raise NemoImportError(
            f"Unsupported transducer ({_target_name(decoder)} + {_target_name(joint)}); Captioner builds NeMo's "
            "RNNTDecoder (LSTM prediction network) with RNNTJoint."
        )
    prednet = decoder.get("prednet") or {}
    jointnet = joint.get("jointnet") or {}
    if not decoder.get("blank_as_pad", True):
        raise NemoImportError("This RNNT decoder has blank_as_pad: false; Captioner supports NeMo's default (true).")
    if prednet.get("rnn_hidden_size", -1) not in (-1, None, prednet.get("pred_hidden")):
        raise NemoImportError("This prediction network's LSTM is wider than its embedding (a projected LSTM); "
                              "Captioner supports rnn_hidden_size equal to pred_hidden.")
    activation = str(jointnet.get("activation", "relu")).lower()
    if activation not in ("relu", "tanh", "sigmoid"):
        raise NemoImportError(f"Unsupported joint activation {activation!r}.")
    greedy = (config.get("decoding") or {}).get("greedy") or {}
    return RnntArch(
        vocab_size=int(joint.get("num_classes") or decoder["vocab_size"]),
        pred_hidden=int(prednet.get("pred_hidden", 640)),
        pred_layers=int(prednet.get("pred_rnn_layers", 1)),
        joint_hidden=int(jointnet.get("joint_hidden", 640)),
        joint_activation=activation,
        max_symbols=int(greedy.get("max_symbols", 10) or 10),
    )


def _prompt(config: dict[str, Any]) -> PromptArch:
    defaults = config.get("model_defaults") or {}
    dictionary = defaults.get("prompt_dictionary") or config.get("prompt_dictionary")
    if not isinstance(dictionary, dict) or not dictionary:
        raise NemoImportError("This language-prompt model has no prompt_dictionary in its config.")
    num = int(defaults.get("num_prompts", max(int(v) for v in dictionary.values()) + 1))
    return PromptArch({str(k): int(v) for k, v in dictionary.items()}, num)
