"""Plain descriptions of a streaming model: what the engine needs to know, independent of file layout.

Every model-folder layout (Captioner's own manifest, a hand-made NeMo export with its ``model_config.yaml``,
a sherpa-onnx pack, a layer-first export) is turned into these dataclasses, so the recognizer never cares
where a number came from. Every number is read from the model, never assumed from the large model.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from captioner.asr.choices import Decoder
from captioner.asr.weights_digest import WeightsDigest

FEATURE_FRAME_MS = 10


class ModelLayout(str, enum.Enum):
    """Which kind of folder a model came from (a ``str`` enum: it compares equal to its value)."""

    MANIFEST = "manifest"
    """``captioner export`` / ``captioner import``: ``captioner-model.json`` + graphs + ``tokenizer.model``."""
    NEMO_EXPORT = "nemo-export"
    """A hand-made NeMo export (``encoder-NAME.onnx`` + ``decoder_joint-NAME.onnx``) with its config."""
    SHERPA_ONNX = "sherpa-onnx"
    """sherpa-onnx's streaming NeMo transducer pack: ``encoder/decoder/joiner(.int8).onnx`` + ``tokens.txt``."""
    LAYER_FIRST = "layer-first"
    """``encoder.onnx`` + ``decoder_joint.onnx`` whose caches are NeMo's layer-first ``[layers, B, ...]``."""

    def describe(self) -> str:
        return _LAYOUT_TEXT[self]


_LAYOUT_TEXT = {
    ModelLayout.MANIFEST: "Captioner folder (captioner export / import)",
    ModelLayout.NEMO_EXPORT: "hand-made NeMo export + config",
    ModelLayout.SHERPA_ONNX: "sherpa-onnx pack",
    ModelLayout.LAYER_FIRST: "layer-first export (caches [layers, batch, ...])",
}


class CacheLayout(enum.Enum):
    """Axis order of ``cache_last_channel`` / ``cache_last_time`` in an encoder graph."""

    BATCH_FIRST = "batch-first"
    """NeMo's ONNX export and sherpa-onnx: ``[B, L, C, D]`` / ``[B, L, D, K-1]``."""
    LAYER_FIRST = "layer-first"
    """NeMo's ``get_initial_cache_state`` order, kept by some exporters: ``[L, B, C, D]`` / ``[L, B, D, K-1]``."""


class AttentionCache(enum.Enum):
    """What ``cache_last_channel`` holds per layer and frame."""

    LAYER_INPUTS = "layer-inputs"
    """NeMo's export: the attention inputs (``D`` wide), projected to keys and values again every step."""
    PROJECTED_KV = "projected-kv"
    """Captioner's streaming graph: the projected keys and values (``2D`` wide), projected once."""


class ModelFamily(enum.Enum):
    """The members of NVIDIA's cache-aware streaming family, by what they decode with."""

    HYBRID = "hybrid RNNT + CTC"
    RNNT = "RNNT"
    RNNT_PROMPT = "RNNT with a language prompt"
    CTC = "CTC"


@dataclass(frozen=True)
class PreprocessorSpec:
    """NeMo ``AudioToMelSpectrogramPreprocessor`` settings that change the features."""

    sample_rate: int = 16000
    win_length: int = 400
    hop_length: int = 160
    n_fft: int = 512
    n_mels: int = 80
    window: str = "hann"
    preemph: float | None = 0.97
    fmin: float = 0.0
    fmax: float | None = None
    mel_norm: str | None = "slaney"
    mag_power: float = 2.0
    log: bool = True
    log_zero_guard_type: str = "add"
    log_zero_guard_value: float = 2.0**-24
    normalize: str = "NA"
    pad_value: float = 0.0

    @property
    def frame_ms(self) -> float:
        return 1000.0 * self.hop_length / self.sample_rate


@dataclass(frozen=True)
class StreamingSpec:
    """One exported lookahead: NeMo's ``CacheAwareStreamingConfig`` for ``att_context_size=[left, right]``.

    ``chunk_frames``/``shift_frames`` are ``[first, later]`` in feature frames, exactly as NeMo's
    ``setup_streaming_params`` computes them.
    """

    att_context_size: tuple[int, int]
    chunk_frames: tuple[int, int]
    shift_frames: tuple[int, int]
    valid_out_len: int
    pre_encode_cache_size: int
    drop_extra_pre_encoded: int
    last_channel_cache_size: int
    encoder_file: str
    first_chunk_encoder_file: str | None = None
    ctc_file: str | None = None
    """A whole encoder+CTC graph (seed layout); ``None`` when CTC runs on the shared encoder output."""

    @property
    def lookahead_frames(self) -> int:
        return self.att_context_size[1]

    def lookahead_ms(self, subsampling_factor: int, feature_frame_ms: float) -> int:
        return round(self.att_context_size[1] * subsampling_factor * feature_frame_ms)


@dataclass(frozen=True)
class EncoderSpec:
    n_layers: int
    d_model: int
    subsampling_factor: int
    conv_cache_size: int
    """``kernel_size - 1`` for causal convolutions: the last axis of ``cache_last_time``."""
    feat_in: int


@dataclass(frozen=True)
class RnntSpec:
    decoder_joint_file: str
    """NeMo's ``decoder_joint`` graph; with ``joiner_file`` set, the prediction network alone (sherpa's
    ``decoder.onnx``: ``targets``, ``target_length``, two LSTM states -> output, length, two states)."""
    pred_hidden: int
    pred_rnn_layers: int = 1
    max_symbols_per_step: int = 10
    joiner_file: str | None = None
    """sherpa-onnx's separate joint (``joiner.onnx``: encoder frame ``[B, D, 1]``, prediction output
    ``[B, H, 1]`` -> logits); ``None`` when ``decoder_joint_file`` holds both."""


@dataclass(frozen=True)
class CtcSpec:
    head_file: str | None
    """Graph mapping encoder outputs ``[B, D, T]`` to log-probs ``[B, T, V+1]``; ``None`` when only
    whole encoder+CTC graphs (``StreamingSpec.ctc_file``) exist."""


@dataclass(frozen=True)
class PromptSpec:
    """The language prompt of a prompt-conditioned model (NeMo's ``EncDecRNNTBPEModelWithPrompt``).

    The encoder graphs take an extra ``prompt_index`` input (int64 ``[B]``): the index of the locale in
    ``dictionary``, which the graph turns into NeMo's one-hot prompt and its ``prompt_kernel``.
    """

    dictionary: dict[str, int]
    num_prompts: int
    default: str
    """The locale used unless the user picks one: "auto" (or similar) when the model has it."""

    def index(self, locale: str | None) -> int:
        key = self.default if locale is None else locale
        if key not in self.dictionary:
            raise ValueError(f"This model has no language {key!r}; it knows {', '.join(sorted(self.dictionary))}.")
        return self.dictionary[key]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    preprocessor: PreprocessorSpec
    encoder: EncoderSpec
    streaming: tuple[StreamingSpec, ...]
    vocab_size: int
    blank_id: int
    tokenizer_file: str
    rnnt: RnntSpec | None = None
    ctc: CtcSpec | None = None
    nemo_version: str | None = None
    source: str | None = None
    layout: ModelLayout = ModelLayout.MANIFEST
    quantization: str | None = None
    """``None`` for the exported float32 graphs; "int8-matmul" after ``captioner quantize``, "float16-weights"
    after ``captioner export --weights float16`` (weights rounded to float16, computed in float32)."""
    weights_file: str | None = None
    """One file holding the weights that several graphs share (``captioner export`` writes ``weights.bin``)."""
    notes: tuple[str, ...] = field(default=())
    prompt: PromptSpec | None = None
    """Set for language-prompt models: every encoder graph then takes ``prompt_index``."""
    attention_cache: AttentionCache = AttentionCache.LAYER_INPUTS
    weights_digest: WeightsDigest | None = None
    """Size and hashes of ``weights_file`` when the folder was written (checked at load and by ``inspect``)."""
    cache_layout: CacheLayout = CacheLayout.BATCH_FIRST
    """Axis order of the encoder graphs' cache inputs (and outputs, which are fed back as they come)."""

    @property
    def encoder_frame_ms(self) -> float:
        return self.preprocessor.frame_ms * self.encoder.subsampling_factor

    def lookaheads_ms(self) -> list[int]:
        return [s.lookahead_ms(self.encoder.subsampling_factor, self.preprocessor.frame_ms) for s in self.streaming]

    def streaming_for(self, lookahead_ms: int | None) -> StreamingSpec:
        """The streaming setup for a lookahead; ``None`` picks the first (NeMo's default)."""
        if lookahead_ms is None:
            return self.streaming[0]
        for spec, ms in zip(self.streaming, self.lookaheads_ms(), strict=True):
            if ms == lookahead_ms:
                return spec
        available = ", ".join(f"{ms} ms" for ms in self.lookaheads_ms())
        raise ValueError(f"This model has no {lookahead_ms} ms lookahead; it provides {available}.")

    @property
    def family(self) -> ModelFamily:
        if self.prompt is not None:
            return ModelFamily.RNNT_PROMPT
        if self.rnnt is not None:
            return ModelFamily.HYBRID if self.ctc is not None else ModelFamily.RNNT
        return ModelFamily.CTC

    def decoders(self) -> list[Decoder]:
        out = []
        if self.rnnt is not None:
            out.append(Decoder.RNNT)
        if self.ctc is not None:
            out.append(Decoder.CTC)
        return out
