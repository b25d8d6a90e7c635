"""``captioner transcribe AUDIO``: the same streaming recognizer the app uses, fed from a file.

One file is streamed straight through one recognizer as fast as it goes. Several files (``--source``)
and ``--realtime`` go through the app's live pipeline instead (``transcribe_sources``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from captioner.asr.model_folder import load_model_folder
from captioner.asr.recognizer import StreamingRecognizer, Token
from captioner.asr.segmenter import segment_tokens
from captioner.audio.file_reader import iter_audio_blocks
from captioner.errors import AudioInputError, CaptionerError
from captioner.formats import TranscriptFormat, render
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


def run_transcribe(args: argparse.Namespace) -> int:
    if args.sources or args.realtime:
        if args.sources and args.audio:
            raise CaptionerError("Give either one AUDIO file or --source NAME=FILE options, not both.")
        from captioner.cli.transcribe_sources import run_through_pipeline

        return run_through_pipeline(args)
    if not args.audio:
        raise CaptionerError("Give an AUDIO file to transcribe, or --source NAME=FILE for each of several.")
    if args.prefer is not None:
        raise CaptionerError("--prefer chooses between --source files; with one file there is nothing to choose.")
    folder = load_model_folder(resolve_model_dir(args.model))
    recognizer = StreamingRecognizer(folder, decoder=args.decoder, lookahead_ms=args.lookahead_ms, mode=args.mode,
                                     provider=args.provider, threads=args.threads, language=args.language)
    tokens: list[Token] = []
    broken: AudioInputError | None = None
    blocks = iter_audio_blocks(Path(args.audio), recognizer.sample_rate)
    try:
        for block in blocks:
            tokens += recognizer.accept(block)
    except AudioInputError as exc:
        if recognizer.audio_seconds == 0:
            raise
        broken = exc  # keep what was heard before the break, and say where it was
    tokens += recognizer.finish()
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
