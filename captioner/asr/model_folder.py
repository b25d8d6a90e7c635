"""Finding, reading and validating a model folder.

Two layouts are accepted:

* Captioner's own (``captioner export``): ``captioner-model.json`` + graphs + ``tokenizer.model``.
* A hand-made NeMo export: ``encoder-<name>.onnx`` + ``decoder_joint-<name>.onnx`` and/or one
  encoder+CTC graph ``<name>.onnx``, with the source ``.nemo`` beside them, or a loose
  ``model_config.yaml`` + ``tokenizer.model``. The lookahead baked into such a graph is measured by
  running it once, because the file name does not say which one was exported.

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
from captioner.asr.spec import CtcSpec, EncoderSpec, ModelSpec, RnntSpec, StreamingSpec

EXPORT_HINT = "Export it with `captioner export MODEL.nemo OUT_DIR`."


@dataclass(frozen=True)
class ModelFolder:
    """A model folder whose files exist and agree with each other (graphs not yet opened for inference)."""

    path: Path
    spec: ModelSpec
    tokenizer_model: bytes
    prompt_kernel: PromptKernel | None = None
    """For a hand-made export of a language-prompt model: the prompt, applied outside the graphs."""

    def file(self, name: str) -> Path:
        return self.path / name


def load_model_folder(path: Path | str) -> ModelFolder:
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelFolderError(f"The model folder {folder} does not exist.",
                               "Choose the folder that holds the exported model.")
    if not folder.is_dir():
        raise ModelFolderError(f"{folder} is a file, not a model folder.",
                               "Choose the folder that holds captioner-model.json or the exported .onnx files.")
    if (folder / MANIFEST_NAME).is_file():
        return _load_manifest_folder(folder)
    return _load_nemo_export_folder(folder)


def _load_manifest_folder(folder: Path) -> ModelFolder:
    spec = read_manifest(folder / MANIFEST_NAME)
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
    tokenizer = (folder / spec.tokenizer_file).read_bytes()
    _check_tokenizer(tokenizer, folder / spec.tokenizer_file, spec.vocab_size)
    return ModelFolder(folder, spec, tokenizer)


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

    config, tokenizer, config_origin = _find_config(folder)
    preprocessor = preprocessor_spec(config)
    encoder = encoder_spec(config)
    main_graph = encoders[0] if encoders else ctcs[0]
    session, info = infos[main_graph]
    lookahead = probe_lookahead(session, info, encoder, preprocessor.n_mels, config)
    trained = att_context_sizes(config)
    att = next((a for a in trained if a[1] == lookahead), (trained[0][0], lookahead))
    streaming = streaming_spec_for(config, att, encoder_file=main_graph, ctc_file=ctcs[0] if ctcs else None)

    vocab = _check_tokenizer(tokenizer, config_origin, None)
    rnnt = None
    if joints:
        require_signature(infos[joints[0]][1], DECODER_JOINT_INPUTS, DECODER_JOINT_OUTPUTS, "decoder_joint")
        pred_hidden, layers, max_symbols = rnnt_settings(config)
        rnnt = RnntSpec(joints[0], pred_hidden, layers, max_symbols)
    spec = ModelSpec(
        name=main_graph.removesuffix(".onnx").removeprefix("encoder-"),
        preprocessor=preprocessor,
        encoder=encoder,
        streaming=(streaming,),
        vocab_size=vocab,
        blank_id=vocab,
        tokenizer_file=config_origin.name,
        rnnt=rnnt,
        ctc=CtcSpec(head_file=None) if ctcs else None,
        source=config_origin.name,
        layout="nemo-export",
        notes=(f"lookahead {att} measured from {main_graph}",),
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


def _find_config(folder: Path) -> tuple[dict[str, Any], bytes, Path]:
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
            "parameters and vocabulary are unknown.",
            "Put the source .nemo file beside the graphs (it is read, never unpickled), or extract "
            f"{CONFIG_NAME} and the tokenizer from it (`tar xf MODEL.nemo`).",
        )
    return parse_config(config_path.read_bytes(), config_path), tokenizers[0].read_bytes(), config_path


def initial_cache_shapes(info: GraphInfo, encoder: EncoderSpec, left_context: int
                         ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes of ``cache_last_channel`` / ``cache_last_time`` for batch 1: static graph dims win."""
    def pick(dim: int | str | None, fallback: int) -> int:
        return dim if isinstance(dim, int) and dim > 0 else fallback

    ch = info.input("cache_last_channel").shape
    tm = info.input("cache_last_time").shape
    channel = (1, pick(ch[1], encoder.n_layers), pick(ch[2], left_context), pick(ch[3], encoder.d_model))
    time = (1, pick(tm[1], encoder.n_layers), pick(tm[2], encoder.d_model), pick(tm[3], encoder.conv_cache_size))
    return channel, time


def probe_lookahead(session: ort.InferenceSession, info: GraphInfo, encoder: EncoderSpec, n_mels: int,
                    config: dict[str, Any]) -> int:
    """Run the encoder once on a long window: it trims its output to ``lookahead + 1`` frames."""
    require_signature(info, ENCODER_INPUTS, (), "cache-aware encoder")
    left = att_context_sizes(config)[0][0]
    channel, time = initial_cache_shapes(info, encoder, left)
    width = encoder.subsampling_factor + 1 + encoder.subsampling_factor * 64
    feeds = {
        "audio_signal": np.zeros((1, n_mels, width), np.float32),
        "length": np.array([width], np.int64),
        "cache_last_channel": np.zeros(channel, np.float32),
        "cache_last_time": np.zeros(time, np.float32),
        "cache_last_channel_len": np.zeros(1, np.int64),
    }
    try:
        first_output = session.run([session.get_outputs()[0].name], feeds)[0]
    except Exception as exc:  # ORT raises its own exception types
        raise ModelFolderError(
            f"{info.path} failed on a test window ({str(exc).splitlines()[0]}); its cache shapes "
            f"{channel} / {time} may not match {CONFIG_NAME}.",
            "Make sure the config and the graph come from the same model, or re-export with `captioner export`.",
        ) from exc
    frames = first_output.shape[-1] if info.kind is GraphKind.CACHE_AWARE_ENCODER else first_output.shape[1]
    return int(frames) - 1


def with_spec(folder: ModelFolder, **changes: Any) -> ModelFolder:
    return replace(folder, spec=replace(folder.spec, **changes))


def streaming_files(streaming: StreamingSpec) -> list[str]:
    return [f for f in (streaming.encoder_file, streaming.first_chunk_encoder_file, streaming.ctc_file) if f]
