"""Several sources through one pipeline and one loaded model: each its own stream, labelled, merged by time.

Qt-free: the pipeline runs in a plain thread with a sink that records what it is told.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer
from captioner.asr.segmenter import Segment
from captioner.audio.file_feeder import FileFeeder
from captioner.audio.file_reader import load_audio
from captioner.live.commands import LoadModel, Quit, SourceRequest, StartSession
from captioner.live.model_loading import ModelRequest
from captioner.live.pipeline import LivePipeline
from captioner.live.sink import QuietSink
from captioner.live.state import PipelineState

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL = FIXTURES / "models" / "tiny-a"
SPEECH = FIXTURES / "audio" / "speech_3s.wav"
LONG_SPEECH = FIXTURES / "audio" / "speech_8s.wav"


@dataclass
class RecordingSink(QuietSink):
    """Records every event; quits the pipeline when the last file has been read."""

    pipeline: LivePipeline | None = None
    files_left: int = 0
    segments: list[Segment] = field(default_factory=list)
    tentative: list[tuple[str, str]] = field(default_factory=list)
    states: list[PipelineState] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def tentative_changed(self, text: str, source: str) -> None:
        self.tentative.append((source, text))

    def segment_committed(self, segment: Segment) -> None:
        self.segments.append(segment)

    def model_failed(self, message: str) -> None:
        self.failures.append(message)

    def state_changed(self, state: PipelineState) -> None:
        self.states.append(state)

    def input_failed(self, message: str, source: str) -> None:
        self.failures.append(f"{source}: {message}")

    def input_finished(self, problem: str, source: str) -> None:
        self.finished.append(source)
        self.files_left -= 1
        if self.files_left == 0 and self.pipeline is not None:
            self.pipeline.put(Quit())


def caption_files(files: list[tuple[str, Path]], prefer: str | None = None) -> tuple[RecordingSink, LivePipeline]:
    sink = RecordingSink(files_left=len(files))
    pipeline = LivePipeline(sink, catch_up=False)
    sink.pipeline = pipeline
    pipeline.put(LoadModel(ModelRequest(str(MODEL), lookahead_ms=80, provider="cpu")))
    pipeline.put(StartSession(tuple(
        SourceRequest(lambda p=path: FileFeeder(p, speed=float("inf")), name, name == prefer)  # type: ignore[misc]
        for name, path in files)))
    runner = threading.Thread(target=pipeline.run, daemon=True)
    runner.start()
    runner.join(timeout=120)
    assert not runner.is_alive(), "the pipeline ends when the last file does"
    assert not sink.failures
    return sink, pipeline


def alone(path: Path) -> list[int]:
    """The token ids one recognizer gives for the whole file: what each source's stream must give."""
    rec = StreamingRecognizer(load_model_folder(MODEL), lookahead_ms=80, provider="cpu")
    audio = load_audio(path, rec.sample_rate)
    return [t.id for t in rec.accept(audio)] + [t.id for t in rec.finish()]


@pytest.fixture(autouse=True)
def _need_fixtures() -> None:
    if not (MODEL / "captioner-model.json").is_file() or not LONG_SPEECH.is_file():
        pytest.skip("fixture model or audio missing (tools/make_fixtures.py)")


def test_each_source_gets_exactly_what_it_would_alone() -> None:
    sink, _ = caption_files([("Others", LONG_SPEECH), ("You", SPEECH)])
    for name, path in (("Others", LONG_SPEECH), ("You", SPEECH)):
        ids = [i for s in sink.segments if s.source == name for i in s.token_ids]
        assert ids == alone(path), name
    assert sorted(sink.finished) == ["Others", "You"]
    assert {s for s, _ in sink.tentative} <= {"Others", "You"}
    assert sink.states[-1] is PipelineState.IDLE


def test_two_streams_share_one_loaded_model() -> None:
    sink = RecordingSink()
    pipeline = LivePipeline(sink, catch_up=False)
    sink.pipeline = pipeline
    pipeline.put(LoadModel(ModelRequest(str(MODEL), lookahead_ms=80, provider="cpu")))
    pipeline.put(StartSession((SourceRequest(lambda: FileFeeder(LONG_SPEECH, speed=0.01), "A"),
                               SourceRequest(lambda: FileFeeder(LONG_SPEECH, speed=0.01), "B"))))
    pipeline.put(Quit())
    pipeline.run()
    assert pipeline.model is not None
    sessions = pipeline.model.model._sessions  # the graphs opened, once per file and thread count
    assert len(sessions) == len({key[0] for key in sessions}), "no graph was opened twice"
    assert not pipeline.channels, "Quit closed both sources"


def test_one_busy_source_does_not_starve_the_other() -> None:
    """The long file's lines do not all come before the short file's: the sources take turns."""
    sink, _ = caption_files([("Long", LONG_SPEECH), ("Short", SPEECH)])
    order = [s.source for s in sink.segments if not s.gap]
    assert "Short" in order and "Long" in order
    last_long = len(order) - 1 - order[::-1].index("Long")
    assert order.index("Short") < last_long


def test_the_same_words_on_both_sources_appear_once_as_the_preferred_ones() -> None:
    sink, pipeline = caption_files([("Others", SPEECH), ("You", SPEECH)], prefer="Others")
    spoken = [s for s in sink.segments if not s.gap]
    assert len(spoken) >= 2 and {s.source for s in spoken} == {"Others"}
    assert [i for s in spoken for i in s.token_ids] == alone(SPEECH)
    assert pipeline.echoes_dropped == len(spoken)


def test_without_a_preferred_source_both_copies_are_kept() -> None:
    sink, pipeline = caption_files([("Others", SPEECH), ("You", SPEECH)])
    by_source = {name: [i for s in sink.segments if s.source == name for i in s.token_ids]
                 for name in ("Others", "You")}
    assert by_source["Others"] == by_source["You"] == alone(SPEECH)
    assert len(alone(SPEECH)) > 50, "the fixture model hears plenty in this clip"
    assert pipeline.echoes_dropped == 0


def test_segments_of_two_sources_stay_on_one_timeline() -> None:
    sink, _ = caption_files([("A", SPEECH), ("B", SPEECH)])
    starts = {name: [s.start_s for s in sink.segments if s.source == name] for name in ("A", "B")}
    assert starts["A"] == starts["B"], "the same audio on two sources has the same caption times"
    assert np.all(np.diff(starts["A"]) >= 0)
