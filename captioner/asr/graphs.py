"""Reading an ONNX graph's signature and recognising what kind of NeMo export it is.

Recognition is by tensor names, because they are what NeMo's exporter fixes: a cache-aware encoder
has the three cache inputs, a cache-less one (exported without ``cache_support``) has only
``audio_signal`` and ``length`` — the export that captions garbage.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from captioner.asr.errors import CACHELESS_EXPORT_FIX, ModelFolderError

_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
}

ENCODER_INPUTS = {
    "audio_signal": "float32",
    "length": "int64",
    "cache_last_channel": "float32",
    "cache_last_time": "float32",
    "cache_last_channel_len": "int64",
}
ENCODER_OUTPUTS = ("outputs", "encoded_lengths", "cache_last_channel_next", "cache_last_time_next",
                   "cache_last_channel_next_len")
DECODER_JOINT_INPUTS = {
    "encoder_outputs": "float32",
    "targets": "int32",
    "target_length": "int32",
    "input_states_1": "float32",
    "input_states_2": "float32",
}
DECODER_JOINT_OUTPUTS = ("outputs", "prednet_lengths", "output_states_1", "output_states_2")


class GraphKind(enum.Enum):
    CACHE_AWARE_ENCODER = "cache-aware encoder"
    CACHE_AWARE_CTC = "cache-aware encoder + CTC"
    CACHELESS_ENCODER = "encoder WITHOUT cache support"
    CACHELESS_CTC = "encoder + CTC WITHOUT cache support"
    DECODER_JOINT = "RNNT decoder + joint"
    RNNT_DECODER = "RNNT prediction network (sherpa-onnx decoder)"
    RNNT_JOINER = "RNNT joint (sherpa-onnx joiner)"
    CTC_HEAD = "CTC head"
    UNKNOWN = "unrecognised graph"


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int | str | None, ...]

    def describe(self) -> str:
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name} {self.dtype} [{dims}]"


@dataclass(frozen=True)
class GraphInfo:
    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    @property
    def input_names(self) -> set[str]:
        return {t.name for t in self.inputs}

    @property
    def output_names(self) -> set[str]:
        return {t.name for t in self.outputs}

    def input(self, name: str) -> TensorInfo:
        return next(t for t in self.inputs if t.name == name)

    def output(self, name: str) -> TensorInfo:
        return next(t for t in self.outputs if t.name == name)

    @property
    def kind(self) -> GraphKind:
        ins, outs = self.input_names, self.output_names
        caches = {"cache_last_channel", "cache_last_time", "cache_last_channel_len"}
        if "audio_signal" in ins:
            ctc = "outputs" not in outs and any("logprob" in n or "log_prob" in n for n in outs)
            if caches <= ins:
                return GraphKind.CACHE_AWARE_CTC if ctc else GraphKind.CACHE_AWARE_ENCODER
            return GraphKind.CACHELESS_CTC if ctc else GraphKind.CACHELESS_ENCODER
        if {"encoder_outputs", "targets"} <= ins:
            return GraphKind.DECODER_JOINT
        if {"targets", "target_length"} <= ins:
            return GraphKind.RNNT_DECODER
        if len(self.inputs) == 2 and all(n.startswith(("encoder_output", "decoder_output")) for n in ins):
            return GraphKind.RNNT_JOINER
        if len(self.inputs) == 1 and len(self.outputs) == 1:
            return GraphKind.CTC_HEAD
        return GraphKind.UNKNOWN

    def describe(self) -> list[str]:
        lines = [f"{self.path.name}: {self.kind.value}"]
        lines += [f"  in  {t.describe()}" for t in self.inputs]
        lines += [f"  out {t.describe()}" for t in self.outputs]
        return lines


def _tensor(arg: ort.NodeArg) -> TensorInfo:
    shape = tuple(d if isinstance(d, int) else (d or None) for d in (arg.shape or ()))
    return TensorInfo(arg.name, _ORT_DTYPES.get(arg.type, arg.type), shape)


def open_graph_for_inspection(path: Path) -> tuple[ort.InferenceSession, GraphInfo]:
    """Open a graph on the CPU with optimisation off (fast) to read and probe its signature."""
    if not path.is_file():
        raise ModelFolderError(f"The model file {path} is missing.", "Copy the complete exported model folder.")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 4
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several unrelated exception types for bad files
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "IR version" in first_line or "opset" in first_line.lower():
            raise ModelFolderError(
                f"{path} needs a newer ONNX Runtime than this one ({ort.__version__}): {first_line}.",
                "Upgrade onnxruntime(-gpu), or export with an older ONNX opset.",
            ) from exc
        raise ModelFolderError(
            f"{path} is not a readable ONNX graph ({first_line}).",
            "The file is probably truncated or corrupt: copy or export it again.",
        ) from exc
    return session, graph_info(session, path)


def graph_info(session: ort.InferenceSession, path: Path) -> GraphInfo:
    return GraphInfo(
        path=path,
        inputs=tuple(_tensor(a) for a in session.get_inputs()),
        outputs=tuple(_tensor(a) for a in session.get_outputs()),
    )


def require_signature(graph: GraphInfo, expected_inputs: dict[str, str], expected_outputs: tuple[str, ...],
                      role: str) -> None:
    """Refuse a graph whose tensor names or dtypes are not what NeMo's exporter writes for ``role``."""
    if graph.kind in (GraphKind.CACHELESS_ENCODER, GraphKind.CACHELESS_CTC):
        raise ModelFolderError(
            f"{graph.path} has inputs {sorted(graph.input_names)} and no cache inputs "
            "(cache_last_channel, cache_last_time, cache_last_channel_len).",
            CACHELESS_EXPORT_FIX,
        )
    problems = []
    for name, dtype in expected_inputs.items():
        if name not in graph.input_names:
            problems.append(f"input '{name}' is missing")
        elif graph.input(name).dtype != dtype:
            problems.append(f"input '{name}' is {graph.input(name).dtype}, expected {dtype}")
    problems += [f"output '{name}' is missing" for name in expected_outputs if name not in graph.output_names]
    if problems:
        found = ", ".join(t.describe() for t in graph.inputs)
        raise ModelFolderError(
            f"{graph.path} is not a NeMo {role} export: {'; '.join(problems)} (it has inputs {found}).",
            "Export the model with `captioner export MODEL.nemo OUT_DIR`, which writes the graphs Captioner expects.",
        )
