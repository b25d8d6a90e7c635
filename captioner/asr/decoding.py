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
