"""``captioner inspect``: everything about a model folder, and a verdict on whether it can caption.

Deeper than loading: every graph is opened and probed once, so a vocabulary mismatch, a graph
whose baked-in lookahead differs from the manifest, or a cache-less export is caught before a
meeting, with the same one-paragraph messages the app shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from captioner.asr.errors import CACHELESS_EXPORT_FIX, ModelFolderError
from captioner.asr.graphs import (
    DECODER_JOINT_INPUTS,
    DECODER_JOINT_OUTPUTS,
    ENCODER_INPUTS,
    ENCODER_OUTPUTS,
    GraphInfo,
    GraphKind,
    open_graph_for_inspection,
    require_signature,
)
from captioner.asr.model_folder import ModelFolder, check_weights, initial_cache_shapes, load_model_folder
from captioner.asr.sherpa_pack import SHERPA_INT8, check_decoder, check_joiner
from captioner.asr.spec import AttentionCache, ModelLayout, ModelSpec
from captioner.asr.tokenizer import Tokenizer

WEIGHT_SCHEMES = {
    "float16-weights": "float16 (rounded at export, computed in float32)",
    "int8-matmul": "int8-matmul (encoder MatMul weights in int8)",
    "int8-block": "int8-block (encoder MatMul weights in 8 bits per value, a scale per block)",
    "int4-block": "int4-block (encoder MatMul weights in 4 bits per value, a scale per block)",
    SHERPA_INT8: "int8 (sherpa-onnx's quantize_dynamic QUInt8 on all graphs)",
}
"""How ``captioner inspect`` describes each ``ModelSpec.quantization``; an unknown one is shown as it is."""


@dataclass
class InspectReport:
    path: Path
    usable: bool
    message: str
    spec: ModelSpec | None = None
    graphs: list[GraphInfo] = field(default_factory=list)
    graph_errors: dict[str, str] = field(default_factory=dict)
    tokenizer_model: bytes | None = None
    tokenizer: Tokenizer | None = None

    @property
    def layout_text(self) -> str | None:
        """The folder's layout in words: "sherpa-onnx pack (int8)", "Captioner folder (...)", ..."""
        if self.spec is None:
            return None
        text = self.spec.layout.describe()
        if self.spec.layout is ModelLayout.SHERPA_ONNX:
            text += " (int8)" if self.spec.quantization == SHERPA_INT8 else " (float)"
        return text

    def _text_style(self) -> tuple[bool | None, bool | None]:
        if self.tokenizer is not None:
            return self.tokenizer.text_style()
        if self.tokenizer_model:
            return Tokenizer(self.tokenizer_model).text_style()
        return None, None

    @staticmethod
    def _modes(spec: ModelSpec, first_chunk: bool) -> list[str]:
        if spec.layout is ModelLayout.SHERPA_ONNX:
            return ["S", "B"]
        return ["A", "B", "S"] if first_chunk else ["B", "S"]

    @property
    def cache_support(self) -> bool:
        encoders = [g for g in self.graphs if g.kind in (
            GraphKind.CACHE_AWARE_ENCODER, GraphKind.CACHE_AWARE_CTC,
            GraphKind.CACHELESS_ENCODER, GraphKind.CACHELESS_CTC)]
        return bool(encoders) and all(
            g.kind in (GraphKind.CACHE_AWARE_ENCODER, GraphKind.CACHE_AWARE_CTC) for g in encoders)

    def to_json(self) -> dict[str, Any]:
        spec = self.spec
        data: dict[str, Any] = {
            "path": str(self.path),
            "usable": self.usable,
            "verdict": self.message,
            "cache_support": self.cache_support,
            "graphs": [
                {
                    "file": g.path.name,
                    "kind": g.kind.value,
                    "inputs": [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape)} for t in g.inputs],
                    "outputs": [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape)} for t in g.outputs],
                }
                for g in self.graphs
            ],
            "graph_errors": self.graph_errors,
        }
        if spec is not None:
            frame_ms = spec.preprocessor.frame_ms
            cased, punctuated = self._text_style()
            data.update({
                "name": spec.name,
                "layout_text": self.layout_text,
                "notes": list(spec.notes),
                "family": spec.family.value,
                "attention_cache": spec.attention_cache.value,
                "languages": sorted(spec.prompt.dictionary) if spec.prompt else None,
                "default_language": spec.prompt.default if spec.prompt else None,
                "cased": cased,
                "punctuated": punctuated,
                "layout": spec.layout,
                "quantization": spec.quantization,
                "decoders": spec.decoders(),
                "vocabulary_size": spec.vocab_size,
                "blank_id": spec.blank_id,
                "encoder": {"layers": spec.encoder.n_layers, "d_model": spec.encoder.d_model,
                            "subsampling_factor": spec.encoder.subsampling_factor,
                            "conv_cache": spec.encoder.conv_cache_size},
                "sample_rate": spec.preprocessor.sample_rate,
                "n_mels": spec.preprocessor.n_mels,
                "lookaheads": [
                    {
                        "lookahead_ms": ms,
                        "att_context_size": list(s.att_context_size),
                        "chunk_frames": list(s.chunk_frames),
                        "chunk_ms": [round(c * frame_ms) for c in s.chunk_frames],
                        "encoder_frames_per_step": s.valid_out_len,
                        "left_context_ms": round(s.att_context_size[0] * spec.encoder_frame_ms),
                        "streaming_modes": self._modes(spec, bool(s.first_chunk_encoder_file)),
                        "window_frames": s.pre_encode_cache_size + s.chunk_frames[1],
                        "encoder": s.encoder_file,
                    }
                    for s, ms in zip(spec.streaming, spec.lookaheads_ms(), strict=True)
                ],
            })
        return data

    def to_text(self) -> str:
        lines = [f"Model folder: {self.path}"]
        if self.spec is not None:
            s = self.spec
            lines += [
                f"Name: {s.name}",
                f"Layout: {self.layout_text}",
                f"Encoder: {s.encoder.n_layers} layers, d_model {s.encoder.d_model}, "
                f"subsampling x{s.encoder.subsampling_factor}, conv cache {s.encoder.conv_cache_size} "
                f"({s.encoder_frame_ms:g} ms per encoder frame)",
                f"Features: {s.preprocessor.n_mels} mels at {s.preprocessor.sample_rate} Hz",
                f"Weights: {WEIGHT_SCHEMES.get(s.quantization or '', s.quantization or 'float32 (as exported)')}",
                "Attention cache: " + ("projected keys and values (Captioner's streaming graph)"
                                       if s.attention_cache is AttentionCache.PROJECTED_KV
                                       else "layer inputs (NeMo's layout)"),
                f"Vocabulary: {s.vocab_size} tokens + blank (id {s.blank_id})",
                f"Family: {s.family.value}; decoders {', '.join(d.upper() for d in s.decoders())}",
            ]
            if self.tokenizer is not None or self.tokenizer_model:
                cased, punctuated = self._text_style()
                lines.append("Text: " + ("capitals" if cased else "lower case") + " and "
                             + ("punctuation" if punctuated else "no punctuation"))
            if s.prompt is not None:
                lines.append(f"Languages: {', '.join(sorted(s.prompt.dictionary))} (default {s.prompt.default}; "
                             "choose with --language)")
            lines += [f"Note: {note}" for note in s.notes]
            for st, ms in zip(s.streaming, s.lookaheads_ms(), strict=True):
                modes = "+".join(self._modes(s, bool(st.first_chunk_encoder_file)))
                lines.append(
                    f"Lookahead {ms} ms (chunk {round(st.chunk_frames[1] * s.preprocessor.frame_ms)} ms): "
                    f"att_context {list(st.att_context_size)}, chunk {list(st.chunk_frames)} "
                    f"feature frames, {st.valid_out_len} encoder frames/step, modes {modes}"
                )
        lines.append(f"Cache support: {'YES' if self.cache_support else 'NO'}")
        for graph in self.graphs:
            lines += graph.describe()
        lines += [f"{name}: ERROR {err}" for name, err in self.graph_errors.items()]
        lines.append(f"Verdict: {'USABLE' if self.usable else 'NOT USABLE'} - {self.message}")
        return "\n".join(lines)


def inspect_model_folder(path: Path | str) -> InspectReport:
    """Describe every graph and check each against the folder's spec.

    Graphs are opened one at a time and released before the next, so inspecting the large model
    (eight 456 MB encoders) costs the memory of one graph, not of all of them.
    """
    folder_path = Path(path).expanduser()
    try:
        folder: ModelFolder | None = load_model_folder(folder_path)
        verdict_error: ModelFolderError | None = None
        if folder is not None and folder.spec.weights_file and folder.spec.weights_digest is not None:
            check_weights(folder.file(folder.spec.weights_file), folder.spec.weights_digest, full=True)
    except ModelFolderError as exc:
        folder, verdict_error = None, exc
    checks = _planned_checks(folder) if folder is not None else {}
    graphs: list[GraphInfo] = []
    errors: dict[str, str] = {}
    if folder_path.is_dir():
        for graph_path in sorted(folder_path.glob("*.onnx")):
            try:
                session, info = open_graph_for_inspection(graph_path)
                graphs.append(info)
                if verdict_error is None and graph_path.name in checks:
                    checks[graph_path.name](session, info)
            except ModelFolderError as exc:
                if graph_path.name in checks or folder is None:
                    verdict_error = verdict_error or exc
                errors.setdefault(graph_path.name, str(exc))
            finally:
                session = None  # release this graph's weights before opening the next
    if verdict_error is not None or folder is None:
        message = str(verdict_error) if verdict_error else f"{folder_path} is not a model folder."
        return InspectReport(folder_path, False, message, None, graphs, errors)
    spec = folder.spec
    summary = (f"{spec.name}: {', '.join(d.upper() for d in spec.decoders())} with lookahead "
               f"{', '.join(f'{ms} ms' for ms in spec.lookaheads_ms())}; cache-aware streaming export"
               f" ({spec.layout.describe()}).")
    return InspectReport(folder_path, True, summary, spec, graphs, errors, folder.tokenizer_model, folder.tokenizer())


GraphCheck = Callable[[ort.InferenceSession, GraphInfo], None]

PROBE_ENCODER_FRAMES = 65
"""The test window's length in encoder frames: longer than any lookahead's step (1040 ms is 14), so a graph
exported for another lookahead shows itself by the frames it keeps."""
SHORT_PROBE_ENCODER_FRAMES = 24
"""Retried when the long window fails: graphs with a short baked position table (small ``pos_emb_max_len``)."""


def _planned_checks(folder: ModelFolder) -> dict[str, GraphCheck]:
    """What each graph the spec names must satisfy, keyed by file name."""
    spec = folder.spec
    expected_outputs = spec.vocab_size + 1
    checks: dict[str, GraphCheck] = {}

    def encoder_check(role: str, left: int, valid_out_len: int, ms: int) -> GraphCheck:
        def check(session: ort.InferenceSession, info: GraphInfo) -> None:
            if info.kind in (GraphKind.CACHELESS_ENCODER, GraphKind.CACHELESS_CTC):
                raise ModelFolderError(f"{info.path} has no cache inputs.", CACHELESS_EXPORT_FIX)
            outputs = ENCODER_OUTPUTS if info.kind is GraphKind.CACHE_AWARE_ENCODER else ()
            require_signature(info, ENCODER_INPUTS, outputs, role)
            _check_encoder_window(session, info, folder, left, valid_out_len, ms, expected_outputs)
        return check

    for streaming, ms in zip(spec.streaming, spec.lookaheads_ms(), strict=True):
        left, valid = streaming.last_channel_cache_size, streaming.valid_out_len
        checks[streaming.encoder_file] = encoder_check("cache-aware encoder", left, valid, ms)
        if streaming.first_chunk_encoder_file:
            checks[streaming.first_chunk_encoder_file] = encoder_check(
                "cache-aware first-chunk encoder", left, valid, ms)
        if streaming.ctc_file and streaming.ctc_file != streaming.encoder_file:
            checks[streaming.ctc_file] = encoder_check("cache-aware encoder + CTC", left, valid, ms)

    if spec.rnnt is not None and spec.rnnt.joiner_file is not None:
        split = spec.rnnt
        decoder_out: list[np.ndarray] = []

        def decoder_check(session: ort.InferenceSession, info: GraphInfo) -> None:
            check_decoder(info)
            states = np.zeros((split.pred_rnn_layers, 1, split.pred_hidden), np.float32)
            names = [i.name for i in info.inputs]
            out = session.run(None, dict(zip(names, [np.full((1, 1), spec.blank_id, np.int32), np.ones(1, np.int32),
                                                     states, states], strict=True)))
            decoder_out.append(out[0])

        def joiner_check(session: ort.InferenceSession, info: GraphInfo) -> None:
            check_joiner(info)
            hidden = decoder_out[0] if decoder_out else np.zeros((1, split.pred_hidden, 1), np.float32)
            out = session.run(None, {info.inputs[0].name: np.zeros((1, spec.encoder.d_model, 1), np.float32),
                                     info.inputs[1].name: hidden})[0]
            _check_vocab(info, int(out.shape[-1]), expected_outputs, folder)

        checks[split.decoder_joint_file] = decoder_check
        if split.joiner_file is not None:
            checks[split.joiner_file] = joiner_check
    elif spec.rnnt is not None:
        rnnt = spec.rnnt

        def joint_check(session: ort.InferenceSession, info: GraphInfo) -> None:
            require_signature(info, DECODER_JOINT_INPUTS, DECODER_JOINT_OUTPUTS, "decoder_joint")
            states = np.zeros((rnnt.pred_rnn_layers, 1, rnnt.pred_hidden), np.float32)
            out = session.run(["outputs"], {
                "encoder_outputs": np.zeros((1, spec.encoder.d_model, 1), np.float32),
                "targets": np.full((1, 1), spec.blank_id, np.int32),
                "target_length": np.ones(1, np.int32),
                "input_states_1": states,
                "input_states_2": states,
            })[0]
            _check_vocab(info, int(out.shape[-1]), expected_outputs, folder)

        checks[rnnt.decoder_joint_file] = joint_check
    if spec.ctc is not None and spec.ctc.head_file is not None:

        def head_check(session: ort.InferenceSession, info: GraphInfo) -> None:
            out = session.run(None, {info.inputs[0].name: np.zeros((1, spec.encoder.d_model, 2), np.float32)})[0]
            _check_vocab(info, int(out.shape[-1]), expected_outputs, folder)

        checks[spec.ctc.head_file] = head_check
    return checks


def _check_encoder_window(session: ort.InferenceSession, info: GraphInfo, folder: ModelFolder, left: int,
                          valid_out_len: int, lookahead_ms: int, expected_outputs: int) -> None:
    """Run a long window: the graph must trim it to the manifest's frames per step (its lookahead)."""
    spec = folder.spec
    channel, time = initial_cache_shapes(info, spec.encoder, left, spec.cache_layout)
    outputs = None
    failure: Exception | None = None
    for probe_frames in (PROBE_ENCODER_FRAMES, SHORT_PROBE_ENCODER_FRAMES):
        width = spec.encoder.subsampling_factor * probe_frames + 1
        try:
            outputs = session.run(None, {
                "audio_signal": np.zeros((1, spec.preprocessor.n_mels, width), np.float32),
                "length": np.array([width], np.int64),
                "cache_last_channel": np.zeros(channel, np.float32),
                "cache_last_time": np.zeros(time, np.float32),
                "cache_last_channel_len": np.zeros(1, np.int64),
                **({"prompt_index": np.array([spec.prompt.index(None)], np.int64)}
                   if spec.prompt is not None and "prompt_index" in info.input_names else {}),
            })
            break
        except Exception as exc:  # ORT's own exception types
            failure = failure or exc
    if outputs is None:
        assert failure is not None
        raise ModelFolderError(
            f"{info.path} fails on a test window ({str(failure).strip().splitlines()[0]}): its inputs do not match "
            f"{spec.preprocessor.n_mels} mels and caches {channel} / {time}.",
            "The graph and the manifest/config come from different models: re-export with `captioner export`.",
        ) from failure
    main = outputs[0]
    frames = main.shape[-1] if info.kind is GraphKind.CACHE_AWARE_ENCODER else main.shape[1]
    if info.kind is GraphKind.CACHE_AWARE_CTC:
        _check_vocab(info, int(main.shape[-1]), expected_outputs, folder)
    if frames != valid_out_len:
        measured = (frames - 1) * spec.encoder_frame_ms
        raise ModelFolderError(
            f"{info.path} was exported with a {measured:g} ms lookahead ({frames} encoder frames per step), "
            f"but the folder describes it as {lookahead_ms} ms ({valid_out_len} frames).",
            "Re-export with `captioner export`, which exports one encoder per lookahead and labels each.",
        )


def _check_vocab(info: GraphInfo, got: int, expected: int, folder: ModelFolder) -> None:
    if got != expected:
        raise ModelFolderError(
            f"{info.path} outputs {got} classes but the tokenizer {folder.spec.tokenizer_file} has "
            f"{expected - 1} tokens (+1 blank = {expected}).",
            "The tokenizer and the graphs come from different models: take both from the same .nemo "
            "(or re-export with `captioner export`).",
        )
