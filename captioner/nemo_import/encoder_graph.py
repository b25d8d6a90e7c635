"""The cache-aware FastConformer encoder as an ONNX graph, built from the config and the checkpoint.

The graph has the interface and the arithmetic of NeMo's own cache-aware export
(``ConformerEncoder.forward_for_export`` with ``cache_support``) for one ``att_context_size``:

* inputs ``audio_signal [B, F, W]``, ``length [B]`` (the window width), ``cache_last_channel [B, L, C, D]``,
  ``cache_last_time [B, L, D, K-1]``, ``cache_last_channel_len [B]``;
* outputs ``outputs [B, D, valid_out_len]``, ``encoded_lengths``, the three next caches.

Step by step as NeMo computes it: causal ``dw_striding`` subsampling; ``drop_extra_pre_encoded`` frames
dropped (0 for the first-chunk graph of streaming mode A); ``xscale``; per layer a macaron feed-forward,
relative-position attention over ``cache + chunk`` with the chunked-limited mask and the empty part of the
cache masked, a causal depthwise convolution continued from its cache, the second feed-forward and the
output norm. The attention cache keeps the last ``C`` attention inputs, the convolution cache the last
``K-1`` convolution inputs, and the valid cache length grows by the chunk up to ``C``.

The subsampling assumes ``length`` equals the window width, which is how Captioner's recognizer (and
NeMo's streaming loop) feeds every step; the attention masks use ``length`` as NeMo does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from captioner.nemo_import.architecture import ConvNorm, EncoderArch, PromptArch
from captioner.nemo_import.checkpoint_weights import StateDict
from captioner.nemo_import.graph_builder import GraphBuilder

INF_VAL = 10000.0
"""NeMo's masked attention score (``-INF_VAL``), reproduced so fully masked rows behave the same."""


def relative_position_table(d_model: int, max_frames: int) -> npt.NDArray[np.float32]:
    """NeMo's ``RelPositionalEncoding`` table for positions ``max_frames-1 … -(max_frames-1)``: ``[1, 2N-1, D]``."""
    positions = np.arange(max_frames - 1, -max_frames, -1, dtype=np.float32)[:, None]
    div_term = np.exp(np.arange(0, d_model, 2, dtype=np.float32) * np.float32(-(math.log(INF_VAL) / d_model)))
    table = np.zeros((positions.shape[0], d_model), np.float32)
    table[:, 0::2] = np.sin(positions * div_term)
    table[:, 1::2] = np.cos(positions * div_term)
    return table[None]


class EncoderGraph:
    """Builds one encoder graph; ``build`` returns the ``onnx.ModelProto``."""

    def __init__(self, arch: EncoderArch, weights: StateDict, builder: GraphBuilder, *, att_context: tuple[int, int],
                 drop_extra_pre_encoded: int, valid_out_len: int, position_table: npt.NDArray[np.float32],
                 prompt: PromptArch | None = None, projected_cache: bool = False) -> None:
        self.arch = arch
        self.prompt = prompt
        self.projected = projected_cache
        self.w = weights
        self.b = builder
        self.left, self.right = att_context
        self.drop = drop_extra_pre_encoded
        self.valid_out_len = valid_out_len
        self.table = position_table

    # ------------------------------------------------------------------------------------- helpers
    def _param(self, name: str, shape: tuple[int, ...] | None = None, transpose: bool = False) -> str:
        value = self.w.get(name, shape)
        return self.b.param(name + (".T" if transpose else ""), value.T if transpose else value)

    def _linear(self, x: str, prefix: str, n_in: int, n_out: int, bias: bool = True) -> str:
        weight = self._param(prefix + ".weight", (n_out, n_in), transpose=True)
        return self.b.linear(x, weight, self._param(prefix + ".bias", (n_out,)) if bias else None)

    def _norm(self, x: str, prefix: str) -> str:
        d = self.arch.d_model
        return self.b.layer_norm(x, self._param(prefix + ".weight", (d,)), self._param(prefix + ".bias", (d,)))

    # ------------------------------------------------------------------------------------- parts
    def _subsample(self, audio: str) -> str:
        """``[B, F, W]`` features -> ``[B, T, D]``: NeMo's causal ``dw_striding`` ConvSubsampling."""
        a, b = self.arch, self.b
        channels, prefix = a.subsampling_channels, "encoder.pre_encode"
        x = b.op("Unsqueeze", [b.op("Transpose", [audio], perm=[0, 2, 1]), b.i64([1])])  # [B, 1, W, F]
        causal: dict[str, Any] = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [2, 2, 1, 1]}
        x = b.op("Conv", [x, self._param(f"{prefix}.conv.0.weight", (channels, 1, 3, 3)),
                          self._param(f"{prefix}.conv.0.bias", (channels,))], **causal)
        x = b.op("Relu", [x])
        index = 2
        freq = a.feat_in
        for _ in range(a.subsampling_convs):
            freq = freq // 2 + 1  # causal padding 2 + 1, kernel 3, stride 2
        for _ in range(a.subsampling_convs - 1):
            x = b.op("Conv", [x, self._param(f"{prefix}.conv.{index}.weight", (channels, 1, 3, 3)),
                              self._param(f"{prefix}.conv.{index}.bias", (channels,))], group=channels, **causal)
            x = b.op("Conv", [x, self._param(f"{prefix}.conv.{index + 1}.weight", (channels, channels, 1, 1)),
                              self._param(f"{prefix}.conv.{index + 1}.bias", (channels,))], kernel_shape=[1, 1])
            x = b.op("Relu", [x])
            index += 3
        x = b.op("Transpose", [x], perm=[0, 2, 1, 3])  # [B, T, C, F']
        x = b.op("Reshape", [x, b.i64([0, 0, channels * freq])])
        return self._linear(x, f"{prefix}.out", channels * freq, a.d_model)

    def _subsampled_length(self, length: str) -> str:
        """NeMo's ``calc_length`` in float: each causal stride-2 conv gives ``floor(len / 2 + 1)`` frames."""
        b = self.b
        value = b.op("Cast", [length], to=1)
        half, one = b.f32(0.5), b.f32(1.0)
        for _ in range(self.arch.subsampling_convs):
            value = b.op("Floor", [b.op("Add", [b.op("Mul", [value, half]), one])])
        return b.op("Cast", [value], to=7)

    def _masks(self, length: str, cache_len: str, frames: str) -> tuple[str, str]:
        """``(attention mask [B, 1, T, C+T], convolution keep [B, T, 1])``: True where NeMo masks / keeps."""
        b, cache = self.b, self.left
        total = b.op("Add", [frames, b.i64([cache])])  # C + T
        key_pos = b.op("Range", [b.i64(0), b.op("Squeeze", [total]), b.i64(1)])  # [C+T]
        query_pos = b.op("Range", [b.i64(cache), b.op("Squeeze", [total]), b.i64(1)])  # [T]
        valid_end = b.op("Unsqueeze", [b.op("Add", [length, b.i64([cache])]), b.i64([1])])  # [B, 1]
        offset = b.op("Unsqueeze", [b.op("Sub", [b.i64([cache]), cache_len]), b.i64([1])])  # [B, 1]
        key_valid = b.op("And", [b.op("Less", [key_pos, valid_end]),
                                 b.op("GreaterOrEqual", [key_pos, offset])])  # [B, C+T]
        query_valid = b.op("And", [b.op("Less", [query_pos, valid_end]),
                                   b.op("GreaterOrEqual", [query_pos, offset])])  # [B, T]
        chunk = b.i64(self.right + 1)
        diff = b.op("Sub", [b.op("Unsqueeze", [b.op("Div", [query_pos, chunk]), b.i64([1])]),
                            b.op("Unsqueeze", [b.op("Div", [key_pos, chunk]), b.i64([0])])])  # [T, C+T]
        left_chunks = self.left // (self.right + 1)
        in_context = b.op("And", [b.op("GreaterOrEqual", [diff, b.i64(0)]),
                                  b.op("LessOrEqual", [diff, b.i64(left_chunks)])])
        allowed = b.op("And", [b.op("And", [b.op("Unsqueeze", [query_valid, b.i64([2])]),
                                            b.op("Unsqueeze", [key_valid, b.i64([1])])]),
                               b.op("Unsqueeze", [in_context, b.i64([0])])])  # [B, T, C+T]
        attention_mask = b.op("Unsqueeze", [b.op("Not", [allowed]), b.i64([1])])
        frame = b.op("Range", [b.i64(0), b.op("Squeeze", [frames]), b.i64(1)])
        conv_keep = b.op("Unsqueeze", [b.op("Less", [frame, b.op("Unsqueeze", [length, b.i64([1])])]), b.i64([2])])
        return attention_mask, conv_keep

    def _position_rows(self, frames: str) -> tuple[str, str]:
        """``(start, end)`` of the rows for ``N = C + T`` frames in a table of positions ``Nmax-1 … -(Nmax-1)``."""
        b = self.b
        centre = self.table.shape[1] // 2 + 1
        n = b.op("Add", [frames, b.i64([self.left])])
        start = b.op("Sub", [b.i64([centre]), n])
        end = b.op("Sub", [b.op("Add", [b.i64([centre]), n]), b.i64([1])])
        return start, end

    def _positions(self, rows: tuple[str, str], table: npt.NDArray[np.float32], hint: str) -> str:
        """``[1, 2N-1, D]``: the middle of ``table`` (the sine table, or its projection by a layer's linear_pos)."""
        return self.b.op("Slice", [self.b.const(table, hint), rows[0], rows[1], self.b.i64([1])])

    def _projected_positions(self, prefix: str) -> npt.NDArray[np.float32]:
        """The sine table through this layer's ``linear_pos``, computed once here instead of on every step.

        It depends on nothing but the weights (positions are relative, the same every step), so the streaming
        graph reads rows of it instead of multiplying ``2N-1`` positions by a ``D x D`` matrix per layer per chunk.
        """
        d = self.arch.d_model
        weight = self.w.get(prefix + ".linear_pos.weight", (d, d))
        if self.b.half:
            weight = weight.astype(np.float16).astype(np.float32)  # what the rounded graph would multiply by
        projected: npt.NDArray[np.float32] = (self.table[0] @ weight.T).astype(np.float32)[None]
        return projected

    def _feed_forward(self, x: str, prefix: str) -> str:
        a = self.arch
        hidden = self.b.swish(self._linear(self._norm(x, prefix.replace("feed_forward", "norm_feed_forward")),
                                           prefix + ".linear1", a.d_model, a.ff_dim))
        out = self._linear(hidden, prefix + ".linear2", a.ff_dim, a.d_model)
        return self.b.op("Add", [x, self.b.op("Mul", [out, self.b.f32(0.5)])])

    def _attention(self, x: str, prefix: str, cache: str, rows: tuple[str, str], mask: str) -> tuple[str, str]:
        """Relative-position self-attention of the chunk over ``cache + chunk``; returns (x, next cache).

        NeMo's cache holds the attention *inputs* of the last ``C`` frames, so every step projects all ``C + T``
        of them to keys and values again. The streaming graph (``projected_cache``) caches the projected keys
        and values instead (``[B, C, 2D]`` per layer) and projects only the ``T`` new frames: the same numbers,
        a fraction of the work.
        """
        a, b = self.arch, self.b
        heads, d_head, d = a.n_heads, a.d_head, a.d_model
        query = self._norm(x, prefix.replace("self_attn", "norm_self_att"))

        def heads_of(t: str) -> str:
            return b.op("Reshape", [t, b.i64([0, 0, heads, d_head])])

        if self.projected:
            fresh = b.op("Concat", [self._linear(query, prefix + ".linear_k", d, d),
                                    self._linear(query, prefix + ".linear_v", d, d)], axis=-1)  # [B, T, 2D]
            key = b.op("Concat", [cache, fresh], axis=1)  # [B, C+T, 2D]
            keys, values = b.op_n("Split", [key, b.i64([d, d])], 2, axis=-1)
            p_all = self._positions(rows, self._projected_positions(prefix), "pos_proj")
        else:
            key = b.op("Concat", [cache, query], axis=1)  # [B, C+T, D]
            keys = self._linear(key, prefix + ".linear_k", d, d)
            values = self._linear(key, prefix + ".linear_v", d, d)
            p_all = self._linear(self._positions(rows, self.table, "pos_table"), prefix + ".linear_pos", d, d,
                                 bias=False)
        next_cache = b.op("Slice", [key, b.i64([-self.left]), b.i64([np.iinfo(np.int64).max]), b.i64([1])])
        q = heads_of(self._linear(query, prefix + ".linear_q", d, d))  # [B, T, H, dk]
        k = b.op("Transpose", [heads_of(keys)], perm=[0, 2, 3, 1])
        v = b.op("Transpose", [heads_of(values)], perm=[0, 2, 1, 3])
        p = b.op("Transpose", [heads_of(p_all)], perm=[0, 2, 3, 1])  # [1, H, dk, 2N-1]
        q_u = b.op("Transpose", [b.op("Add", [q, self._param(prefix + ".pos_bias_u", (heads, d_head))])],
                   perm=[0, 2, 1, 3])
        q_v = b.op("Transpose", [b.op("Add", [q, self._param(prefix + ".pos_bias_v", (heads, d_head))])],
                   perm=[0, 2, 1, 3])
        matrix_ac = b.op("MatMul", [q_u, k])  # [B, H, T, N]
        matrix_bd = self._rel_shift(b.op("MatMul", [q_v, p]), key)  # [B, H, T, N]
        scores = b.op("Div", [b.op("Add", [matrix_ac, matrix_bd]), b.f32(math.sqrt(d_head))])
        scores = b.op("Where", [mask, b.f32(-INF_VAL), scores])
        weights = b.op("Where", [mask, b.f32(0.0), b.op("Softmax", [scores], axis=-1)])
        context = b.op("Transpose", [b.op("MatMul", [weights, v])], perm=[0, 2, 1, 3])  # [B, T, H, dk]
        context = b.op("Reshape", [context, b.i64([0, 0, d])])
        out = self._linear(context, prefix + ".linear_out", d, d)
        return b.op("Add", [x, out]), next_cache

    def _rel_shift(self, scores: str, key: str) -> str:
        """Transformer-XL's shift, as NeMo's ``rel_shift`` does it: ``[B, H, T, 2N-1]`` -> ``[B, H, T, N]``."""
        b = self.b
        shape = b.op("Shape", [scores])  # B, H, T, 2N-1
        batch_heads = b.op("Slice", [shape, b.i64([0]), b.i64([2]), b.i64([0])])
        frames = b.op("Slice", [shape, b.i64([2]), b.i64([3]), b.i64([0])])
        positions = b.op("Slice", [shape, b.i64([3]), b.i64([4]), b.i64([0])])
        padded = b.op("Pad", [scores, b.i64([0, 0, 0, 1, 0, 0, 0, 0])])  # one zero column on the left
        rows = b.op("Reshape", [padded, b.op("Concat", [batch_heads, b.i64([-1]), frames], axis=0)])
        rows = b.op("Slice", [rows, b.i64([1]), b.i64([np.iinfo(np.int64).max]), b.i64([2])])
        shifted = b.op("Reshape", [rows, b.op("Concat", [batch_heads, frames, positions], axis=0)])
        keys = b.shape_dim(key, 1)
        return b.op("Slice", [shifted, b.i64([0]), keys, b.i64([3])])

    def _convolution(self, x: str, prefix: str, cache: str, keep: str) -> tuple[str, str]:
        """Pointwise conv + GLU, causal depthwise conv continued from its cache, norm, Swish, pointwise conv."""
        a, b = self.arch, self.b
        d, kernel = a.d_model, a.conv_kernel
        h = self._norm(x, prefix.replace("conv", "norm_conv"))
        w1 = self.w.get(prefix + ".pointwise_conv1.weight", (2 * d, d, 1))[:, :, 0]
        h = b.linear(h, b.param(prefix + ".pointwise_conv1.weight.T", w1.T),
                     self._param(prefix + ".pointwise_conv1.bias", (2 * d,)))
        gate, value = b.op_n("Split", [h, b.i64([d, d])], 2, axis=-1)
        h = b.op("Mul", [gate, b.op("Sigmoid", [value])])
        h = b.op("Where", [keep, h, b.f32(0.0)])
        h = b.op("Concat", [cache, b.op("Transpose", [h], perm=[0, 2, 1])], axis=2)  # [B, D, K-1+T]
        next_cache = b.op("Slice", [h, b.i64([-(kernel - 1)]), b.i64([np.iinfo(np.int64).max]), b.i64([2])])
        h = b.op("Conv", [h, self._param(prefix + ".depthwise_conv.weight", (d, 1, kernel)),
                          self._param(prefix + ".depthwise_conv.bias", (d,))], group=d, kernel_shape=[kernel])
        if a.conv_norm is ConvNorm.BATCH:
            norm = prefix + ".batch_norm"
            h = b.op("BatchNormalization", [h, self._param(norm + ".weight", (d,)), self._param(norm + ".bias", (d,)),
                                            b.const(self.w.get(norm + ".running_mean", (d,)), "bn_mean"),
                                            b.const(self.w.get(norm + ".running_var", (d,)), "bn_var")],
                     epsilon=1e-5)
            h = b.op("Transpose", [b.swish(h)], perm=[0, 2, 1])
        else:
            h = b.op("Transpose", [h], perm=[0, 2, 1])
            h = b.swish(b.layer_norm(h, self._param(prefix + ".batch_norm.weight", (d,)),
                                     self._param(prefix + ".batch_norm.bias", (d,))))
        w2 = self.w.get(prefix + ".pointwise_conv2.weight", (d, d, 1))[:, :, 0]
        h = b.linear(h, b.param(prefix + ".pointwise_conv2.weight.T", w2.T),
                     self._param(prefix + ".pointwise_conv2.bias", (d,)))
        return b.op("Add", [x, h]), next_cache

    def _apply_prompt(self, encoded: str, prompt: PromptArch) -> str:
        """NeMo's language prompt on ``[B, D, T]`` frames: one-hot of ``prompt_index`` appended, ``prompt_kernel``."""
        b, d, p = self.b, self.arch.d_model, prompt.num_prompts
        frames = b.op("Transpose", [encoded], perm=[0, 2, 1])  # [B, T, D]
        one_hot = b.op("OneHot", ["prompt_index", b.i64(p), b.const(np.array([0.0, 1.0], np.float32), "one_hot")],
                       axis=-1)  # [B, P]
        steps = b.op("Concat", [b.shape_dim(frames, 0), b.shape_dim(frames, 1), b.i64([p])], axis=0)
        one_hot = b.op("Expand", [b.op("Unsqueeze", [one_hot, b.i64([1])]), steps])
        hidden = self._linear(b.op("Concat", [frames, one_hot], axis=2), "prompt_kernel.0", d + p, 2 * d)
        out = self._linear(b.op("Relu", [hidden]), "prompt_kernel.2", 2 * d, d)
        return b.op("Transpose", [out], perm=[0, 2, 1])

    # ------------------------------------------------------------------------------------- graph
    def build(self, name: str) -> Any:
        from onnx import TensorProto, helper

        a, b = self.arch, self.b
        layers, d, cache, conv_cache = a.n_layers, a.d_model, self.left, a.conv_kernel - 1
        channel_width = 2 * d if self.projected else d
        x = self._subsample("audio_signal")
        length = self._subsampled_length("length")
        if self.drop:
            x = b.op("Slice", [x, b.i64([self.drop]), b.i64([np.iinfo(np.int64).max]), b.i64([1])])
            length = b.op("Max", [b.op("Sub", [length, b.i64(self.drop)]), b.i64(0)])
        frames = b.shape_dim(x, 1)
        if a.xscale is not None:
            x = b.op("Mul", [x, b.f32(a.xscale)])
        rows = self._position_rows(frames)
        mask, keep = self._masks(length, "cache_last_channel_len", frames)
        channel_caches, time_caches = [], []
        for index in range(layers):
            prefix = f"encoder.layers.{index}"
            layer_channel = b.op("Gather", ["cache_last_channel", b.i64(index)], axis=1)
            layer_time = b.op("Gather", ["cache_last_time", b.i64(index)], axis=1)
            x = self._feed_forward(x, prefix + ".feed_forward1")
            x, next_channel = self._attention(x, prefix + ".self_attn", layer_channel, rows, mask)
            x, next_time = self._convolution(x, prefix + ".conv", layer_time, keep)
            x = self._feed_forward(x, prefix + ".feed_forward2")
            x = self._norm(x, prefix + ".norm_out")
            channel_caches.append(b.op("Unsqueeze", [next_channel, b.i64([1])]))
            time_caches.append(b.op("Unsqueeze", [next_time, b.i64([1])]))
        outputs = b.op("Slice", [b.op("Transpose", [x], perm=[0, 2, 1]), b.i64([0]), b.i64([self.valid_out_len]),
                                 b.i64([2])])
        if self.prompt is not None:
            outputs = self._apply_prompt(outputs, self.prompt)
        b.rename(outputs, "outputs")
        b.rename(b.op("Min", [length, b.i64(self.valid_out_len)]), "encoded_lengths")
        b.rename(b.op("Concat", channel_caches, axis=1), "cache_last_channel_next")
        b.rename(b.op("Concat", time_caches, axis=1), "cache_last_time_next")
        b.rename(b.op("Min", [b.op("Add", ["cache_last_channel_len", frames]), b.i64(cache)]),
                 "cache_last_channel_next_len")
        f32, i64 = TensorProto.FLOAT, TensorProto.INT64
        inputs = [
            helper.make_tensor_value_info("audio_signal", f32, ["batch", a.feat_in, "window"]),
            helper.make_tensor_value_info("length", i64, ["batch"]),
            helper.make_tensor_value_info("cache_last_channel", f32, ["batch", layers, cache, channel_width]),
            helper.make_tensor_value_info("cache_last_time", f32, ["batch", layers, d, conv_cache]),
            helper.make_tensor_value_info("cache_last_channel_len", i64, ["batch"]),
        ]
        if self.prompt is not None:
            inputs.append(helper.make_tensor_value_info("prompt_index", i64, ["batch"]))
        outs = [
            helper.make_tensor_value_info("outputs", f32, ["batch", d, "frames"]),
            helper.make_tensor_value_info("encoded_lengths", i64, ["batch"]),
            helper.make_tensor_value_info("cache_last_channel_next", f32, ["batch", layers, cache, channel_width]),
            helper.make_tensor_value_info("cache_last_time_next", f32, ["batch", layers, d, conv_cache]),
            helper.make_tensor_value_info("cache_last_channel_next_len", i64, ["batch"]),
        ]
        return b.model(inputs, outs, name)
