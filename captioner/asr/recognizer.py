"""The streaming recognizer: 16 kHz samples in, final tokens out, chunk by chunk.

It reproduces NeMo's cache-aware streaming exactly (``CacheAwareStreamingAudioBuffer`` +
``conformer_stream_step``):

* mode "A" (NeMo's default): step 0 feeds the first ``chunk[0]`` frames with no pre-encode cache to
  a first-chunk graph exported with ``drop_extra_pre_encoded = 0``; later steps feed the previous
  ``pre_encode_cache_size`` frames plus ``chunk[1]`` new ones.
* mode "B" (``--pad_and_drop_preencoded``): step 0 feeds zeros as the pre-encode cache plus
  ``chunk[1]`` frames, through the one graph every step uses.

At the end of the stream a shorter last window is fed, and a later chunk too short to give one
encoder frame is dropped, as NeMo does.

It also streams the way sherpa-onnx streams NeMo transducers (``OnlineRecognizerTransducerNeMoImpl``):

* mode "S": sherpa-onnx's kaldi-native-fbank features (``captioner.asr.sherpa_features``), and every step
  feeds exactly ``window_size = pre_encode_cache_size + chunk[1]`` frames starting at the processed position
  (frame 0 first: no zero pre-pad, no first-chunk graph), with ``length = window_size``, keeps every encoder
  output, and advances ``chunk_shift = chunk[1]``; a window runs once ``position + window_size`` frames are
  fewer than those computed (sherpa's ``IsReady``). sherpa-onnx never feeds a short window, so ``finish``
  appends ``window_size`` frames of silence first (as sherpa-onnx's examples append tail padding) and then
  flushes the features: every heard frame is decoded, and the tokens equal sherpa-onnx's when it is fed the
  same padding before ``input_finished``. The default for a sherpa-onnx pack.

Tokens are handed to the caller and not kept, so memory stays flat over hours.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from captioner.asr.choices import Decoder, Provider, StreamingMode, parse
from captioner.asr.decoding import CtcGreedyDecoder, RawToken, RnntGreedyDecoder, SherpaRnntGreedyDecoder
from captioner.asr.encoder import CacheAwareEncoder
from captioner.asr.errors import ModelFolderError
from captioner.asr.features import StreamingFeaturizer
from captioner.asr.graphs import (
    DECODER_JOINT_INPUTS,
    DECODER_JOINT_OUTPUTS,
    ENCODER_INPUTS,
    ENCODER_OUTPUTS,
    GraphInfo,
    GraphKind,
    graph_info,
    require_signature,
)
from captioner.asr.model_folder import ModelFolder
from captioner.asr.runtime import CUDA, active_provider, create_session, threads_for
from captioner.asr.sherpa_features import KaldiFbankSpec, SherpaFeaturizer
from captioner.asr.sherpa_pack import check_decoder, check_joiner
from captioner.asr.spec import ModelLayout
from captioner.errors import CaptionerError


@dataclass(frozen=True)
class Token:
    """A recognised token: ``text`` starts with a space when the token starts a word."""

    id: int
    text: str
    frame: int
    start_s: float


class LoadedModel:
    """A model folder's graphs opened once, shared by any number of streams (one per audio source).

    ONNX Runtime sessions are the heavy part (the weights, hundreds of megabytes); a stream only adds its
    caches, decoder state and featurizer. ``InferenceSession.run`` may be called from several streams, one
    after the other or from different threads.
    """

    def __init__(self, folder: ModelFolder, provider: Provider | str = Provider.AUTO, threads: int | None = None
                 ) -> None:
        self.folder = folder
        self.provider_preference = provider
        self.threads = threads if threads is not None else threads_for(folder.encoder_weight_bytes())
        self._sessions: dict[tuple[str, int | None], tuple[ort.InferenceSession, GraphInfo]] = {}

    def session(self, name: str, threads: int | None = None) -> tuple[ort.InferenceSession, GraphInfo]:
        """The graph ``name`` opened once (per thread count), with its signature."""
        key = (name, threads if threads is not None else self.threads)
        if key not in self._sessions:
            path = self.folder.file(name)
            try:
                session = create_session(path, self.provider_preference, key[1])
            except CaptionerError:
                raise
            except Exception as exc:  # onnxruntime's exception types vary
                raise ModelFolderError(f"{path} could not be loaded ({str(exc).strip().splitlines()[0]}).",
                                       "The file is probably truncated or corrupt: copy or export it again."
                                       ) from exc
            self._sessions[key] = (session, graph_info(session, path))
        return self._sessions[key]


class StreamingRecognizer:
    """One stream of plain-Python streaming ASR over a cache-aware model; no Qt, no threads.

    Built on a :class:`LoadedModel` its graphs are shared with every other stream of that model; built on a
    bare ``ModelFolder`` it opens them for itself (``provider`` and ``threads`` apply then).
    ``device_caches`` keeps the encoder caches on the device between steps (IO binding); by default it is on
    where the encoder runs on CUDA, and off on the CPU, where it measured no faster.
    """

    def __init__(self, model: ModelFolder | LoadedModel, *, decoder: Decoder | str = Decoder.RNNT,
                 lookahead_ms: int | None = None, mode: StreamingMode | str | None = None,
                 provider: Provider | str = Provider.AUTO, threads: int | None = None,
                 language: str | None = None, device_caches: bool | None = None) -> None:
        self.model = model if isinstance(model, LoadedModel) else LoadedModel(model, provider, threads)
        folder = self.model.folder
        spec = folder.spec
        decoder = parse(Decoder, decoder, "decoder")
        if decoder not in spec.decoders():
            raise CaptionerError(
                f"The model in {folder.path} has no {decoder.upper()} decoder; it provides "
                f"{', '.join(d.upper() for d in spec.decoders())}."
            )
        try:
            self.streaming = spec.streaming_for(lookahead_ms)
        except ValueError as exc:
            raise CaptionerError(str(exc)) from exc
        self.spec = spec
        self.decoder_name = decoder
        whole_ctc_graph = decoder is Decoder.CTC and self.streaming.ctc_file is not None
        encoder_file = self.streaming.ctc_file if whole_ctc_graph else self.streaming.encoder_file
        assert encoder_file is not None
        first_file = None if whole_ctc_graph else self.streaming.first_chunk_encoder_file
        if mode is None:
            mode = (StreamingMode.SHERPA if spec.layout is ModelLayout.SHERPA_ONNX
                    else StreamingMode.NEMO_A if first_file else StreamingMode.NEMO_B)
        mode = parse(StreamingMode, mode, "streaming mode")
        if mode is StreamingMode.NEMO_A and first_file is None:
            raise CaptionerError(
                f"Streaming mode A needs a first-chunk encoder graph, which {folder.path} lacks; use mode B "
                "or re-export with `captioner export`."
            )
        self.mode = mode

        session, info = self.model.session(encoder_file, threads)
        require_signature(info, ENCODER_INPUTS, ("encoded_lengths", *ENCODER_OUTPUTS[2:]), "cache-aware encoder")
        first_session = None
        if mode is StreamingMode.NEMO_A and first_file:
            first_session, first_info = self.model.session(first_file, threads)
            require_signature(first_info, ENCODER_INPUTS, ENCODER_OUTPUTS, "cache-aware first-chunk encoder")
        self.provider = active_provider(session)
        self.language = self._language(folder, language)
        extra: dict[str, npt.NDArray[np.int64]] = {}
        self._prompt_kernel = None
        if spec.prompt is not None:
            index = spec.prompt.index(self.language)
            if "prompt_index" in info.input_names:
                extra["prompt_index"] = np.array([index], np.int64)
            elif folder.prompt_kernel is not None:
                self._prompt_kernel, self._prompt_index = folder.prompt_kernel, index
            else:
                raise ModelFolderError(f"{folder.path} describes a language-prompt model but {encoder_file} has no "
                                       "prompt_index input.", "Import the model again with `captioner import`.")
        on_gpu = self.provider == CUDA
        keep_on_device = on_gpu if device_caches is None else device_caches
        cache_device = ("cuda" if on_gpu else "cpu") if keep_on_device else None
        self._encoder = CacheAwareEncoder(session, info, spec.encoder, self.streaming.last_channel_cache_size,
                                          first_session, extra, spec.cache_layout, cache_device)

        self._ctc_head: ort.InferenceSession | None = None
        self._rnnt: RnntGreedyDecoder | SherpaRnntGreedyDecoder | None = None
        self._ctc: CtcGreedyDecoder | None = None
        if decoder is Decoder.RNNT:
            assert spec.rnnt is not None
            # One small LSTM step per call: a thread pool only adds wake-up latency.
            joint, joint_info = self.model.session(spec.rnnt.decoder_joint_file, 1)
            if spec.rnnt.joiner_file is not None:
                check_decoder(joint_info)
                joiner, joiner_info = self.model.session(spec.rnnt.joiner_file, 1)
                check_joiner(joiner_info)
                self._rnnt = SherpaRnntGreedyDecoder(joint, joiner, spec.blank_id, spec.rnnt.pred_hidden,
                                                     spec.rnnt.pred_rnn_layers, spec.rnnt.max_symbols_per_step)
            else:
                require_signature(joint_info, DECODER_JOINT_INPUTS, DECODER_JOINT_OUTPUTS, "decoder_joint")
                self._rnnt = RnntGreedyDecoder(joint, spec.blank_id, spec.rnnt.pred_hidden,
                                               spec.rnnt.pred_rnn_layers, spec.rnnt.max_symbols_per_step)
        else:
            if not whole_ctc_graph:
                assert spec.ctc is not None and spec.ctc.head_file is not None
                self._ctc_head, _ = self.model.session(spec.ctc.head_file, threads)
                self._ctc_head_input = self._ctc_head.get_inputs()[0].name
            self._ctc = CtcGreedyDecoder(spec.blank_id)

        self.tokenizer = folder.tokenizer()
        self.sample_rate = spec.preprocessor.sample_rate
        self.frame_s = spec.encoder_frame_ms / 1000.0
        self._featurizer: StreamingFeaturizer | SherpaFeaturizer
        if mode is StreamingMode.SHERPA:
            self._featurizer = SherpaFeaturizer(KaldiFbankSpec(n_mels=spec.preprocessor.n_mels,
                                                               sample_rate=spec.preprocessor.sample_rate))
        else:
            self._featurizer = StreamingFeaturizer(spec.preprocessor)
        self.nonfinite_samples = 0
        """Input samples that were NaN or infinite and were replaced by silence."""
        self.stream_resets = 0
        """Times the model's output was not finite and its state was started afresh."""
        self.lost_seconds = 0.0
        self.step_seconds: deque[float] = deque(maxlen=4096)
        """Compute time of recent encoder+decoder steps (bounded), for stats and benchmarks."""
        self.reset()

    @staticmethod
    def _language(folder: ModelFolder, language: str | None) -> str | None:
        """The locale the prompt is set to: the chosen one, else the model's default; ``None`` without a prompt."""
        prompt = folder.spec.prompt
        if prompt is None:
            if language is not None:
                raise CaptionerError(f"The model in {folder.path} has no language setting; it transcribes the "
                                     "language it was trained on. Leave the language unset.")
            return None
        chosen = prompt.default if language is None else language
        if chosen not in prompt.dictionary:
            raise CaptionerError(f"The model in {folder.path} has no language {chosen!r}; it knows "
                                 f"{', '.join(sorted(prompt.dictionary))}.")
        return chosen


    # ----------------------------------------------------------------------------------------- state
    @property
    def cache_device(self) -> str | None:
        """Where the encoder caches stay between steps (``None``: host arrays fed to every run)."""
        return self._encoder.cache_device

    def reset(self, start_time_s: float = 0.0) -> None:
        """Forget the stream (caches, decoder state, buffered audio); later token times start at ``start_time_s``."""
        self._featurizer.reset()
        self._encoder.reset()
        if self._rnnt:
            self._rnnt.reset()
        if self._ctc:
            self._ctc.reset()
        self._time_offset = start_time_s
        self._feats = np.zeros((self.spec.preprocessor.n_mels, 0), np.float32)
        self._feats_base = 0  # global feature index of _feats[:, 0]
        self._next = 0  # global feature index where the next chunk starts
        self._step = 0
        self._encoder_frames = 0
        self._samples_in = 0
        self._finished = False

    @property
    def audio_seconds(self) -> float:
        """Audio accepted since the last reset."""
        return self._samples_in / self.sample_rate

    @property
    def decoded_seconds(self) -> float:
        """Audio whose tokens have been emitted (the encoder frames produced so far)."""
        return self._encoder_frames * self.frame_s

    # ----------------------------------------------------------------------------------------- input
    def accept(self, samples: npt.NDArray[np.float32]) -> list[Token]:
        """Feed mono float32 samples at ``sample_rate``; returns the tokens that became final."""
        if self._finished:
            raise CaptionerError("This stream has finished; call reset() before feeding more audio.")
        data = np.asarray(samples)
        if data.ndim != 1:
            raise CaptionerError(f"Expected mono samples (1-D), got an array of shape {data.shape}.")
        finite = np.isfinite(data)
        if not finite.all():  # one NaN would poison every feature frame, cache and token after it
            self.nonfinite_samples += int(data.size - np.count_nonzero(finite))
            data = np.where(finite, data, 0.0).astype(np.float32)
        self._samples_in += data.size
        self._append(self._featurizer.accept(data.astype(np.float32, copy=False)))
        return self._run(final=False)

    def finish(self) -> list[Token]:
        """End of stream: flush the last, shorter window."""
        if self._finished:
            return []
        self._finished = True
        if self._samples_in == 0:
            return []  # nothing was heard: NeMo would still run one padded frame and may emit noise
        if self.mode is StreamingMode.SHERPA:
            padding = np.zeros(self.sherpa_window * self.spec.preprocessor.hop_length, np.float32)
            self._append(self._featurizer.accept(padding))
        self._append(self._featurizer.finish())
        return self._run(final=True)

    @property
    def sherpa_window(self) -> int:
        """sherpa-onnx's ``window_size``: the pre-encode cache plus one chunk, in feature frames."""
        return self.streaming.pre_encode_cache_size + self.streaming.chunk_frames[1]

    def _append(self, frames: npt.NDArray[np.float32]) -> None:
        if frames.shape[1]:
            self._feats = np.concatenate([self._feats, frames], axis=1)

    # ----------------------------------------------------------------------------------------- steps
    def _run(self, final: bool) -> list[Token]:
        if self.mode is StreamingMode.SHERPA:
            return self._run_sherpa()
        s = self.streaming
        later_min = self.spec.encoder.subsampling_factor
        tokens: list[Token] = []
        while True:
            first = self._step == 0
            first_graph = first and self.mode is StreamingMode.NEMO_A  # mode A's step 0: the first-chunk graph
            size = s.chunk_frames[0] if first_graph else s.chunk_frames[1]
            shift = s.shift_frames[0] if first_graph else s.shift_frames[1]
            end = self._feats_base + self._feats.shape[1]
            available = end - self._next
            if available < size and (not final or available < (1 if first else later_min)):
                break
            take = min(size, available)
            chunk = self._feats[:, self._next - self._feats_base : self._next - self._feats_base + take]
            window = chunk if first_graph else np.concatenate([self._pre_encode_cache(), chunk], 1)
            started = time.perf_counter()
            tokens += self._decode(self._encoder.step(window, first_chunk=first_graph))
            self.step_seconds.append(time.perf_counter() - started)
            self._next += shift
            self._step += 1
        self._trim_features()
        return tokens

    def _run_sherpa(self) -> list[Token]:
        """sherpa-onnx's ``IsReady`` / ``DecodeStreams``: full windows only, from frame 0, advancing ``chunk_shift``."""
        window, shift = self.sherpa_window, self.streaming.shift_frames[1]
        tokens: list[Token] = []
        while self._next + window < self._feats_base + self._feats.shape[1]:
            start = self._next - self._feats_base
            started = time.perf_counter()
            tokens += self._decode(self._encoder.step(self._feats[:, start : start + window], all_outputs=True))
            self.step_seconds.append(time.perf_counter() - started)
            self._next += shift
            self._step += 1
        if self._next > self._feats_base:
            self._feats = self._feats[:, self._next - self._feats_base :]
            self._feats_base = self._next
        return tokens

    def _recover(self, encoded: npt.NDArray[np.float32]) -> list[Token]:
        """The model produced NaN or Inf (broken weights, a numeric blow-up): drop this chunk's frames and start
        the model's state afresh rather than caption garbage from here on; ``stream_resets`` counts it."""
        frames = encoded.shape[0] if self._ctc is not None and self._ctc_head is None else encoded.shape[-1]
        self._encoder_frames += frames
        self.lost_seconds += frames * self.frame_s
        self.stream_resets += 1
        self._encoder.reset()
        if self._rnnt:
            self._rnnt.reset()
        if self._ctc:
            self._ctc.reset()
        return []

    def _pre_encode_cache(self) -> npt.NDArray[np.float32]:
        """The ``pre_encode_cache_size`` frames before the chunk, zero-padded in front at the start."""
        size = self.streaming.pre_encode_cache_size
        start = max(self._feats_base, self._next - size)
        cache = self._feats[:, start - self._feats_base : self._next - self._feats_base]
        if cache.shape[1] < size:
            pad = np.zeros((cache.shape[0], size - cache.shape[1]), np.float32)
            cache = np.concatenate([pad, cache], axis=1)
        return cache

    def _trim_features(self) -> None:
        keep_from = max(self._feats_base, self._next - self.streaming.pre_encode_cache_size)
        if keep_from > self._feats_base:
            self._feats = self._feats[:, keep_from - self._feats_base :]
            self._feats_base = keep_from

    def _decode(self, encoded: npt.NDArray[np.float32]) -> list[Token]:
        first_frame = self._encoder_frames
        if not np.isfinite(encoded).all():
            return self._recover(encoded)
        if self._prompt_kernel is not None:
            encoded = self._prompt_kernel.apply(encoded, self._prompt_index)
        raw: list[RawToken]
        if self._rnnt is not None:
            self._encoder_frames += encoded.shape[1]
            raw = self._rnnt.decode(encoded, first_frame)
        else:
            assert self._ctc is not None
            if self._ctc_head is not None:
                log_probs = self._ctc_head.run(None, {self._ctc_head_input: encoded[None]})[0][0]
            else:
                log_probs = encoded
            self._encoder_frames += log_probs.shape[0]
            raw = self._ctc.decode(log_probs, first_frame)
        return [
            Token(r.id, self.tokenizer.token_text(r.id), r.frame, self._time_offset + r.frame * self.frame_s)
            for r in raw
        ]


def transcribe_samples(recognizer: StreamingRecognizer, samples: npt.NDArray[np.float32],
                       block: int = 1600) -> list[Token]:
    """Stream a whole signal through ``recognizer`` in blocks of ``block`` samples (100 ms by default)."""
    tokens: list[Token] = []
    for start in range(0, samples.size, block):
        tokens += recognizer.accept(samples[start : start + block])
    return tokens + recognizer.finish()


__all__ = ["GraphKind", "StreamingRecognizer", "Token", "transcribe_samples"]
