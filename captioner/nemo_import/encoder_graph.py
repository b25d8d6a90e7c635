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

With ``projected_cache`` (``captioner import``'s default) the graph is built for streaming: the attention
cache holds projected keys and values, only the new frames are projected (one matmul for query, key and
value), the position projections come from a table computed at import, the relative shift is one gather,
the depthwise convolution a weighted sum of gathered frames with its batch norm folded in, and the macaron
half-step folded into the second feed-forward matmul. Same numbers, 1.1-1.3x faster encoder steps on the
full-size model than without these (benchmarks/README.md, section 13).

The subsampling assumes ``length`` equals the window width, which is how Captioner's recognizer (and
NeMo's streaming loop) feeds every step; the attention masks use ``length`` as NeMo does.
"""

from __future__ import annotations

import functools
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
        """``(start, end)`` of the rows for ``N = C + T`` frames in a table of positions ``Nmax-1 … -(Nmax-1)``.

        NeMo's layout takes all ``2N-1`` positions ``N-1 … -(N-1)``; the streaming graph only ``N-1 … -(T-1)``,
        the ones its shift keeps (no query looks further ahead than the end of its chunk).
        """
        b = self.b
        n = b.op("Add", [frames, b.i64([self.left])])
        start = b.op("Sub", [b.i64([self._centre]), n])
        end = b.op("Sub", [b.op("Add", [b.i64([self._centre]), frames if self.projected else n]), b.i64([1])])
        return start, end

    @property
    def _centre(self) -> int:
        """Row of relative position 0 in the position table, plus one."""
        return int(self.table.shape[1]) // 2 + 1

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
        if not self.projected or self.b.half:
            out = self._linear(hidden, prefix + ".linear2", a.ff_dim, a.d_model)
            return self.b.op("Add", [x, self.b.op("Mul", [out, self.b.f32(0.5)])])
        # The macaron half-step folded into linear2: halving is exact in float32 (float16 weights could
        # become subnormal, so a half import keeps the Mul), so (W/2) h + b/2 gives the bits of (W h + b) / 2.
        name = prefix + ".linear2"
        weight = self.b.param(name + ".weight.T/2", lambda: self.w.get(name + ".weight", (a.d_model, a.ff_dim)).T * 0.5)
        bias = self.b.param(name + ".bias/2", lambda: self.w.get(name + ".bias", (a.d_model,)) * 0.5)
        return self.b.op("Add", [x, self.b.linear(hidden, weight, bias)])

    def _attention(self, x: str, prefix: str, cache: str, rows: tuple[str, str], mask: str) -> tuple[str, str]:
        """Relative-position self-attention of the chunk over ``cache + chunk`` in NeMo's layout.

        NeMo's cache holds the attention *inputs* of the last ``C`` frames, so every step projects all ``C + T``
        of them to keys and values again, and all ``2N-1`` relative positions through ``linear_pos``.
        """
        a, b = self.arch, self.b
        d = a.d_model
        query = self._norm(x, prefix.replace("self_attn", "norm_self_att"))
        key = b.op("Concat", [cache, query], axis=1)  # [B, C+T, D]
        keys = self._linear(key, prefix + ".linear_k", d, d)
        values = self._linear(key, prefix + ".linear_v", d, d)
        p_all = self._linear(self._positions(rows, self.table, "pos_table"), prefix + ".linear_pos", d, d, bias=False)
        next_cache = b.op("Slice", [key, b.i64([-self.left]), b.i64([np.iinfo(np.int64).max]), b.i64([1])])
        q = self._heads(self._linear(query, prefix + ".linear_q", d, d))  # [B, T, H, dk]
        k = b.op("Transpose", [self._heads(keys)], perm=[0, 2, 3, 1])
        v = b.op("Transpose", [self._heads(values)], perm=[0, 2, 1, 3])
        p = b.op("Transpose", [self._heads(p_all)], perm=[0, 2, 3, 1])  # [1, H, dk, 2N-1]
        q_u = b.op("Transpose", [b.op("Add", [q, self._param(prefix + ".pos_bias_u", (a.n_heads, a.d_head))])],
                   perm=[0, 2, 1, 3])
        q_v = b.op("Transpose", [b.op("Add", [q, self._param(prefix + ".pos_bias_v", (a.n_heads, a.d_head))])],
                   perm=[0, 2, 1, 3])
        matrix_bd = self._rel_shift(b.op("MatMul", [q_v, p]), key)  # [B, H, T, N]
        return self._attend(x, prefix, b.op("MatMul", [q_u, k]), matrix_bd, v, mask), next_cache

    def _streaming_attention(self, x: str, prefix: str, cache: str, rows: tuple[str, str], shift: str,
                             mask: str) -> tuple[str, str]:
        """The same attention built for streaming: the cache holds projected keys and values ``[B, C, 2D]``.

        Only the ``T`` new frames are projected (one matmul for query, key and value); the positions come
        projected from a table computed at import, already split by head, and only the ``N + T - 1`` of them
        the shift keeps; the shift itself is one gather by an index computed once per step (``shift``).
        The numbers are NeMo's; the work per layer is a fraction of it.
        """
        a, b = self.arch, self.b
        heads, d_head, d = a.n_heads, a.d_head, a.d_model
        query = self._norm(x, prefix.replace("self_attn", "norm_self_att"))
        weight = b.param(prefix + ".linear_qkv.weight.T", lambda: np.concatenate(
            [self.w.get(f"{prefix}.linear_{part}.weight", (d, d)).T for part in "qkv"], axis=1))
        bias = b.param(prefix + ".linear_qkv.bias", lambda: np.concatenate(
            [self.w.get(f"{prefix}.linear_{part}.bias", (d,)) for part in "qkv"]))
        q, fresh = b.op_n("Split", [b.linear(query, weight, bias), b.i64([d, 2 * d])], 2, axis=-1)
        key = b.op("Concat", [cache, fresh], axis=1)  # [B, C+T, 2D]: keys then values
        next_cache = b.op("Slice", [key, b.i64([-self.left]), b.i64([np.iinfo(np.int64).max]), b.i64([1])])
        keys, values = b.op_n("Split", [key, b.i64([d, d])], 2, axis=-1)
        q = b.op("Transpose", [self._heads(q)], perm=[0, 2, 1, 3])  # [B, H, T, dk]
        k = b.op("Transpose", [self._heads(keys)], perm=[0, 2, 3, 1])  # [B, H, dk, N]
        v = b.op("Transpose", [self._heads(values)], perm=[0, 2, 1, 3])  # [B, H, N, dk]
        u_bias = self._param(prefix + ".pos_bias_u", (heads, d_head))
        v_bias = self._param(prefix + ".pos_bias_v", (heads, d_head))
        q_u = b.op("Add", [q, b.op("Unsqueeze", [u_bias, b.i64([1])])])
        q_v = b.op("Add", [q, b.op("Unsqueeze", [v_bias, b.i64([1])])])
        table = self._projected_positions(prefix)[0].reshape(-1, heads, d_head).transpose(1, 0, 2)  # [H, 2Nmax-1, dk]
        p = b.op("Slice", [b.const(np.ascontiguousarray(table), "pos_proj"), rows[0], rows[1], b.i64([1])])
        raw = b.op("MatMul", [q_v, b.op("Transpose", [p], perm=[0, 2, 1])])  # [B, H, T, N+T-1]
        matrix_bd = b.op("GatherElements", [raw, shift], axis=3)  # [B, H, T, N]
        return self._attend(x, prefix, b.op("MatMul", [q_u, k]), matrix_bd, v, mask), next_cache

    def _heads(self, t: str) -> str:
        """``[B, T, D]`` -> ``[B, T, H, dk]``."""
        return self.b.op("Reshape", [t, self.b.i64([0, 0, self.arch.n_heads, self.arch.d_head])])

    def _attend(self, x: str, prefix: str, matrix_ac: str, matrix_bd: str, v: str, mask: str) -> str:
        """Scores -> masked softmax -> weighted values -> ``linear_out``, added to ``x``."""
        b, d = self.b, self.arch.d_model
        scores = b.op("Div", [b.op("Add", [matrix_ac, matrix_bd]), b.f32(math.sqrt(self.arch.d_head))])
        scores = b.op("Where", [mask, b.f32(-INF_VAL), scores])
        weights = b.op("Where", [mask, b.f32(0.0), b.op("Softmax", [scores], axis=-1)])
        context = b.op("Transpose", [b.op("MatMul", [weights, v])], perm=[0, 2, 1, 3])  # [B, T, H, dk]
        context = b.op("Reshape", [context, b.i64([0, 0, d])])
        return b.op("Add", [x, self._linear(context, prefix + ".linear_out", d, d)])

    def _shift_index(self, x: str, frames: str) -> str:
        """``[B, H, T, N]`` indices of Transformer-XL's shift: ``bd[t, n] = raw[t, n + T - 1 - t]``.

        ``raw`` holds the scores of the relative positions ``N-1 … -(T-1)``, and row ``t`` of NeMo's shifted
        scores holds, for keys ``n = 0 … N-1``, the positions ``C + t - n``. Gathering by this index is exactly
        what NeMo's pad-reshape-slice ``rel_shift`` selects, computed once per step for every layer.
        """
        b = self.b
        t = b.op("Squeeze", [frames])
        n = b.op("Add", [t, b.i64(self.left)])
        back = b.op("Sub", [b.op("Sub", [t, b.i64(1)]), b.op("Range", [b.i64(0), t, b.i64(1)])])  # [T]
        index = b.op("Add", [b.op("Unsqueeze", [b.op("Range", [b.i64(0), n, b.i64(1)]), b.i64([0])]),
                             b.op("Unsqueeze", [back, b.i64([1])])])  # [T, N]
        shape = b.op("Concat", [b.shape_dim(x, 0), b.i64([self.arch.n_heads]), frames,
                                b.op("Unsqueeze", [n, b.i64([0])])], axis=0)
        return b.op("Expand", [index, shape])

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

    def _convolution(self, x: str, prefix: str, cache: str, keep: str, taps: str | None) -> tuple[str, str]:
        """Pointwise conv + GLU, causal depthwise conv continued from its cache, norm, Swish, pointwise conv.

        ``taps`` (the streaming graph) computes the depthwise convolution by :meth:`_depthwise_by_taps`.
        """
        a, b = self.arch, self.b
        d, kernel = a.d_model, a.conv_kernel
        h = self._norm(x, prefix.replace("conv", "norm_conv"))
        w1 = self.w.get(prefix + ".pointwise_conv1.weight", (2 * d, d, 1))[:, :, 0]
        h = b.linear(h, b.param(prefix + ".pointwise_conv1.weight.T", w1.T),
                     self._param(prefix + ".pointwise_conv1.bias", (2 * d,)))
        gate, value = b.op_n("Split", [h, b.i64([d, d])], 2, axis=-1)
        h = b.op("Mul", [gate, b.op("Sigmoid", [value])])
        h = b.op("Where", [keep, h, b.f32(0.0)])
        if taps is not None:
            h, next_cache = self._depthwise_by_taps(h, prefix, cache, taps)  # [B, T, D], a batch norm folded in
        else:
            h = b.op("Concat", [cache, b.op("Transpose", [h], perm=[0, 2, 1])], axis=2)  # [B, D, K-1+T]
            next_cache = b.op("Slice", [h, b.i64([-(kernel - 1)]), b.i64([np.iinfo(np.int64).max]), b.i64([2])])
            h = b.op("Conv", [h, self._param(prefix + ".depthwise_conv.weight", (d, 1, kernel)),
                              self._param(prefix + ".depthwise_conv.bias", (d,))], group=d, kernel_shape=[kernel])
            if a.conv_norm is ConvNorm.BATCH:
                norm = prefix + ".batch_norm"
                h = b.op("BatchNormalization", [h, self._param(norm + ".weight", (d,)),
                                                self._param(norm + ".bias", (d,)),
                                                b.const(self.w.get(norm + ".running_mean", (d,)), "bn_mean"),
                                                b.const(self.w.get(norm + ".running_var", (d,)), "bn_var")],
                         epsilon=1e-5)
            h = b.op("Transpose", [h], perm=[0, 2, 1])  # [B, T, D]
        if a.conv_norm is not ConvNorm.BATCH:
            h = b.layer_norm(h, self._param(prefix + ".batch_norm.weight", (d,)),
                             self._param(prefix + ".batch_norm.bias", (d,)))
        w2 = self.w.get(prefix + ".pointwise_conv2.weight", (d, d, 1))[:, :, 0]
        h = b.linear(b.swish(h), b.param(prefix + ".pointwise_conv2.weight.T", w2.T),
                     self._param(prefix + ".pointwise_conv2.bias", (d,)))
        return b.op("Add", [x, h]), next_cache

    def _depthwise_by_taps(self, h: str, prefix: str, cache: str, taps: str) -> tuple[str, str]:
        """The causal depthwise convolution, continued from ``cache [B, D, K-1]``, of ``h [B, T, D]``, time-major.

        ONNX Runtime runs a grouped ``Conv`` as one tiny matrix product per channel, which costs more than all
        the arithmetic of a few frames; here the ``K`` taps of every output frame are gathered as whole frames
        and summed with their weights: the same sum of ``K`` products per output, and no transposes of the
        activations. A batch norm after it is folded into the taps and the bias (in float64, as ONNX Runtime
        folds it into a ``Conv``). Returns ``(output [B, T, D], next cache [B, D, K-1])``.
        """
        a, b = self.arch, self.b
        d, kernel = a.d_model, a.conv_kernel

        @functools.cache
        def folded() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
            weight = self.w.get(prefix + ".depthwise_conv.weight", (d, 1, kernel))[:, 0, :].astype(np.float64)
            bias = self.w.get(prefix + ".depthwise_conv.bias", (d,)).astype(np.float64)
            if a.conv_norm is ConvNorm.BATCH:
                norm = prefix + ".batch_norm"
                scale = self.w.get(norm + ".weight", (d,)) / np.sqrt(self.w.get(norm + ".running_var", (d,)) + 1e-5)
                bias = (bias - self.w.get(norm + ".running_mean", (d,))) * scale + self.w.get(norm + ".bias", (d,))
                weight = weight * scale[:, None]
            return weight, bias

        weight = b.param(prefix + ".depthwise_conv.taps", lambda: np.ascontiguousarray(folded()[0].T, np.float32))
        bias = b.param(prefix + ".depthwise_conv.taps_bias", lambda: folded()[1].astype(np.float32))
        frames = b.op("Concat", [b.op("Transpose", [cache], perm=[0, 2, 1]), h], axis=1)  # [B, K-1+T, D]
        tail = b.op("Slice", [frames, b.i64([-(kernel - 1)]), b.i64([np.iinfo(np.int64).max]), b.i64([1])])
        windows = b.op("Gather", [frames, taps], axis=1)  # [B, T, K, D]
        summed = b.op("ReduceSum", [b.op("Mul", [windows, weight]), b.i64([2])], keepdims=0)
        return b.op("Add", [summed, bias]), b.op("Transpose", [tail], perm=[0, 2, 1])

    def _tap_index(self, frames: str) -> str:
        """``[T, K]``: output frame ``t`` of the causal depthwise convolution reads inputs ``t … t+K-1``."""
        b = self.b
        t = b.op("Range", [b.i64(0), b.op("Squeeze", [frames]), b.i64(1)])
        k = b.i64(list(range(self.arch.conv_kernel)))
        return b.op("Add", [b.op("Unsqueeze", [t, b.i64([1])]), b.op("Unsqueeze", [k, b.i64([0])])])

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
        mask, keep = self._masks(length, "cache_last_channel_len", frames)
        shift = self._shift_index(x, frames) if self.projected else None
        taps = self._tap_index(frames) if self.projected else None
        rows = self._position_rows(frames)
        channel_caches, time_caches = [], []
        for index in range(layers):
            prefix = f"encoder.layers.{index}"
            layer_channel = b.op("Gather", ["cache_last_channel", b.i64(index)], axis=1)
            layer_time = b.op("Gather", ["cache_last_time", b.i64(index)], axis=1)
            x = self._feed_forward(x, prefix + ".feed_forward1")
            if shift is None:
                x, next_channel = self._attention(x, prefix + ".self_attn", layer_channel, rows, mask)
            else:
                x, next_channel = self._streaming_attention(x, prefix + ".self_attn", layer_channel, rows, shift,
                                                            mask)
            x, next_time = self._convolution(x, prefix + ".conv", layer_time, keep, taps)
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
