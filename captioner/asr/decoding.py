"""Greedy RNNT and CTC decoding that carry their state across chunks.

Both decoders see encoder frames chunk by chunk and must give exactly what decoding the whole
utterance at once gives: the RNNT decoder keeps (last token, LSTM state) between calls, the CTC
decoder keeps the previous frame's argmax so a repeat that straddles a chunk boundary collapses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnxruntime as ort


@dataclass(frozen=True)
class RawToken:
    """A token id and the global encoder frame that emitted it."""

    id: int
    frame: int


class RnntGreedyDecoder:
    """NeMo's ``GreedyRNNTInfer`` frame loop over an exported ``decoder_joint`` graph.

    ``decoder_joint`` runs the prediction network on ``targets`` (the last emitted token; blank is the
    start symbol) from ``input_states`` and returns the joint logits plus the state *after* that
    token. Per frame we emit the argmax until blank or ``max_symbols``; only a non-blank advances
    (token, state). The state fed with a token is always the one from before it, so a token is
    never consumed twice at a chunk boundary (the classic repeated/dropped-token bug).
    """

    def __init__(self, session: ort.InferenceSession, blank_id: int, pred_hidden: int, pred_layers: int,
                 max_symbols: int) -> None:
        self._session = session
        self._blank = blank_id
        self._max_symbols = max_symbols
        self._state_shape = (pred_layers, 1, pred_hidden)
        self._outputs = ["outputs", "output_states_1", "output_states_2"]
        self._target_length = np.ones(1, dtype=np.int32)
        self.reset()

    def reset(self) -> None:
        self._last_token = self._blank
        self._h = np.zeros(self._state_shape, np.float32)
        self._c = np.zeros(self._state_shape, np.float32)

    def decode(self, encoded: npt.NDArray[np.float32], first_frame: int) -> list[RawToken]:
        """``encoded`` is ``[D, T]``; returns the tokens of these ``T`` frames."""
        tokens: list[RawToken] = []
        targets = np.empty((1, 1), dtype=np.int32)
        frames = np.ascontiguousarray(encoded.T)[:, None, :, None]  # [T, 1, D, 1]: one copy per chunk
        for t in range(frames.shape[0]):
            frame = frames[t]
            for _ in range(self._max_symbols):
                targets[0, 0] = self._last_token
                logits, h, c = self._session.run(self._outputs, {
                    "encoder_outputs": frame,
                    "targets": targets,
                    "target_length": self._target_length,
                    "input_states_1": self._h,
                    "input_states_2": self._c,
                })
                best = int(np.argmax(logits.reshape(-1)))
                if best == self._blank:
                    break
                tokens.append(RawToken(best, first_frame + t))
                self._last_token = best
                self._h, self._c = h, c
        return tokens


class SherpaRnntGreedyDecoder:
    """sherpa-onnx's greedy search for NeMo transducers over separate ``decoder.onnx`` and ``joiner.onnx``.

    ``online-transducer-greedy-search-nemo-decoder.cc``: the prediction network runs once on blank (zero LSTM
    state) when the stream starts; then, per encoder frame, the joiner scores (frame, last decoder output), and
    the argmax, when it is not blank, is emitted and fed to the prediction network, whose new output and state
    replace the old ones; blank ends the frame; at most 10 symbols per frame. The decoder output and state are
    carried across chunks, so the prediction network runs exactly once per emitted token. Identical in result
    to NeMo's frame loop over ``decoder_joint`` (the state advances only on a non-blank).
    """

    def __init__(self, decoder: ort.InferenceSession, joiner: ort.InferenceSession, blank_id: int,
                 pred_hidden: int, pred_layers: int, max_symbols: int) -> None:
        self._decoder = decoder
        self._joiner = joiner
        self._blank = blank_id
        self._max_symbols = max_symbols
        self._state_shape = (pred_layers, 1, pred_hidden)
        self._decoder_inputs = [i.name for i in decoder.get_inputs()]
        self._decoder_outputs = [o.name for o in decoder.get_outputs()]
        self._joiner_inputs = [i.name for i in joiner.get_inputs()]
        self._target_length = np.ones(1, dtype=np.int32)
        self.reset()

    def reset(self) -> None:
        self._decoder_out: npt.NDArray[np.float32] | None = None
        self._states = [np.zeros(self._state_shape, np.float32), np.zeros(self._state_shape, np.float32)]

    def _run_decoder(self, token: int) -> None:
        outputs = self._decoder.run(self._decoder_outputs, dict(zip(self._decoder_inputs, [
            np.full((1, 1), token, dtype=np.int32), self._target_length, *self._states], strict=True)))
        self._decoder_out = outputs[0]
        self._states = [outputs[2], outputs[3]]

    def decode(self, encoded: npt.NDArray[np.float32], first_frame: int) -> list[RawToken]:
        """``encoded`` is ``[D, T]``; returns the tokens of these ``T`` frames."""
        if self._decoder_out is None:
            self._run_decoder(self._blank)
        tokens: list[RawToken] = []
        frames = np.ascontiguousarray(encoded.T)[:, None, :, None]  # [T, 1, D, 1]
        enc_name, dec_name = self._joiner_inputs
        for t in range(frames.shape[0]):
            for _ in range(self._max_symbols):
                logits = self._joiner.run(None, {enc_name: frames[t], dec_name: self._decoder_out})[0]
                best = int(np.argmax(logits.reshape(-1)))
                if best == self._blank:
                    break
                tokens.append(RawToken(best, first_frame + t))
                self._run_decoder(best)
        return tokens


class CtcGreedyDecoder:
    """Per-frame argmax, repeats collapsed then blanks dropped over the whole stream."""

    def __init__(self, blank_id: int) -> None:
        self._blank = blank_id
        self.reset()

    def reset(self) -> None:
        self._previous = -1

    def decode(self, log_probs: npt.NDArray[np.float32], first_frame: int) -> list[RawToken]:
        """``log_probs`` is ``[T, V+1]``."""
        tokens = []
        for t, best in enumerate(np.argmax(log_probs, axis=-1).tolist()):
            if best != self._blank and best != self._previous:
                tokens.append(RawToken(int(best), first_frame + t))
            self._previous = best
        return tokens
