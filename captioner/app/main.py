"""``captioner`` with no subcommand: the desktop app, plus ``--input-file`` and ``--smoke-test``.

``main(argv)`` is what the CLI calls; ``create_app(argv)`` builds the running app without entering
the event loop, for tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from captioner.app.controller import CaptionerController
from captioner.app.icons import app_icon
from captioner.app.options import build_parser
from captioner.app.settings import AppSettings, load_settings, open_qsettings
from captioner.app.theme import apply_theme
from captioner.logging_setup import setup_logging


def _qapp() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication([sys.argv[0] if sys.argv else "captioner"])
    app.setApplicationName("Captioner")
    app.setOrganizationName("Captioner")
    app.setApplicationDisplayName("Captioner")
    app.setDesktopFileName("captioner")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)
    return app


def _settings(args: argparse.Namespace) -> tuple[AppSettings, QSettings]:
    qs = QSettings(args.settings, QSettings.Format.IniFormat) if args.settings else open_qsettings()
    settings = load_settings(qs)
    if args.model:
        settings.model_dir = str(Path(args.model).expanduser().resolve())
    elif not settings.model_dir:
        from captioner.paths import default_model_dir

        found = default_model_dir()
        settings.model_dir = str(found) if found else ""
    return settings, qs


def create_app(argv: list[str]) -> CaptionerController:
    """Parse ``argv`` and build the app (window shown, worker running) without running the event loop."""
    args = build_parser().parse_args(argv)
    app = _qapp()
    settings, qs = _settings(args)
    apply_theme(app, settings.app_theme)
    input_file = Path(args.input_file).expanduser() if args.input_file else None
    controller = CaptionerController(settings, qs, input_file=input_file, speed=args.speed,
                                     quit_when_done=args.quit_when_done)
    controller.show()
    if args.autostart or input_file is not None:
        _start_when_model_ready(controller)
    return controller


def _start_when_model_ready(controller: CaptionerController) -> None:
    if controller.model_info is not None:
        controller.start()
        return

    def go(*_: object) -> None:
        controller.worker.modelLoaded.disconnect(go)
        controller.start()

    controller.worker.modelLoaded.connect(go)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    setup_logging(debug=args.debug)
    if args.smoke_test:
        return smoke_test(args)
    if args.input_file and not Path(args.input_file).expanduser().is_file():
        print(f"captioner: error: {args.input_file} does not exist or is not a file.", file=sys.stderr)
        return 2
    app = _qapp()
    instance = None
    if not args.input_file:  # a file run is a batch job beside the app, not a second app
        from captioner.app.single_instance import InstanceServer, ask_running_instance_to_show, server_name

        name = server_name(str(Path(args.settings).expanduser().resolve()) if args.settings else "")
        if ask_running_instance_to_show(name):
            print("Captioner is already running; its window was brought to the front.", file=sys.stderr)
            return 0
        instance = InstanceServer(name)
    controller = create_app(argv)
    if instance is not None:
        instance.showRequested.connect(controller.show_window)
    code = app.exec()
    controller.shutdown()
    if instance is not None:
        instance.close()
    return code


def smoke_test(args: argparse.Namespace) -> int:
    """Exercise every layer once without a user; prints one JSON object, exit 0 when all worked."""
    report: dict[str, Any] = {"ok": False, "python": sys.version.split()[0], "errors": []}
    started = time.perf_counter()
    try:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        app = _qapp()
        report["qt"] = {"pyside6": pyside_version, "qt": qVersion(), "platform": app.platformName()}
        settings, _ = _settings(args)
        from captioner.app.main_window import MainWindow
        from captioner.app.overlay import CaptionOverlay

        window = MainWindow()
        overlay = CaptionOverlay(settings.overlay)
        window.show()
        overlay.place_default()
        app.processEvents()
        from captioner.app.controller import LEAVE_CLICK_THROUGH
        from captioner.app.global_hotkey import system_wide_shortcut

        hotkey, note = system_wide_shortcut(LEAVE_CLICK_THROUGH, app.platformName())
        if hotkey is not None:
            hotkey.stop()
        report["window"] = {"built": True, "overlay_lines": settings.overlay.lines,
                            "leave_click_through": {"system_wide": hotkey is not None, "note": note}}
        window.close()
        overlay.close()
    except Exception as exc:
        report["errors"].append(f"window: {type(exc).__name__}: {exc}")
        settings = AppSettings()
    report["model"] = _smoke_model(settings, report["errors"])
    report["audio"] = _smoke_audio(report["errors"])
    report["seconds"] = round(time.perf_counter() - started, 3)
    report["ok"] = not report["errors"]
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report["ok"] else 1


def _smoke_model(settings: AppSettings, errors: list[str]) -> dict[str, Any]:
    from captioner.errors import CaptionerError
    from captioner.live.model_loading import ModelRequest, load_live_model

    if not settings.model_dir:
        errors.append("model: no model folder (pass --model DIR)")
        return {"loaded": False}
    try:
        import numpy as np

        model = load_live_model(ModelRequest(settings.model_dir, settings.decoder, settings.lookahead_ms,
                                             settings.provider))
        info = model.info
        rec = model.new_stream()
        rec.accept(np.zeros(rec.sample_rate, dtype=np.float32))
        rec.finish()
    except CaptionerError as exc:
        errors.append(f"model: {exc}")
        return {"loaded": False, "path": settings.model_dir}
    return {"loaded": True, "name": info.name, "path": info.path, "decoder": info.decoder,
            "lookahead_ms": info.lookahead_ms, "lookaheads_ms": list(info.lookaheads_ms),
            "provider": info.provider, "load_seconds": round(info.load_s, 3)}


def _smoke_audio(errors: list[str]) -> dict[str, Any]:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        errors.append(f"audio: {exc}")
        return {"portaudio": None}
    from captioner.audio.devices import list_sources

    sources = list_sources()
    out: dict[str, Any] = {
        "portaudio": sd.get_portaudio_version()[1],
        # Which copy was loaded: an installer's bundled one or the system's (see packaging/hooks).
        "library": str(getattr(sd, "_libname", "")),
        "host_apis": [h["name"] for h in sd.query_hostapis()],
        "sources": [{"key": s.key, "label": s.label, "kind": s.kind, "rate": s.sample_rate} for s in sources],
        "pulse_server": os.environ.get("PULSE_SERVER") or os.environ.get("PULSE_RUNTIME_PATH"),
    }
    if sources:
        from captioner.audio.capture import DeviceCapture

        cap = DeviceCapture(sources[0])
        try:
            cap.open()
            opened = time.monotonic()
            # "Listening" is the first audio block in the ring buffer, not the open call: a sound server can
            # take a while to deliver. Its wall-clock time lets a launcher measure launch-to-listening.
            while cap.ring.frames_written == 0 and time.monotonic() - opened < 2.0:
                time.sleep(0.005)
            listening_at = time.time() if cap.ring.frames_written else None
            time.sleep(max(0.0, 0.3 - (time.monotonic() - opened)))
            out["opened"] = {"source": sources[0].label, "frames": cap.ring.frames_written,
                             "rate": cap.sample_rate, "listening_at_unix": listening_at}
        except Exception as exc:
            out["opened"] = {"source": sources[0].label, "error": str(exc)}
        finally:
            cap.close()
    return out
