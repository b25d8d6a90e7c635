"""``captioner transcribe --source NAME=FILE ...`` and ``--realtime``: files through the app's live pipeline.

Each file is a source with its own recognizer stream over one loaded model, exactly as the app captions a
microphone and system audio together; the captions of all sources are merged by time and labelled. The
pipeline runs in the calling thread and ends when the last file does.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from captioner.asr.model_folder import load_model_folder
from captioner.asr.segmenter import Segment
from captioner.audio.file_feeder import FileFeeder
from captioner.errors import CaptionerError
from captioner.formats import TranscriptFormat, labelled, render, vtt_time
from captioner.live.commands import InputFactory, LoadModel, Quit, SourceRequest, StartSession
from captioner.live.model_loading import ModelInfo, ModelRequest
from captioner.live.pipeline import LivePipeline
from captioner.live.sink import QuietSink

AS_FAST_AS_POSSIBLE = float("inf")


def parse_sources(specs: list[str]) -> list[tuple[str, Path]]:
    """``NAME=FILE`` pairs; names must be unique and non-empty (they label every caption line)."""
    sources: list[tuple[str, Path]] = []
    for spec in specs:
        name, sep, file = spec.partition("=")
        name = name.strip()
        if not sep or not name or not file:
            raise CaptionerError(f"--source {spec!r} is not NAME=FILE, for example --source Others=call.wav.")
        if any(name == known for known, _ in sources):
            raise CaptionerError(f"Two sources are called {name!r}: give each --source its own name.")
        sources.append((name, Path(file)))
    return sources


class LiveCaptionPrinter:
    """Prints committed lines as they are decided; on a terminal, also the tentative text in place."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()

    def show(self, committed: list[Segment], tentative: str) -> None:
        out = self._stream
        if self._tty:
            out.write("\r\033[K")
        for segment in committed:
            out.write(f"[{vtt_time(segment.start_s)}] {labelled(segment)}\n")
        if self._tty and tentative:
            out.write(f"\033[2m{tentative}\033[0m")
        out.flush()


@dataclass
class CollectingSink(QuietSink):
    """Keeps every caption line; ends the pipeline once every file has been read (or one cannot be)."""

    pipeline: LivePipeline | None = None
    printer: LiveCaptionPrinter | None = None
    sources_left: int = 0
    segments: list[Segment] = field(default_factory=list)
    info: ModelInfo | None = None
    failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def _quit(self) -> None:
        assert self.pipeline is not None
        self.pipeline.put(Quit())

    def tentative_changed(self, text: str, source: str) -> None:
        if self.printer is not None:
            self.printer.show([], f"{source}: {text}" if source and text else text)

    def segment_committed(self, segment: Segment) -> None:
        self.segments.append(segment)
        if self.printer is not None:
            self.printer.show([segment], "")

    def model_loaded(self, info: ModelInfo) -> None:
        self.info = info

    def model_failed(self, message: str) -> None:
        self.failures.append(message)
        self._quit()

    def status_message(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def input_failed(self, message: str, source: str) -> None:
        self.failures.append(f"{source}: {message}" if source else message)
        self._quit()

    def input_finished(self, problem: str, source: str) -> None:
        if problem:
            self.problems.append(f"{source}: {problem}" if source else problem)
        self.sources_left -= 1
        if self.sources_left <= 0:
            self._quit()


def _request(args: argparse.Namespace) -> ModelRequest:
    from captioner.cli.transcribe_cmd import resolve_model_dir

    model_dir = resolve_model_dir(args.model)
    spec = load_model_folder(model_dir).spec
    lookaheads = spec.lookaheads_ms()
    if args.lookahead_ms is not None and args.lookahead_ms not in lookaheads:
        raise CaptionerError(f"The model has no {args.lookahead_ms} ms lookahead; it provides "
                             f"{', '.join(f'{ms} ms' for ms in lookaheads)}.")
    if args.decoder not in spec.decoders():
        raise CaptionerError(f"The model has no {args.decoder.upper()} decoder; it provides "
                             f"{', '.join(d.upper() for d in spec.decoders())}.")
    lookahead = args.lookahead_ms if args.lookahead_ms is not None else lookaheads[0]
    return ModelRequest(str(model_dir), args.decoder, lookahead, args.provider, args.language or "",
                        mode=args.mode, threads=args.threads)


def _feeder(path: Path, speed: float) -> InputFactory:
    return lambda: FileFeeder(path, speed=speed)


def run_through_pipeline(args: argparse.Namespace) -> int:
    """Caption ``args.sources`` (or the one ``args.audio``) through the live pipeline; print the merged result."""
    sources = parse_sources(args.sources) if args.sources else [("", Path(args.audio))]
    if args.prefer is not None and args.prefer not in {name for name, _ in sources}:
        raise CaptionerError(f"--prefer {args.prefer!r} names no --source.")
    request = _request(args)
    text_out = TranscriptFormat(args.format) in (TranscriptFormat.TEXT, TranscriptFormat.TIMED_TEXT)
    printer = LiveCaptionPrinter(sys.stdout if text_out else sys.stderr) if args.realtime else None
    sink = CollectingSink(printer=printer, sources_left=len(sources))
    pipeline = LivePipeline(sink, catch_up=bool(args.realtime))
    sink.pipeline = pipeline
    speed = 1.0 if args.realtime else AS_FAST_AS_POSSIBLE
    pipeline.put(LoadModel(request))
    pipeline.put(StartSession(tuple(
        SourceRequest(_feeder(path, speed), name, preferred_on_echo=name == args.prefer) for name, path in sources)))
    pipeline.run()
    if sink.failures:
        raise CaptionerError(" ".join(sink.failures))
    for warning in sink.warnings:
        print(f"captioner: warning: {warning}", file=sys.stderr)
    if printer is None or not text_out:
        _write(args, sink, sources, pipeline.echoes_dropped, sys.stdout)
    for problem in sink.problems:
        print(f"captioner: {problem}", file=sys.stderr)
    return 1 if sink.problems else 0


def _write(args: argparse.Namespace, sink: CollectingSink, sources: list[tuple[str, Path]], echoes: int,
           out: TextIO) -> None:
    fmt = TranscriptFormat(args.format)
    if fmt is TranscriptFormat.TEXT and len(sources) == 1:
        out.write(" ".join(s.text for s in sink.segments if s.text and not s.gap) + "\n")
        return
    if fmt is not TranscriptFormat.JSON:
        out.write(render(sink.segments, fmt))
        return
    info = sink.info
    extra = {"model": info.name, "decoder": info.decoder, "lookahead_ms": info.lookahead_ms,
             "provider": info.provider} if info else {}
    payload = json.loads(render(sink.segments, fmt, **extra))
    if sources[0][0]:
        payload["sources"] = [{"name": name, "file": str(path)} for name, path in sources]
        payload["echoes_dropped"] = echoes
    out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
