"""The ``captioner`` command: the app by default, or ``inspect`` / ``transcribe`` / ``export``.

Errors a user can fix print one paragraph and exit non-zero, never a traceback (``--debug`` shows
one). Heavy imports (onnxruntime, Qt, NeMo) happen inside each command so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from captioner.asr.choices import Decoder, Provider, StreamingMode
from captioner.errors import CaptionerError
from captioner.logging_setup import CLI_LOG, FILE_ONLY, setup_logging

log = logging.getLogger(__name__)
DEBUG_HELP = "show tracebacks for errors, and log details (caption text included) to the log file and stderr"

FORMATS = ("text", "timed-text", "srt", "vtt", "json")
"""``captioner.formats.TranscriptFormat``'s values, spelled out so ``--help`` needs no engine import."""

SUBCOMMANDS = ("inspect", "transcribe", "import", "models", "export", "quantize")


def build_parser() -> argparse.ArgumentParser:
    from captioner.app.options import build_parser as app_parser

    app_help = app_parser().format_help().split("\n", 1)[1]  # the app's options, without its usage line
    parser = argparse.ArgumentParser(
        prog="captioner",
        description="Live, private captions from a NeMo cache-aware streaming model running on this machine. "
        "Without a command, opens the app.",
        epilog="The app (captioner [OPTIONS], no command):\n" + app_help.split("options:", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    inspect = commands.add_parser("inspect", help="check a model folder and describe its graphs")
    inspect.add_argument("model_dir", metavar="MODEL_DIR")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    transcribe = commands.add_parser("transcribe", help="stream an audio file through the recognizer")
    transcribe.add_argument("audio", metavar="AUDIO", nargs="?", help="the file to transcribe")
    transcribe.add_argument("--source", dest="sources", action="append", metavar="NAME=FILE",
                            help="caption several files at once as the app captions a microphone and system "
                                 "audio: each labelled NAME, merged by time (repeat for each file)")
    transcribe.add_argument("--prefer", metavar="NAME",
                            help="with --source: words heard on two sources at once (a microphone hearing the "
                                 "speakers) are shown once, as NAME's (default: keep both)")
    transcribe.add_argument("--model", metavar="DIR", help="model folder (default: the bundled model)")
    transcribe.add_argument("--decoder", type=Decoder, choices=list(Decoder), default=Decoder.RNNT)
    transcribe.add_argument("--lookahead-ms", type=int, metavar="MS",
                            help="one of the lookaheads the model provides (default: the model's first)")
    transcribe.add_argument("--mode", type=StreamingMode, choices=list(StreamingMode),
                            help="streaming mode: NeMo's A (default when the folder has a first-chunk graph) or B, "
                                 "or S as sherpa-onnx streams (the default for sherpa-onnx packs)")
    transcribe.add_argument("--format", choices=FORMATS, default="text",
                            help="text (one line), timed-text ([hh:mm:ss] per caption line), srt, vtt or json")
    transcribe.add_argument("--realtime", action="store_true",
                            help="feed the audio at wall-clock speed and print captions as they appear")
    transcribe.add_argument("--provider", type=Provider, choices=list(Provider), default=Provider.AUTO)
    transcribe.add_argument("--threads", type=int, metavar="N", help="ONNX Runtime intra-op threads")
    transcribe.add_argument("--language", metavar="LOCALE",
                            help="for language-prompt models: the locale to transcribe (default: the model's "
                                 "automatic setting); `captioner inspect` lists them")

    import_ = commands.add_parser(
        "import", help="convert a NeMo .nemo checkpoint into a model folder (no NeMo or PyTorch needed)")
    import_.add_argument("nemo", metavar="MODEL.nemo")
    import_.add_argument("out_dir", metavar="OUT_DIR")
    import_.add_argument("--lookahead-ms", type=int, nargs="+", metavar="MS",
                         help="lookaheads to build (default: all the model was trained with)")
    import_.add_argument("--weights", choices=("float32", "float16"), default="float32",
                         help="float16: round the weights to float16 and store them so, for a folder half the "
                              "size (computed in float32; tokens may differ slightly)")
    import_.add_argument("--attention-cache", choices=("projected-kv", "layer-inputs"), default="projected-kv",
                         help="projected-kv (default): cache projected keys and values, the fast streaming graph; "
                              "layer-inputs: NeMo's own layout (the same numbers, more work per chunk)")
    import_.add_argument("--quiet", action="store_true", help="print only the result")

    models = commands.add_parser("models", help="list, download, import, remove or choose models")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="installed models and the catalogue")
    download = actions.add_parser("download", help="download a catalogue model (or a .nemo URL) and import it")
    download.add_argument("name", metavar="NAME|URL")
    download.add_argument("--sha256", metavar="HEX", help="for a URL: the file's published SHA-256")
    download.add_argument("--accept-licence", action="store_true", help="accept the model's licence (shown first)")
    models_import = actions.add_parser("import", help="import a local .nemo file into the models folder")
    models_import.add_argument("path", metavar="PATH")
    remove = actions.add_parser("remove", help="delete an installed model")
    remove.add_argument("name", metavar="NAME")
    use = actions.add_parser("use", help="make an installed model the app's model")
    use.add_argument("name", metavar="NAME")

    export = commands.add_parser("export", help="export a NeMo .nemo model for Captioner (needs captioner[export])")
    export.add_argument("nemo", metavar="MODEL.nemo")
    export.add_argument("out_dir", metavar="OUT_DIR")
    export.add_argument("--lookahead-ms", type=int, nargs="+", metavar="MS",
                        help="lookaheads to export (default: all the model was trained with)")
    export.add_argument("--decoder", choices=("rnnt", "ctc", "both"), default="both")
    export.add_argument("--no-verify", action="store_true", help="skip the NeMo-vs-ONNX token check")
    export.add_argument("--separate-weights", action="store_true",
                        help="keep every graph self-contained instead of sharing one weights.bin (a folder "
                             "about twice the number of lookaheads larger)")
    export.add_argument("--weights", choices=("float32", "float16"), default="float32",
                        help="float16: round the weights to float16 and store them so, for a folder half the "
                             "size; computed in float32, verified against the rounded model (tokens may differ "
                             "slightly from float32)")

    quantize = commands.add_parser(
        "quantize", help="write a copy with quantised encoder MatMul weights (faster on CPU; tokens may differ)")
    quantize.add_argument("model_dir", metavar="MODEL_DIR")
    quantize.add_argument("out_dir", metavar="OUT_DIR")
    quantize.add_argument("--scheme", choices=("int8-matmul", "int8-block", "int4-block"), default="int8-matmul",
                          help="int8-matmul: dynamic int8 (default); int8-block / int4-block: weight-only "
                               "MatMulNBits with a scale per block of rows (smaller and faster to read)")
    quantize.add_argument("--block-size", type=int, default=32, choices=(16, 32, 64, 128, 256))
    quantize.add_argument("--accuracy-level", type=int, default=4, choices=(0, 1, 4),
                          help="MatMulNBits: 4 also quantises activations inside the kernel (faster), 0/1 keep them "
                               "float32")
    _debug_after_the_command_too(parser)
    return parser


def _debug_after_the_command_too(parser: argparse.ArgumentParser) -> None:
    """``captioner transcribe a.wav --debug`` as well as ``captioner --debug transcribe a.wav``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.add_argument("-v", "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
                _debug_after_the_command_too(command)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not any(a in SUBCOMMANDS for a in args_list if not a.startswith("-")) and "-h" not in args_list \
            and "--help" not in args_list:
        from captioner.app.main import main as app_main

        return app_main(args_list)
    parser = build_parser()
    args = parser.parse_args(args_list)
    setup_logging(debug=args.debug, file_name=CLI_LOG)
    log.info("captioner %s", args.command)
    log.debug("Arguments: %s", args_list)
    try:
        if args.command == "inspect":
            from captioner.cli.inspect_cmd import run_inspect

            return run_inspect(args)
        if args.command == "transcribe":
            from captioner.cli.transcribe_cmd import run_transcribe

            return run_transcribe(args)
        if args.command == "import":
            from captioner.cli.import_cmd import run_import

            return run_import(args)
        if args.command == "models":
            from captioner.cli.models_cmd import run_models

            return run_models(args)
        if args.command == "quantize":
            from captioner.cli.export_cmd import run_quantize

            return run_quantize(args)
        from captioner.cli.export_cmd import run_export

        return run_export(args)
    except CaptionerError as exc:
        log.info("Stopped: %s", exc)
        if args.debug:
            raise
        print(f"captioner: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `captioner inspect DIR | head`: the reader left, nothing went wrong
        sys.stderr.close()
        return 0
    except Exception as exc:  # a bug, not a user error: say so in one line
        if args.debug:
            raise  # the uncaught-exception hook logs it
        log.error("Internal error", exc_info=True, extra=FILE_ONLY)
        print(f"captioner: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
              file=sys.stderr)
        return 3
