"""Reading sherpa-onnx's streaming NeMo transducer packs and the encoder metadata they carry.

A pack is ``encoder.onnx`` + ``decoder.onnx`` + ``joiner.onnx`` + ``tokens.txt`` (or the ``*.int8.onnx``
graphs sherpa-onnx makes with ``onnxruntime.quantization.quantize_dynamic``): one lookahead per pack, the
streaming parameters in the encoder's metadata (``window_size``, ``chunk_shift``, ``cache_last_channel_dim1..3``,
``cache_last_time_dim1..3``, ``pred_rnn_layers``, ``pred_hidden``, ``vocab_size`` without blank,
``subsampling_factor``, ``normalize_type``, ``feat_dim``, ``model_type``; ``prompt_dictionary`` /
``auto_prompt_id`` with a ``prompt_index`` input on language-prompt models). sherpa-onnx refuses a pack whose
``tokens.txt`` lacks ``<blk>``, has it anywhere but last, or has another number of lines than ``vocab_size + 1``
(``online-recognizer-transducer-nemo-impl.h``); so does Captioner, with a message that says how to fix it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from captioner.asr.errors import ModelFolderError
from captioner.asr.graphs import ENCODER_INPUTS, GraphInfo, open_graph_for_inspection, require_signature
from captioner.asr.spec import (
    EncoderSpec,
    ModelLayout,
    ModelSpec,
    PreprocessorSpec,
    PromptSpec,
    RnntSpec,
    StreamingSpec,
)
from captioner.asr.tokenizer import BLANK_PIECE, TokenTable

TOKENS_NAME = "tokens.txt"
FLOAT_FILES = ("encoder.onnx", "decoder.onnx", "joiner.onnx")
INT8_FILES = ("encoder.int8.onnx", "decoder.int8.onnx", "joiner.int8.onnx")
SHERPA_INT8 = "int8-dynamic"
"""``ModelSpec.quantization`` of an int8 pack: ``quantize_dynamic(weight_type=QUInt8)`` on all three graphs."""

REQUIRED_KEYS = ("vocab_size", "window_size", "chunk_shift", "subsampling_factor", "pred_rnn_layers", "pred_hidden",
                 "cache_last_channel_dim1", "cache_last_channel_dim2", "cache_last_channel_dim3",
                 "cache_last_time_dim1", "cache_last_time_dim2", "cache_last_time_dim3")
"""What sherpa-onnx's ``OnlineTransducerNeMoModel::InitEncoder`` reads with ``SHERPA_ONNX_READ_META_DATA`` (it
exits when one is missing); ``normalize_type`` may be empty and ``feat_dim`` comes from the graph."""
STREAMING_KEYS = ("window_size", "chunk_shift")
AUTO_PROMPT_ID = 101
"""sherpa-onnx's ``kDefaultAutoPromptId``: the prompt index used when the metadata names none."""
PACK_FIX = "Copy the whole sherpa-onnx pack (encoder, decoder, joiner and tokens.txt from one download or export)."


def is_sherpa_pack(folder: Path) -> bool:
    """A folder that looks like a sherpa-onnx pack (some of its file names), complete or not."""
    names = {*FLOAT_FILES[1:], *INT8_FILES[1:]}
    return (folder / TOKENS_NAME).is_file() or any((folder / n).is_file() for n in names)


@dataclass(frozen=True)
class PackFiles:
    encoder: str
    decoder: str
    joiner: str
    int8: bool
    notes: tuple[str, ...]


def choose_files(folder: Path) -> PackFiles:
    """Float graphs when all three exist, else the int8 ones; anything less is a ``ModelFolderError``."""
    have_float = [n for n in FLOAT_FILES if (folder / n).is_file()]
    have_int8 = [n for n in INT8_FILES if (folder / n).is_file()]
    if len(have_float) == 3:
        notes = ("int8 graphs also present; using the float ones",) if len(have_int8) == 3 else ()
        return PackFiles(*FLOAT_FILES, int8=False, notes=notes)
    if len(have_int8) == 3:
        notes = (f"float graphs incomplete ({', '.join(have_float)} only); using the int8 ones",) if have_float else ()
        return PackFiles(*INT8_FILES, int8=True, notes=notes)
    wanted, have = (INT8_FILES, have_int8) if len(have_int8) > len(have_float) else (FLOAT_FILES, have_float)
    missing = [n for n in wanted if n not in have]
    if not have and (folder / "decoder_joint.onnx").is_file():
        missing = ["encoder.onnx"]
    lacks = ", ".join(missing)
    extra = ""
    if "joiner.onnx" in missing or "joiner.int8.onnx" in missing:
        extra = " (a decoder graph without its joiner cannot score tokens)"
    raise ModelFolderError(
        f"The sherpa-onnx pack {folder} is incomplete: {lacks} {'is' if len(missing) == 1 else 'are'} missing{extra}.",
        PACK_FIX)


def read_metadata(session: ort.InferenceSession) -> dict[str, str]:
    return {str(k): str(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}


def _int(meta: dict[str, str], key: str, path: Path) -> int:
    try:
        return int(meta[key].strip())
    except KeyError:
        raise ModelFolderError(
            f"{path} has no '{key}' in its metadata, so its streaming parameters are unknown "
            f"(sherpa-onnx needs {', '.join(REQUIRED_KEYS)}).",
            "Export it again with sherpa-onnx's NeMo export script (or tools/export_sherpa_onnx.py), which writes "
            "that metadata into encoder.onnx.") from None
    except ValueError:
        raise ModelFolderError(f"{path} metadata '{key}' = {meta[key]!r} is not an integer.",
                               "Export it again with sherpa-onnx's NeMo export script.") from None


def streaming_from_metadata(meta: dict[str, str], info: GraphInfo, encoder_file: str
                            ) -> tuple[EncoderSpec, StreamingSpec, int]:
    """Encoder and streaming parameters from sherpa-style metadata; also returns the feature dimension."""
    path = info.path
    layers = _int(meta, "cache_last_channel_dim1", path)
    left = _int(meta, "cache_last_channel_dim2", path)
    d_model = _int(meta, "cache_last_channel_dim3", path)
    time_layers = _int(meta, "cache_last_time_dim1", path)
    time_d = _int(meta, "cache_last_time_dim2", path)
    conv_cache = _int(meta, "cache_last_time_dim3", path)
    if (time_layers, time_d) != (layers, d_model):
        raise ModelFolderError(
            f"{path} metadata is inconsistent: cache_last_channel has {layers} layers x {d_model} but cache_last_time "
            f"has {time_layers} layers x {time_d}.", "Export the pack again; the metadata was edited or mixed up.")
    window = _int(meta, "window_size", path)
    shift = _int(meta, "chunk_shift", path)
    sub = _int(meta, "subsampling_factor", path)
    if sub <= 0 or shift <= 0 or shift % sub or window <= shift:
        raise ModelFolderError(
            f"{path} metadata is inconsistent: window_size {window}, chunk_shift {shift}, subsampling_factor {sub} "
            "(the shift must be a positive multiple of the subsampling factor and smaller than the window).",
            "Export the pack again with sherpa-onnx's NeMo export script.")
    feat_dim = _feature_dim(meta, info)
    lookahead = shift // sub - 1
    pre_cache = window - shift
    streaming = StreamingSpec(
        att_context_size=(left, lookahead),
        chunk_frames=(1 + sub * lookahead, shift),
        shift_frames=(1 + sub * lookahead, shift),
        valid_out_len=lookahead + 1,
        pre_encode_cache_size=pre_cache,
        drop_extra_pre_encoded=1 + (pre_cache - 1) // sub,
        last_channel_cache_size=left,
        encoder_file=encoder_file,
    )
    encoder = EncoderSpec(n_layers=layers, d_model=d_model, subsampling_factor=sub, conv_cache_size=conv_cache,
                          feat_in=feat_dim)
    return encoder, streaming, feat_dim


def has_streaming_metadata(meta: dict[str, str]) -> bool:
    return all(k in meta for k in STREAMING_KEYS)


def _feature_dim(meta: dict[str, str], info: GraphInfo) -> int:
    if "feat_dim" in meta:
        return _int(meta, "feat_dim", info.path)
    dim = info.input("audio_signal").shape[1] if "audio_signal" in info.input_names else None
    return dim if isinstance(dim, int) else 80  # sherpa-onnx reads the graph's feature axis; 80 when absent


def prompt_from_metadata(meta: dict[str, str], path: Path) -> PromptSpec:
    """sherpa-onnx's ``prompt_dictionary`` (JSON ``{"en-US": 0, ...}``) and ``auto_prompt_id``."""
    dictionary: dict[str, int] = {}
    raw = meta.get("prompt_dictionary", "")
    if raw:
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ModelFolderError(f"{path} metadata 'prompt_dictionary' is not JSON ({exc}).",
                                   "Export the pack again with sherpa-onnx's export script.") from exc
        if not isinstance(parsed, dict):
            raise ModelFolderError(f"{path} metadata 'prompt_dictionary' is not a JSON object.",
                                   "Export the pack again with sherpa-onnx's export script.")
        dictionary = {str(k).strip("<>"): int(v) for k, v in parsed.items()
                      if isinstance(v, int) and not isinstance(v, bool) and v >= 0}
    auto = AUTO_PROMPT_ID
    if meta.get("auto_prompt_id", "").strip().isdigit():
        auto = int(meta["auto_prompt_id"])
    dictionary.setdefault("auto", auto)
    return PromptSpec(dictionary=dictionary, num_prompts=max(dictionary.values()) + 1, default="auto")


def check_decoder(info: GraphInfo) -> None:
    """sherpa's ``decoder.onnx``: ``targets`` int32, ``target_length`` int32, two float states (by position)."""
    dtypes = [t.dtype for t in info.inputs]
    if len(info.inputs) != 4 or dtypes[:2] != ["int32", "int32"] or dtypes[2:] != ["float32", "float32"] \
            or len(info.outputs) < 4:
        found = ", ".join(t.describe() for t in info.inputs)
        raise ModelFolderError(
            f"{info.path} is not a NeMo RNNT prediction network as sherpa-onnx exports it (expected inputs targets "
            f"int32, target_length int32 and two float LSTM states, four outputs; it has {found}).", PACK_FIX)


def check_joiner(info: GraphInfo) -> None:
    if len(info.inputs) != 2 or any(t.dtype != "float32" for t in info.inputs) or len(info.outputs) != 1:
        found = ", ".join(t.describe() for t in info.inputs)
        raise ModelFolderError(
            f"{info.path} is not a NeMo RNNT joint as sherpa-onnx exports it (expected two float inputs, encoder "
            f"and decoder output, and one logits output; it has {found}).", PACK_FIX)


def load_sherpa_pack(folder: Path) -> tuple[ModelSpec, TokenTable]:
    files = choose_files(folder)
    tokens_path = folder / TOKENS_NAME
    if not tokens_path.is_file():
        raise ModelFolderError(
            f"The sherpa-onnx pack {folder} has no {TOKENS_NAME}, so token ids cannot be turned into text.",
            f"Copy {TOKENS_NAME} from the same pack (it lists '<piece> <id>' per line, {BLANK_PIECE} last).")
    try:
        table = TokenTable.parse(tokens_path.read_text(encoding="utf-8"), tokens_path)
    except UnicodeDecodeError as exc:
        raise ModelFolderError(f"{tokens_path} is not UTF-8 text ({exc}).", PACK_FIX) from exc

    session, info = open_graph_for_inspection(folder / files.encoder)
    require_signature(info, ENCODER_INPUTS, (), "cache-aware encoder")
    meta = read_metadata(session)
    del session
    vocab = _int(meta, "vocab_size", info.path)
    encoder, streaming, feat_dim = streaming_from_metadata(meta, info, files.encoder)
    if table.blank_id is None:
        where = ("" if BLANK_PIECE not in table.pieces
                 else f" (it is id {table.pieces.index(BLANK_PIECE)}, not the last)")
        raise ModelFolderError(f"{tokens_path} does not end with the blank token {BLANK_PIECE}{where}.",
                               f"Take {TOKENS_NAME} from the same pack; sherpa-onnx needs {BLANK_PIECE} last.")
    if len(table.pieces) != vocab + 1:
        raise ModelFolderError(
            f"{tokens_path} lists {len(table.pieces)} tokens but {info.path.name} says vocab_size {vocab} (+1 blank).",
            f"{TOKENS_NAME} belongs to another model: take it from the same pack as the graphs.")

    for name, check in ((files.decoder, check_decoder), (files.joiner, check_joiner)):
        decoder_session, decoder_info = open_graph_for_inspection(folder / name)
        del decoder_session
        check(decoder_info)

    notes = list(files.notes)
    normalize = meta.get("normalize_type", "").strip()
    if normalize not in ("", "NA", "None"):
        notes.append(f"normalize_type {normalize!r} is ignored while streaming, as sherpa-onnx does")
    prompt = prompt_from_metadata(meta, info.path) if "prompt_index" in info.input_names else None
    model_type = meta.get("model_type", "")
    window = streaming.pre_encode_cache_size + streaming.chunk_frames[1]
    notes.append(f"one lookahead, from the encoder metadata (window_size {window}, chunk_shift "
                 f"{streaming.chunk_frames[1]})" + (f"; model_type {model_type}" if model_type else ""))
    spec = ModelSpec(
        name=folder.name,
        preprocessor=PreprocessorSpec(n_mels=feat_dim),
        encoder=encoder,
        streaming=(streaming,),
        vocab_size=vocab,
        blank_id=vocab,
        tokenizer_file=TOKENS_NAME,
        rnnt=RnntSpec(files.decoder, _int(meta, "pred_hidden", info.path), _int(meta, "pred_rnn_layers", info.path),
                      10, joiner_file=files.joiner),
        source=meta.get("url") or None,
        layout=ModelLayout.SHERPA_ONNX,
        quantization=SHERPA_INT8 if files.int8 else None,
        notes=tuple(notes),
        prompt=prompt,
    )
    return spec, table
