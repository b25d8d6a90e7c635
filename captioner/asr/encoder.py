"""One step of a cache-aware encoder graph, with its caches fed back.

The caches have a constant size whatever the stream length, so hours of audio cost the same
memory as seconds. ``cache_last_channel_len`` must be fed back too: forgetting it drifts silently.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from captioner.asr.graphs import GraphInfo, GraphKind
from captioner.asr.model_folder import initial_cache_shapes
from captioner.asr.spec import CacheLayout, EncoderSpec

CACHE_OUTPUTS = ["cache_last_channel_next", "cache_last_time_next", "cache_last_channel_next_len"]


class CacheAwareEncoder:
    """Runs windows of features through an encoder graph (optionally a separate first-chunk graph).

    ``step`` returns ``[D, T]`` encoder frames for an encoder graph, or ``[T, V+1]`` log-probs for a
    whole encoder+CTC graph.
    """

    def __init__(self, session: ort.InferenceSession, info: GraphInfo, encoder: EncoderSpec, left_context: int,
                 first_chunk_session: ort.InferenceSession | None = None,
                 extra_feeds: dict[str, npt.NDArray[np.int64]] | None = None,
                 cache_layout: CacheLayout = CacheLayout.BATCH_FIRST) -> None:
        self._session = session
        self._extra_feeds = dict(extra_feeds or {})
        self._first_session = first_chunk_session
        self._is_ctc_graph = info.kind is GraphKind.CACHE_AWARE_CTC
        main_output = "outputs" if not self._is_ctc_graph else next(
            t.name for t in info.outputs if "prob" in t.name)
        self._outputs = [main_output, "encoded_lengths", *CACHE_OUTPUTS]
        if self._is_ctc_graph and "encoded_lengths" not in info.output_names:
            self._outputs[1] = next(t.name for t in info.outputs if "len" in t.name and "cache" not in t.name)
        self._channel_shape, self._time_shape = initial_cache_shapes(info, encoder, left_context, cache_layout)
        self.reset()

    def reset(self) -> None:
        self._cache_channel = np.zeros(self._channel_shape, np.float32)
        self._cache_time = np.zeros(self._time_shape, np.float32)
        self._cache_len = np.zeros(1, np.int64)

    def step(self, window: npt.NDArray[np.float32], first_chunk: bool = False,
             all_outputs: bool = False) -> npt.NDArray[np.float32]:
        """One window; ``all_outputs`` keeps every output frame (sherpa-onnx ignores ``encoded_lengths``)."""
        session = self._first_session if first_chunk and self._first_session is not None else self._session
        out, lengths, self._cache_channel, self._cache_time, self._cache_len = session.run(self._outputs, {
            "audio_signal": np.ascontiguousarray(window[None]),
            "length": np.array([window.shape[1]], np.int64),
            "cache_last_channel": self._cache_channel,
            "cache_last_time": self._cache_time,
            "cache_last_channel_len": self._cache_len,
            **self._extra_feeds,
        })
        valid = int(lengths.reshape(-1)[0])
        if all_outputs:
            valid = out.shape[1] if self._is_ctc_graph else out.shape[2]
        if self._is_ctc_graph:
            return np.asarray(out[0, :valid])
        return np.asarray(out[0, :, :valid])
