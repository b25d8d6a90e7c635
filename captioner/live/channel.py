"""One audio source in the pipeline: its input and ring buffer, resampler, recognizer stream and clock."""

from __future__ import annotations

from collections import deque

from captioner.asr.recognizer import StreamingRecognizer
from captioner.asr.segmenter import CaptionSegmenter
from captioner.audio.capture import AudioInput
from captioner.audio.resample import StreamResampler
from captioner.audio.ringbuffer import RingBuffer
from captioner.live.commands import SourceRequest
from captioner.live.model_loading import LiveModel


class SourceChannel:
    """Everything the pipeline keeps per source; the model's graphs are shared, the stream state is not.

    The session clock ``t`` counts this source's audio (16 kHz samples fed plus audio skipped or missing)
    from the session's zero, so the captions of all sources share one timeline.
    """

    def __init__(self, request: SourceRequest, source: AudioInput, model: LiveModel | None) -> None:
        self.label = request.label
        self.preferred_on_echo = request.preferred_on_echo
        self.input = source
        self.ring: RingBuffer = source.ring  # the ring being drained (a replaced one until it is empty)
        self.ring_rate = source.sample_rate
        self.resampler = StreamResampler(self.ring_rate, 16000)
        self.stream: StreamingRecognizer | None = None
        self.segmenter: CaptionSegmenter | None = None
        self.t = 0.0
        self.offset = 0.0  # session time of the stream's last reset
        self.skipped_s = 0.0
        self.clock_origin: float | None = None  # monotonic time of Start, until the source's first audio
        self.timeline: deque[tuple[float, float]] = deque(maxlen=256)  # (stream end, arrival) per chunk
        self.tentative = ""
        self.next_level = 0.0
        self.attach(model)

    @property
    def sample_rate(self) -> int:
        return self.stream.sample_rate if self.stream is not None else 16000

    @property
    def decoded_s(self) -> float:
        """Session time up to which this source's words are decided."""
        return self.offset + (self.stream.decoded_seconds if self.stream is not None else 0.0)

    def attach(self, model: LiveModel | None) -> None:
        """Give the source a fresh stream of ``model`` (after a model switch, the old one's text was flushed)."""
        self.stream = model.new_stream() if model is not None else None
        self.segmenter = (CaptionSegmenter(self.stream.tokenizer.decode, self.stream.frame_s, source=self.label)
                          if self.stream is not None else None)
        self.bind_ring()
        self.restart()

    def bind_ring(self) -> None:
        """Drain the input's current ring from now on (a device reopened in another format has a new one)."""
        self.ring = self.input.ring
        self.ring_rate = self.input.sample_rate
        self.resampler = StreamResampler(self.ring_rate, self.sample_rate)

    def restart(self) -> None:
        """Start the stream afresh at the current session time (after a pause, a gap, a model switch)."""
        if self.stream is not None:
            self.stream.reset(start_time_s=self.t)
        self.offset = self.t
        self.resampler.reset()
        self.timeline.clear()

    def arrival_of(self, stream_s: float) -> float | None:
        """When the audio at ``stream_s`` entered the ring buffer (chunks arrive at real-time rate)."""
        for end, arrival in self.timeline:
            if end >= stream_s:
                return arrival - (end - stream_s)
        return self.timeline[-1][1] if self.timeline else None

    def behind_s(self) -> float:
        return self.ring.available() / self.ring_rate

    def lost_s(self) -> float:
        """Audio this source lost: ring-buffer overruns plus catch-up skips."""
        return self.input.ring.overrun_frames / self.input.sample_rate + self.skipped_s
