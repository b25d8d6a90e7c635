"""``captioner transcribe AUDIO``: the same streaming recognizer the app uses, fed from a file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from captioner.asr.errors import AudioInputError, CaptionerError
from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, Token
from captioner.asr.segmenter import CaptionSegmenter, Segment, segment_tokens
from captioner.audiofile import iter_audio_blocks
from captioner.formats import TranscriptFormat, render, vtt_time
from captioner.paths import MODEL_ENV, default_model_dir


def resolve_model_dir(given: str | None) -> Path:
    if given:
        return Path(given)
    found = default_model_dir()
    if found is None:
        raise CaptionerError(
            f"No model folder given and no bundled model found. Pass --model DIR (a folder written by "
            f"`captioner export`) or set {MODEL_ENV}."
        )
    return found


class LiveCaptionPrinter:
    """Prints committed lines as they are decided; on a terminal, also the tentative line in place."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()

    def show(self, committed: list[Segment], tentative: str) -> None:
        out = self._stream
        if self._tty:
            out.write("\r\033[K")
        for segment in committed:
            out.write(f"[{vtt_time(segment.start_s)}] {segment.text}\n")
        if self._tty and tentative:
            out.write(f"\033[2m{tentative}\033[0m")
        out.flush()


def run_transcribe(args: argparse.Namespace) -> int:
    folder = load_model_folder(resolve_model_dir(args.model))
    recognizer = StreamingRecognizer(folder, decoder=args.decoder, lookahead_ms=args.lookahead_ms, mode=args.mode,
                                     provider=args.provider, threads=args.threads, language=args.language)
    live = None
    segmenter = None
    if args.realtime:
        live = LiveCaptionPrinter(sys.stdout if args.format == "text" else sys.stderr)
        segmenter = CaptionSegmenter(recognizer.tokenizer.decode, recognizer.frame_s)
    tokens: list[Token] = []
    started = time.monotonic()
    broken: AudioInputError | None = None
    blocks = iter_audio_blocks(Path(args.audio), recognizer.sample_rate)
    try:
        for block in blocks:
            if args.realtime:
                delay = started + recognizer.audio_seconds - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            new = recognizer.accept(block)
            tokens += new
            if live and segmenter:
                update = segmenter.push(new, recognizer.decoded_seconds)
                live.show(update.committed, update.tentative)
    except AudioInputError as exc:
        if recognizer.audio_seconds == 0:
            raise
        broken = exc  # keep what was heard before the break, and say where it was
    new = recognizer.finish()
    tokens += new
    if live and segmenter:
        live.show(segmenter.push(new, recognizer.decoded_seconds).committed + segmenter.flush(), "")
    if not (live and args.format == "text"):
        write_result(args, recognizer, tokens, sys.stdout)
    if recognizer.nonfinite_samples:
        print(f"captioner: warning: {recognizer.nonfinite_samples} samples of {args.audio} were not numbers (NaN or "
              "infinity) and were treated as silence.", file=sys.stderr)
    if recognizer.stream_resets:
        print(f"captioner: warning: the model produced invalid values {recognizer.stream_resets} times; "
              f"{recognizer.lost_seconds:.1f} s of audio went uncaptioned. The model folder may be damaged: check it "
              "with `captioner inspect`.", file=sys.stderr)
    if broken is not None:
        print(f"captioner: {broken} The transcript covers the audio before that point.", file=sys.stderr)
        return 1
    return 1 if recognizer.stream_resets else 0


def write_result(args: argparse.Namespace, recognizer: StreamingRecognizer, tokens: list[Token], out: TextIO) -> None:
    ids = [t.id for t in tokens]
    fmt = TranscriptFormat(args.format)
    if fmt is TranscriptFormat.TEXT:
        out.write(recognizer.tokenizer.decode(ids).strip() + "\n")
        return
    segments = segment_tokens(tokens, recognizer.tokenizer.decode, recognizer.frame_s)
    if fmt is not TranscriptFormat.JSON:
        out.write(render(segments, fmt))
        return
    payload = json.loads(render(
        segments,
        fmt,
        model=recognizer.spec.name,
        decoder=recognizer.decoder_name,
        lookahead_ms=recognizer.spec.lookaheads_ms()[recognizer.spec.streaming.index(recognizer.streaming)],
        mode=recognizer.mode,
        provider=recognizer.provider,
        audio_seconds=round(recognizer.audio_seconds, 3),
    ))
    payload["text"] = recognizer.tokenizer.decode(ids).strip()
    payload["token_ids"] = ids
    payload["tokens"] = [{"id": t.id, "text": t.text, "frame": t.frame, "start": round(t.start_s, 3)}
                         for t in tokens]
    out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
