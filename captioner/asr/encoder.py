"""One step of a cache-aware encoder graph, with its caches fed back.

The caches have a constant size whatever the stream length, so hours of audio cost the same
memory as seconds. ``cache_last_channel_len`` must be fed back too: forgetting it drifts silently.

On a GPU the caches (2.4 MB a step for the full-size model at 80 ms) would otherwise go to the host and back
every step; with ``cache_device`` they stay where the graph computes them, as ``OrtValue`` s bound by IO
binding, and only the encoder frames come back. The same path runs on the CPU provider (``"cpu"``), which is
how it is tested without a GPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from captioner.asr.graphs import GraphInfo, GraphKind
from captioner.asr.model_folder import initial_cache_shapes
from captioner.asr.spec import CacheLayout, EncoderSpec

CACHE_INPUTS = ["cache_last_channel", "cache_last_time", "cache_last_channel_len"]
CACHE_OUTPUTS = ["cache_last_channel_next", "cache_last_time_next", "cache_last_channel_next_len"]


class CacheAwareEncoder:
    """Runs windows of features through an encoder graph (optionally a separate first-chunk graph).

    ``step`` returns ``[D, T]`` encoder frames for an encoder graph, or ``[T, V+1]`` log-probs for a
    whole encoder+CTC graph.
    """

    def __init__(self, session: ort.InferenceSession, info: GraphInfo, encoder: EncoderSpec, left_context: int,
                 first_chunk_session: ort.InferenceSession | None = None,
                 extra_feeds: dict[str, npt.NDArray[np.int64]] | None = None,
                 cache_layout: CacheLayout = CacheLayout.BATCH_FIRST, cache_device: str | None = None) -> None:
        self._session = session
        self._device = cache_device
        self._device_caches: list[ort.OrtValue] = []
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

    @property
    def cache_device(self) -> str | None:
        """Where the caches live between steps (``None``: numpy arrays on the host)."""
        return self._device

    def reset(self) -> None:
        self._cache_channel = np.zeros(self._channel_shape, np.float32)
        self._cache_time = np.zeros(self._time_shape, np.float32)
        self._cache_len = np.zeros(1, np.int64)
        if self._device is not None:
            self._device_caches = [ort.OrtValue.ortvalue_from_numpy(value, self._device, 0)
                                   for value in (self._cache_channel, self._cache_time, self._cache_len)]

    def step(self, window: npt.NDArray[np.float32], first_chunk: bool = False,
             all_outputs: bool = False) -> npt.NDArray[np.float32]:
        """One window; ``all_outputs`` keeps every output frame (sherpa-onnx ignores ``encoded_lengths``)."""
        session = self._first_session if first_chunk and self._first_session is not None else self._session
        audio: dict[str, npt.NDArray[Any]] = {"audio_signal": np.ascontiguousarray(window[None]),
                                              "length": np.array([window.shape[1]], np.int64)}
        if self._device is not None:
            out, lengths = self._run_bound(session, audio)
        else:
            out, lengths, self._cache_channel, self._cache_time, self._cache_len = session.run(self._outputs, {
                **audio,
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

    def _run_bound(self, session: ort.InferenceSession, host_inputs: dict[str, npt.NDArray[Any]]
                   ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """One step with the caches bound on ``cache_device``; returns the frames and lengths on the host."""
        assert self._device is not None
        binding = session.io_binding()
        for name, value in {**host_inputs, **self._extra_feeds}.items():
            binding.bind_cpu_input(name, value)
        for name, cache in zip(CACHE_INPUTS, self._device_caches, strict=True):
            binding.bind_ortvalue_input(name, cache)
        for name in self._outputs[:2]:
            binding.bind_output(name, "cpu")
        for name in CACHE_OUTPUTS:
            binding.bind_output(name, self._device, 0)
        session.run_with_iobinding(binding)
        values = binding.get_outputs()
        self._device_caches = list(values[2:])
        return values[0].numpy(), values[1].numpy()
