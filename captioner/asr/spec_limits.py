"""Every number and file name a model folder gives, checked against what a real streaming model can have.

A manifest or config is data from outside: ``shift_frames: 0`` would make the stream loop forever,
``n_mels: 10000000`` would allocate gigabytes, and a tokenizer named ``../../secret`` would read a file
outside the folder. Loading a folder (for ``inspect``, ``transcribe`` and the app alike) runs
:func:`check_spec` once, so each of these is one clear ``ModelFolderError`` naming the field, instead of a
hang, an out-of-memory or an internal error later.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath, PureWindowsPath

from captioner.asr.errors import ModelFolderError
from captioner.asr.spec import EncoderSpec, ModelSpec, PreprocessorSpec

SUPPORTED_WINDOWS = ("hann", "hanning")
STREAMABLE_NORMALIZE = ("NA", "None")


class _Checker:
    def __init__(self, origin: Path) -> None:
        self.origin = origin

    def fail(self, field: str, value: object, expected: str) -> ModelFolderError:
        return ModelFolderError(f"{self.origin}: {field} is {value!r}; a streaming model has {expected}.",
                                "The model description is damaged or was not written by Captioner or NeMo: "
                                "import or export the model again.")

    def number(self, field: str, value: float | None, low: float, high: float) -> None:
        if value is None or not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
            raise self.fail(field, value, f"a value from {low:g} to {high:g}")

    def file(self, field: str, name: str | None) -> None:
        if name is None:
            return
        plain = PurePosixPath(name).name == name and PureWindowsPath(name).name == name
        if not name or not plain or name in (".", ".."):
            raise self.fail(field, name, "a plain file name inside the model folder")


def check_spec(spec: ModelSpec, origin: Path) -> None:
    """Raise ``ModelFolderError`` for the first value outside what a streaming model can have."""
    c = _Checker(origin)
    check_front(spec.preprocessor, spec.encoder, origin)
    _check_rest(spec, c)


def check_front(pre: PreprocessorSpec, enc: EncoderSpec, origin: Path) -> None:
    """The features and encoder sizes alone: checked before any graph is run on a test window of that size."""
    c = _Checker(origin)
    c.number("preprocessor.sample_rate", pre.sample_rate, 4000, 96000)
    c.number("preprocessor.n_fft", pre.n_fft, 16, 8192)
    c.number("preprocessor.win_length", pre.win_length, 1, pre.n_fft)
    c.number("preprocessor.hop_length", pre.hop_length, 1, pre.win_length)
    c.number("preprocessor.n_mels", pre.n_mels, 1, 512)
    c.number("preprocessor.fmin", pre.fmin, 0, pre.sample_rate / 2)
    if pre.fmax is not None:
        c.number("preprocessor.fmax", pre.fmax, pre.fmin, pre.sample_rate / 2)
    c.number("preprocessor.mag_power", pre.mag_power, 0.5, 2.0)
    c.number("preprocessor.log_zero_guard_value", pre.log_zero_guard_value, 0, 1)
    if pre.preemph is not None:
        c.number("preprocessor.preemph", pre.preemph, 0, 1)
    if pre.window not in SUPPORTED_WINDOWS:
        raise c.fail("preprocessor.window", pre.window, "NeMo's 'hann' window")
    if str(pre.normalize) not in STREAMABLE_NORMALIZE:
        raise c.fail("preprocessor.normalize", pre.normalize,
                     "no feature normalisation ('NA'): per-utterance normalisation cannot stream")
    if pre.log_zero_guard_type != "add":
        raise c.fail("preprocessor.log_zero_guard_type", pre.log_zero_guard_type, "'add'")
    c.number("encoder.n_layers", enc.n_layers, 1, 256)
    c.number("encoder.d_model", enc.d_model, 1, 16384)
    if enc.subsampling_factor not in (1, 2, 4, 8, 16):
        raise c.fail("encoder.subsampling_factor", enc.subsampling_factor, "1, 2, 4, 8 or 16")
    c.number("encoder.conv_cache_size", enc.conv_cache_size, 0, 1024)
    if enc.feat_in != pre.n_mels:
        raise c.fail("encoder.feat_in", enc.feat_in, f"as many features as the preprocessor's n_mels ({pre.n_mels})")


def _check_rest(spec: ModelSpec, c: _Checker) -> None:
    if not spec.streaming:
        raise c.fail("streaming", [], "at least one lookahead")
    for i, s in enumerate(spec.streaming):
        at = f"streaming[{i}]"
        c.number(f"{at}.att_context_size[0]", s.att_context_size[0], 0, 100000)
        c.number(f"{at}.att_context_size[1]", s.att_context_size[1], 0, 10000)
        for j in (0, 1):
            c.number(f"{at}.chunk_frames[{j}]", s.chunk_frames[j], 1, 100000)
            c.number(f"{at}.shift_frames[{j}]", s.shift_frames[j], 1, 100000)
        c.number(f"{at}.valid_out_len", s.valid_out_len, 1, 10000)
        c.number(f"{at}.pre_encode_cache_size", s.pre_encode_cache_size, 0, 10000)
        c.number(f"{at}.drop_extra_pre_encoded", s.drop_extra_pre_encoded, 0, 1000)
        c.number(f"{at}.last_channel_cache_size", s.last_channel_cache_size, 0, 100000)
        for field in ("encoder_file", "first_chunk_encoder_file", "ctc_file"):
            c.file(f"{at}.{field}", getattr(s, field))
    c.number("vocabulary.size", spec.vocab_size, 1, 1_000_000)
    c.number("vocabulary.blank_id", spec.blank_id, 0, spec.vocab_size)
    c.file("vocabulary.tokenizer", spec.tokenizer_file)
    c.file("weights", spec.weights_file)
    if spec.rnnt is not None:
        c.file("decoders.rnnt.decoder_joint_file", spec.rnnt.decoder_joint_file)
        c.number("decoders.rnnt.pred_hidden", spec.rnnt.pred_hidden, 1, 16384)
        c.number("decoders.rnnt.pred_rnn_layers", spec.rnnt.pred_rnn_layers, 1, 32)
        c.number("decoders.rnnt.max_symbols_per_step", spec.rnnt.max_symbols_per_step, 1, 100)
        c.file("decoders.rnnt.joiner_file", getattr(spec.rnnt, "joiner_file", None))
    if spec.ctc is not None:
        c.file("decoders.ctc.head_file", spec.ctc.head_file)
    if spec.prompt is not None:
        c.number("prompt.num_prompts", spec.prompt.num_prompts, 1, 100000)
        for locale, index in spec.prompt.dictionary.items():
            c.number(f"prompt.dictionary[{locale!r}]", index, 0, spec.prompt.num_prompts - 1)
        if spec.prompt.default not in spec.prompt.dictionary:
            raise c.fail("prompt.default", spec.prompt.default, "one of the prompt dictionary's locales")
