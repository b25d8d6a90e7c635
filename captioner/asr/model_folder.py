"""Finding, reading and validating a model folder.

Four layouts are accepted:

* Captioner's own (``captioner export``): ``captioner-model.json`` + graphs + ``tokenizer.model``.
* A hand-made NeMo export: ``encoder-<name>.onnx`` + ``decoder_joint-<name>.onnx`` and/or one
  encoder+CTC graph ``<name>.onnx``, with the source ``.nemo`` beside them, or a loose
  ``model_config.yaml`` + ``tokenizer.model``. The lookahead baked into such a graph is measured by
  running it once, because the file name does not say which one was exported.
* sherpa-onnx's streaming NeMo transducer pack (``captioner.asr.sherpa_pack``): ``encoder.onnx`` +
  ``decoder.onnx`` + ``joiner.onnx`` (or ``*.int8.onnx``) + ``tokens.txt``, parameters in the encoder metadata.
* A layer-first export: ``encoder.onnx`` + ``decoder_joint.onnx`` + ``tokenizer.model`` whose cache inputs are
  NeMo's ``[layers, B, ...]``; the streaming parameters come from the encoder's metadata (sherpa-style keys) or
  else a ``model_config.yaml`` / ``.nemo`` beside it.

Every failure is a ``ModelFolderError`` naming the file, the problem and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import sentencepiece as spm

from captioner.asr.errors import CACHELESS_EXPORT_FIX, ModelFolderError
from captioner.asr.graphs import (
    DECODER_JOINT_INPUTS,
    DECODER_JOINT_OUTPUTS,
    ENCODER_INPUTS,
    GraphInfo,
    GraphKind,
    open_graph_for_inspection,
    require_signature,
)
from captioner.asr.manifest import MANIFEST_NAME, read_manifest
from captioner.asr.nemo_config import (
    CONFIG_NAME,
    att_context_sizes,
    encoder_spec,
    parse_config,
    preprocessor_spec,
    prompt_spec,
    read_nemo_archive,
    rnnt_settings,
    streaming_spec_for,
)
from captioner.asr.prompt_kernel import PromptKernel, read_prompt_kernel
from captioner.asr.sherpa_pack import (
    has_streaming_metadata,
    is_sherpa_pack,
    load_sherpa_pack,
    read_metadata,
    streaming_from_metadata,
)
from captioner.asr.spec import (
    CacheLayout,
    CtcSpec,
    EncoderSpec,
    ModelLayout,
    ModelSpec,
    PreprocessorSpec,
    RnntSpec,
    StreamingSpec,
)
from captioner.asr.spec_limits import check_front, check_spec
from captioner.asr.tokenizer import Tokenizer, TokenTable
from captioner.asr.weights_digest import WeightsDigest, full_sha256, sampled_sha256

EXPORT_HINT = "Export it with `captioner export MODEL.nemo OUT_DIR`."


@dataclass(frozen=True)
class ModelFolder:
    """A model folder whose files exist and agree with each other (graphs not yet opened for inference)."""

    path: Path
    spec: ModelSpec
    tokenizer_model: bytes
    prompt_kernel: PromptKernel | None = None
    """For a hand-made export of a language-prompt model: the prompt, applied outside the graphs."""
    token_table: TokenTable | None = None
    """A sherpa-onnx pack's ``tokens.txt`` (then ``tokenizer_model`` is empty: packs carry no SentencePiece)."""

    def file(self, name: str) -> Path:
        return self.path / name

    def encoder_weight_bytes(self) -> int:
        """About how many bytes of weights one encoder step reads: the shared weights file (when there is
        one) plus the largest encoder graph (where a graph keeps its weights inline)."""
        shared = self.file(self.spec.weights_file) if self.spec.weights_file else None
        graphs = [self.file(s.encoder_file) for s in self.spec.streaming]
        sizes = [p.stat().st_size for p in graphs if p.is_file()]
        return (shared.stat().st_size if shared is not None and shared.is_file() else 0) + max(sizes, default=0)

    def tokenizer(self) -> Tokenizer:
        return Tokenizer(self.token_table if self.token_table is not None else self.tokenizer_model)


def load_model_folder(path: Path | str) -> ModelFolder:
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelFolderError(f"The model folder {folder} does not exist.",
                               "Choose the folder that holds the exported model.")
    if not folder.is_dir():
        raise ModelFolderError(f"{folder} is a file, not a model folder.",
                               "Choose the folder that holds captioner-model.json or the exported .onnx files.")
    if (folder / MANIFEST_NAME).is_file():
        loaded = _load_manifest_folder(folder)
    elif is_sherpa_pack(folder):
        spec, table = load_sherpa_pack(folder)
        loaded = ModelFolder(folder, spec, b"", token_table=table)
    else:
        loaded = _load_nemo_export_folder(folder)
    check_spec(loaded.spec, folder)
    return loaded


def _load_manifest_folder(folder: Path) -> ModelFolder:
    spec = read_manifest(folder / MANIFEST_NAME)
    check_spec(spec, folder / MANIFEST_NAME)  # before any file it names is touched
    if not spec.streaming:
        raise ModelFolderError(f"{folder / MANIFEST_NAME} lists no encoder.", f"Re-export the model. {EXPORT_HINT}")
    needed = [spec.tokenizer_file] + ([spec.weights_file] if spec.weights_file else [])
    for s in spec.streaming:
        needed += [f for f in (s.encoder_file, s.first_chunk_encoder_file, s.ctc_file) if f]
    if spec.rnnt:
        needed.append(spec.rnnt.decoder_joint_file)
    if spec.ctc and spec.ctc.head_file:
        needed.append(spec.ctc.head_file)
    missing = sorted({name for name in needed if not (folder / name).is_file()})
    if missing:
        raise ModelFolderError(
            f"The model folder {folder} is incomplete: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing.",
            "Copy the whole folder written by `captioner export`, or export it again.",
        )
    if spec.weights_file and spec.weights_digest is not None:
        check_weights(folder / spec.weights_file, spec.weights_digest, full=False)
    tokenizer = (folder / spec.tokenizer_file).read_bytes()
    _check_tokenizer(tokenizer, folder / spec.tokenizer_file, spec.vocab_size)
    return ModelFolder(folder, spec, tokenizer)


def check_weights(path: Path, digest: WeightsDigest, *, full: bool) -> None:
    """Refuse a ``weights.bin`` that is not the one the manifest was written for (size and sampled hash, or all)."""
    size = path.stat().st_size
    damaged = size != digest.size or sampled_sha256(path, size) != digest.sampled_sha256 or (
        full and full_sha256(path) != digest.sha256)
    if damaged:
        raise ModelFolderError(
            f"{path} is damaged: its {'size' if size != digest.size else 'content'} differs from when the model "
            "folder was written (a broken copy or download, or a failing disk).",
            "Copy the model folder again, or import/export the model again.")


def _check_tokenizer(model: bytes, origin: Path, vocab_size: int | None) -> int:
    try:
        size = int(spm.SentencePieceProcessor(model_proto=model).get_piece_size())
    except Exception as exc:  # sentencepiece raises RuntimeError/OSError variants for bad protos
        raise ModelFolderError(f"{origin} is not a readable SentencePiece tokenizer ({exc}).",
                               "Take tokenizer.model from the model's .nemo archive.") from exc
    if vocab_size is not None and size != vocab_size:
        raise ModelFolderError(
            f"{origin} has {size} tokens but the model's output layer has {vocab_size} (+1 blank).",
            "The tokenizer belongs to a different model: use the tokenizer from the same .nemo as the graphs.",
        )
    return size


def _load_nemo_export_folder(folder: Path) -> ModelFolder:
    graphs = sorted(folder.glob("*.onnx"))
    if not graphs:
        raise ModelFolderError(
            f"The folder {folder} holds neither {MANIFEST_NAME} nor any .onnx graph.",
            f"Choose the folder that holds the exported model. {EXPORT_HINT}",
        )
    infos = {g.name: open_graph_for_inspection(g) for g in graphs}
    for _session, info in infos.values():
        if info.kind in (GraphKind.CACHELESS_ENCODER, GraphKind.CACHELESS_CTC):
            raise ModelFolderError(
                f"{info.path} has only the inputs {sorted(info.input_names)}: it lacks cache_last_channel, "
                "cache_last_time and cache_last_channel_len.",
                CACHELESS_EXPORT_FIX,
            )
    encoders = [n for n, (_, i) in infos.items() if i.kind is GraphKind.CACHE_AWARE_ENCODER]
    joints = [n for n, (_, i) in infos.items() if i.kind is GraphKind.DECODER_JOINT]
    ctcs = [n for n, (_, i) in infos.items() if i.kind is GraphKind.CACHE_AWARE_CTC]
    if len(encoders) > 1 or len(joints) > 1 or len(ctcs) > 1:
        raise ModelFolderError(
            f"The folder {folder} mixes several exports ({', '.join(sorted(infos))}).",
            "Keep one model per folder: one encoder-*.onnx with its decoder_joint-*.onnx and/or one CTC graph.",
        )
    if encoders and not joints:
        raise ModelFolderError(f"{folder / encoders[0]} has no decoder_joint-*.onnx beside it.",
                               "Copy the decoder_joint graph written by the same export.")
    if joints and not encoders:
        raise ModelFolderError(f"{folder / joints[0]} has no encoder-*.onnx beside it.",
                               "Copy the encoder graph written by the same export.")
    if not encoders and not ctcs:
        names = ", ".join(f"{n} ({i.kind.value})" for n, (_, i) in infos.items())
        raise ModelFolderError(f"No streaming encoder found in {folder}: {names}.", EXPORT_HINT)

    main_graph = encoders[0] if encoders else ctcs[0]
    session, info = infos[main_graph]
    meta = read_metadata(session)
    if has_streaming_metadata(meta):
        return _load_metadata_export(folder, infos, main_graph, joints, ctcs, meta)

    config, tokenizer, config_origin = _find_config(folder, main_graph)
    preprocessor = preprocessor_spec(config)
    encoder = encoder_spec(config)
    check_front(preprocessor, encoder, config_origin)  # before a test window of that size is run
    cache_layout = detect_cache_layout(info, encoder.n_layers)
    lookahead = probe_lookahead(session, info, encoder, preprocessor.n_mels, config, cache_layout)
    trained = att_context_sizes(config)
    att = next((a for a in trained if a[1] == lookahead), (trained[0][0], lookahead))
    streaming = streaming_spec_for(config, att, encoder_file=main_graph, ctc_file=ctcs[0] if ctcs else None)

    vocab = _check_tokenizer(tokenizer, config_origin, None)
    rnnt = None
    if joints:
        require_signature(infos[joints[0]][1], DECODER_JOINT_INPUTS, DECODER_JOINT_OUTPUTS, "decoder_joint")
        pred_hidden, layers, max_symbols = rnnt_settings(config)
        rnnt = RnntSpec(joints[0], pred_hidden, layers, max_symbols)
    layer_first = cache_layout is CacheLayout.LAYER_FIRST
    spec = ModelSpec(
        name=_export_name(folder, main_graph),
        preprocessor=preprocessor,
        encoder=encoder,
        streaming=(streaming,),
        vocab_size=vocab,
        blank_id=vocab,
        tokenizer_file=config_origin.name,
        rnnt=rnnt,
        ctc=CtcSpec(head_file=None) if ctcs else None,
        source=config_origin.name,
        layout=ModelLayout.LAYER_FIRST if layer_first else ModelLayout.NEMO_EXPORT,
        notes=(f"lookahead {att} measured from {main_graph}",
               *((f"layer-first caches; parameters from {config_origin.name}",) if layer_first else ())),
        cache_layout=cache_layout,
    )
    prompt = prompt_spec(config)
    kernel = None
    if prompt is not None:
        if config_origin.suffix != ".nemo":
            raise ModelFolderError(
                f"{folder} holds a language-prompt model whose graphs lack its prompt_kernel (NeMo's export leaves "
                "it out), and no .nemo to read it from.",
                "Put the source .nemo beside the graphs, or import it with `captioner import MODEL.nemo OUT_DIR`.")
        kernel = read_prompt_kernel(config_origin)
        spec = replace(spec, prompt=replace(prompt, num_prompts=kernel.num_prompts))
    return ModelFolder(folder, spec, tokenizer, kernel)


def _export_name(folder: Path, main_graph: str) -> str:
    name = main_graph.removesuffix(".onnx").removeprefix("encoder-")
    return folder.name if name == "encoder" else name


def _load_metadata_export(folder: Path, infos: dict[str, tuple[ort.InferenceSession, GraphInfo]], main_graph: str,
                          joints: list[str], ctcs: list[str], meta: dict[str, str]) -> ModelFolder:
    """An export whose encoder carries sherpa-style streaming metadata, beside decoder_joint + tokenizer.model."""
    session, info = infos[main_graph]
    encoder, streaming, feat_dim = streaming_from_metadata(meta, info, main_graph)
    tokenizers = sorted(folder.glob("*tokenizer.model"))
    if not tokenizers:
        raise ModelFolderError(
            f"The folder {folder} has {main_graph} with streaming metadata but no tokenizer.model, so token ids "
            "cannot be turned into text.", "Copy the SentencePiece tokenizer.model of the same model beside it.")
    tokenizer = tokenizers[0].read_bytes()
    vocab = _check_tokenizer(tokenizer, tokenizers[0], None)
    if "vocab_size" in meta and meta["vocab_size"].strip().isdigit() and int(meta["vocab_size"]) != vocab:
        raise ModelFolderError(
            f"{tokenizers[0]} has {vocab} tokens but {info.path.name} says vocab_size {meta['vocab_size']}.",
            "The tokenizer belongs to a different model: use the tokenizer from the same export as the graphs.")
    cache_layout = detect_cache_layout(info, encoder.n_layers)
    lookahead = probe_lookahead(session, info, encoder, feat_dim, None, cache_layout,
                                left=streaming.last_channel_cache_size)
    if lookahead != streaming.att_context_size[1]:
        raise ModelFolderError(
            f"{info.path} metadata says chunk_shift {streaming.chunk_frames[1]} (lookahead "
            f"{streaming.att_context_size[1]} encoder frames) but the graph keeps {lookahead + 1} frames per step.",
            "The metadata does not belong to this graph: export it again.")
    rnnt = None
    if joints:
        require_signature(infos[joints[0]][1], DECODER_JOINT_INPUTS, DECODER_JOINT_OUTPUTS, "decoder_joint")
        pred_hidden = int(meta.get("pred_hidden", "0") or 0)
        layers = int(meta.get("pred_rnn_layers", "1") or 1)
        joint_states = infos[joints[0]][1].input("input_states_1").shape
        if pred_hidden <= 0:
            pred_hidden = joint_states[2] if isinstance(joint_states[2], int) else 0
        if pred_hidden <= 0:
            raise ModelFolderError(f"{folder / joints[0]} does not say its LSTM size and {info.path.name} has no "
                                   "'pred_hidden' metadata.",
                                   "Add pred_hidden/pred_rnn_layers to the encoder metadata.")
        rnnt = RnntSpec(joints[0], pred_hidden, layers, 10)
    layer_first = cache_layout is CacheLayout.LAYER_FIRST
    spec = ModelSpec(
        name=_export_name(folder, main_graph),
        preprocessor=PreprocessorSpec(n_mels=feat_dim),
        encoder=encoder,
        streaming=(streaming,),
        vocab_size=vocab,
        blank_id=vocab,
        tokenizer_file=tokenizers[0].name,
        rnnt=rnnt,
        ctc=CtcSpec(head_file=None) if ctcs else None,
        source=meta.get("url") or None,
        layout=ModelLayout.LAYER_FIRST if layer_first else ModelLayout.NEMO_EXPORT,
        notes=(f"streaming parameters from {main_graph} metadata",
               *(("layer-first caches",) if layer_first else ())),
        cache_layout=cache_layout,
    )
    return ModelFolder(folder, spec, tokenizer)


def detect_cache_layout(info: GraphInfo, n_layers: int) -> CacheLayout:
    """Batch-first ``[B, L, ...]`` (NeMo's ONNX export) or layer-first ``[L, B, ...]``, from the cache input shapes.

    A static axis equal to the layer count tells; with one layer both orders are the same bytes. When neither
    axis is static the encoder is probed with both (``probe_lookahead``).
    """
    shape = info.input("cache_last_channel").shape
    if len(shape) != 4:
        raise ModelFolderError(f"{info.path} has a {len(shape)}-D cache_last_channel; NeMo's is 4-D.", EXPORT_HINT)
    first, second = shape[0], shape[1]
    if second == n_layers and first != n_layers:
        return CacheLayout.BATCH_FIRST
    if first == n_layers and second != n_layers:
        return CacheLayout.LAYER_FIRST
    if isinstance(first, str) and "layer" in first.lower():
        return CacheLayout.LAYER_FIRST
    return CacheLayout.BATCH_FIRST


def _find_config(folder: Path, main_graph: str = "") -> tuple[dict[str, Any], bytes, Path]:
    archives = sorted(folder.glob("*.nemo"))
    if len(archives) > 1:
        raise ModelFolderError(f"{folder} holds several .nemo files ({', '.join(a.name for a in archives)}).",
                               "Keep only the .nemo the graphs were exported from.")
    if archives:
        config, tokenizer = read_nemo_archive(archives[0])
        return config, tokenizer, archives[0]
    config_path = folder / CONFIG_NAME
    tokenizers = sorted(folder.glob("*tokenizer.model"))
    if not config_path.is_file() or not tokenizers:
        missing = [n for n, ok in ((CONFIG_NAME, config_path.is_file()), ("tokenizer.model", bool(tokenizers)))
                   if not ok]
        raise ModelFolderError(
            f"The folder {folder} has ONNX graphs but no {' or '.join(missing)}, so the features, streaming "
            "parameters and vocabulary are unknown"
            + (f" ({main_graph} carries no streaming metadata: no window_size / chunk_shift)." if main_graph else "."),
            "Put the source .nemo file beside the graphs (it is read, never unpickled), or extract "
            f"{CONFIG_NAME} and the tokenizer from it (`tar xf MODEL.nemo`).",
        )
    return parse_config(config_path.read_bytes(), config_path), tokenizers[0].read_bytes(), config_path


def initial_cache_shapes(info: GraphInfo, encoder: EncoderSpec, left_context: int,
                         layout: CacheLayout = CacheLayout.BATCH_FIRST) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes of ``cache_last_channel`` / ``cache_last_time`` for batch 1 in the graph's axis order.

    Static graph dims win. The caches are only ever fed back to the graph that made them, so they are kept
    in the graph's own order: a layer-first graph gets ``[L, 1, C, D]`` / ``[L, 1, D, K-1]`` zeros at the start
    and its own outputs afterwards, which is the transpose of the batch-first state at every step.
    """
    def pick(dim: int | str | None, fallback: int) -> int:
        return dim if isinstance(dim, int) and dim > 0 else fallback

    ch = info.input("cache_last_channel").shape
    tm = info.input("cache_last_time").shape
    if layout is CacheLayout.LAYER_FIRST:
        return ((pick(ch[0], encoder.n_layers), 1, pick(ch[2], left_context), pick(ch[3], encoder.d_model)),
                (pick(tm[0], encoder.n_layers), 1, pick(tm[2], encoder.d_model), pick(tm[3], encoder.conv_cache_size)))
    channel = (1, pick(ch[1], encoder.n_layers), pick(ch[2], left_context), pick(ch[3], encoder.d_model))
    time = (1, pick(tm[1], encoder.n_layers), pick(tm[2], encoder.d_model), pick(tm[3], encoder.conv_cache_size))
    return channel, time


def probe_lookahead(session: ort.InferenceSession, info: GraphInfo, encoder: EncoderSpec, n_mels: int,
                    config: dict[str, Any] | None, layout: CacheLayout = CacheLayout.BATCH_FIRST,
                    left: int | None = None) -> int:
    """Run the encoder once on a long window: it trims its output to ``lookahead + 1`` frames."""
    require_signature(info, ENCODER_INPUTS, (), "cache-aware encoder")
    if left is None:
        assert config is not None
        left = att_context_sizes(config)[0][0]
    channel, time = initial_cache_shapes(info, encoder, left, layout)
    first_output = None
    failure: Exception | None = None
    # A long window first (longer than any lookahead's step); a graph whose baked position table is shorter
    # (small pos_emb_max_len) refuses it, so shorter ones follow: the output still shows the lookahead.
    for probe_frames in (64, 24):
        width = encoder.subsampling_factor + 1 + encoder.subsampling_factor * probe_frames
        feeds = {
            "audio_signal": np.zeros((1, n_mels, width), np.float32),
            "length": np.array([width], np.int64),
            "cache_last_channel": np.zeros(channel, np.float32),
            "cache_last_time": np.zeros(time, np.float32),
            "cache_last_channel_len": np.zeros(1, np.int64),
        }
        try:
            first_output = session.run([session.get_outputs()[0].name], feeds)[0]
            break
        except Exception as exc:  # ORT raises its own exception types
            failure = failure or exc
    if first_output is None:
        assert failure is not None
        origin = CONFIG_NAME if config is not None else "its metadata"
        raise ModelFolderError(
            f"{info.path} failed on a test window ({str(failure).splitlines()[0]}); its cache shapes "
            f"{channel} / {time} may not match {origin}.",
            "Make sure the config and the graph come from the same model, or re-export with `captioner export`.",
        ) from failure
    frames = first_output.shape[-1] if info.kind is GraphKind.CACHE_AWARE_ENCODER else first_output.shape[1]
    return int(frames) - 1


def with_spec(folder: ModelFolder, **changes: Any) -> ModelFolder:
    return replace(folder, spec=replace(folder.spec, **changes))


def streaming_files(streaming: StreamingSpec) -> list[str]:
    return [f for f in (streaming.encoder_file, streaming.first_chunk_encoder_file, streaming.ctc_file) if f]
