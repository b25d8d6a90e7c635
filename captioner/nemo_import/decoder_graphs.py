"""The RNNT ``decoder_joint`` and CTC head graphs, with the interfaces of NeMo's own exports.

``decoder_joint``: ``encoder_outputs [B, D, T]``, ``targets [B, U]`` (int32), ``target_length [B]``,
``input_states_1/2 [L, B, H]`` -> ``outputs [B, T, U, V+1]`` (raw joint logits), ``prednet_lengths``,
``output_states_1/2``: NeMo's ``RNNTDecoder.predict`` (embedding, ``L`` stacked LSTM layers) and
``RNNTJoint`` (``activation(enc(f) + pred(g))`` then the output layer).

``ctc_head``: ``encoder_output [B, D, T]`` -> ``logprobs [B, T, V+1]``: ``ConvASRDecoder``'s 1x1 convolution
and log-softmax.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from captioner.nemo_import.architecture import RnntArch
from captioner.nemo_import.checkpoint_weights import StateDict
from captioner.nemo_import.graph_builder import GraphBuilder

_TORCH_TO_ONNX_GATES = (0, 3, 1, 2)
"""torch stacks LSTM gates as (input, forget, cell, output); ONNX as (input, output, forget, cell)."""


def _onnx_gates(matrix: npt.NDArray[np.float32], hidden: int) -> npt.NDArray[np.float32]:
    blocks = [matrix[g * hidden:(g + 1) * hidden] for g in _TORCH_TO_ONNX_GATES]
    return np.concatenate(blocks, axis=0)


def build_decoder_joint(arch: RnntArch, d_model: int, weights: StateDict, b: GraphBuilder) -> Any:
    from onnx import TensorProto, helper

    hidden, layers, joint, classes = arch.pred_hidden, arch.pred_layers, arch.joint_hidden, arch.vocab_size + 1
    embed = b.param("decoder.prediction.embed.weight",
                    weights.get("decoder.prediction.embed.weight", (classes, hidden)))
    x = b.op("Transpose", [b.op("Gather", [embed, b.op("Cast", ["targets"], to=TensorProto.INT64)], axis=0)],
             perm=[1, 0, 2])  # [U, B, H]
    h_out, c_out = [], []
    for layer in range(layers):
        prefix = f"decoder.prediction.dec_rnn.lstm.{{}}_l{layer}"
        w_ih = _onnx_gates(weights.get(prefix.format("weight_ih"), (4 * hidden, hidden)), hidden)
        w_hh = _onnx_gates(weights.get(prefix.format("weight_hh"), (4 * hidden, hidden)), hidden)
        bias = np.concatenate([_onnx_gates(weights.get(prefix.format("bias_ih"), (4 * hidden,)), hidden),
                               _onnx_gates(weights.get(prefix.format("bias_hh"), (4 * hidden,)), hidden)])
        index = b.i64([layer])
        h0 = b.op("Gather", ["input_states_1", index], axis=0)
        c0 = b.op("Gather", ["input_states_2", index], axis=0)
        y, h, c = b.op_n("LSTM", [x, b.param(prefix.format("W"), w_ih[None]), b.param(prefix.format("R"), w_hh[None]),
                                  b.param(prefix.format("B"), bias[None]), "", h0, c0], 3, hidden_size=hidden)
        x = b.op("Squeeze", [y, b.i64([1])])
        h_out.append(h)
        c_out.append(c)
    g = b.op("Transpose", [x], perm=[1, 0, 2])  # [B, U, H]

    def linear(t: str, name: str, n_in: int, n_out: int) -> str:
        w = weights.get(name + ".weight", (n_out, n_in))
        return b.linear(t, b.param(name + ".weight.T", w.T), b.param(name + ".bias", weights.get(name + ".bias",
                                                                                                   (n_out,))))

    f = linear(b.op("Transpose", ["encoder_outputs"], perm=[0, 2, 1]), "joint.enc", d_model, joint)
    p = linear(g, "joint.pred", hidden, joint)
    summed = b.op("Add", [b.op("Unsqueeze", [f, b.i64([2])]), b.op("Unsqueeze", [p, b.i64([1])])])
    activated = b.op({"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}[arch.joint_activation], [summed])
    b.rename(linear(activated, "joint.joint_net.2", joint, classes), "outputs")
    b.rename("target_length", "prednet_lengths")
    b.rename(b.op("Concat", h_out, axis=0), "output_states_1")
    b.rename(b.op("Concat", c_out, axis=0), "output_states_2")
    f32 = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("encoder_outputs", f32, ["batch", d_model, "frames"]),
        helper.make_tensor_value_info("targets", TensorProto.INT32, ["batch", "tokens"]),
        helper.make_tensor_value_info("target_length", TensorProto.INT32, ["batch"]),
        helper.make_tensor_value_info("input_states_1", f32, [layers, "batch", hidden]),
        helper.make_tensor_value_info("input_states_2", f32, [layers, "batch", hidden]),
    ]
    outputs = [
        helper.make_tensor_value_info("outputs", f32, ["batch", "frames", "tokens", classes]),
        helper.make_tensor_value_info("prednet_lengths", TensorProto.INT32, ["batch"]),
        helper.make_tensor_value_info("output_states_1", f32, [layers, "batch", hidden]),
        helper.make_tensor_value_info("output_states_2", f32, [layers, "batch", hidden]),
    ]
    return b.model(inputs, outputs, "decoder_joint")


def build_ctc_head(prefix: str, vocab_size: int, d_model: int, weights: StateDict, b: GraphBuilder) -> Any:
    from onnx import TensorProto, helper

    classes = vocab_size + 1

    w = weights.get(prefix + ".decoder_layers.0.weight", (classes, d_model, 1))[:, :, 0]
    logits = b.linear(b.op("Transpose", ["encoder_output"], perm=[0, 2, 1]), b.param(prefix + ".weight.T", w.T),
                      b.param(prefix + ".decoder_layers.0.bias", weights.get(prefix + ".decoder_layers.0.bias",
                                                                              (classes,))))
    b.rename(b.op("LogSoftmax", [logits], axis=-1), "logprobs")
    f32 = TensorProto.FLOAT
    return b.model([helper.make_tensor_value_info("encoder_output", f32, ["batch", d_model, "frames"])],
                   [helper.make_tensor_value_info("logprobs", f32, ["batch", "frames", classes])], "ctc_head")
