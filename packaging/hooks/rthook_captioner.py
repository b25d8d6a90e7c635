"""PyInstaller runtime hook: runs in the frozen app before any of its own code.

* Windows windowed builds (``console=False``) start with ``sys.stdout``/``sys.stderr`` set to ``None``;
  ``print`` copes, but logging, ``warnings``, ``faulthandler`` and tracebacks write to them and raise.
  stdout goes to the null device and stderr to a log file the user can send with a bug report.
* On Linux PyInstaller does not redirect ``ctypes.util.find_library`` into the bundle (it does only on
  Windows), so sounddevice would load the system's PortAudio, or fail without one, instead of the
  copy bundled next to it. Bundled libraries are tried first, then the system's.
* ONNX Runtime's telemetry is switched off before anything can import it (``captioner/__init__.py`` does the
  same for every other entry point): Captioner sends nothing anywhere. numpy's OpenBLAS gets one thread
  unless the user asks for more (``captioner/__init__.py`` says why).
* A frozen app does not get the interpreter's C-locale coercion (PEP 538): started with no locale (from
  systemd, cron, a bare ``env -i``) Qt warns on stderr and falls back to ASCII. As Python itself would,
  a C/POSIX ``LC_CTYPE`` becomes ``C.UTF-8`` (``LC_ALL``, when set, is the user's explicit choice).
"""

from __future__ import annotations

import os
import sys

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _stdio() -> None:
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        log_dir = os.path.join(os.environ.get("LOCALAPPDATA") or os.path.expanduser("~"), "Captioner")
        try:
            os.makedirs(log_dir, exist_ok=True)
            sys.stderr = open(os.path.join(log_dir, "captioner-errors.log"), "a", encoding="utf-8")  # noqa: SIM115
        except OSError:
            sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def _bundled_find_library() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes.util

    bundle = getattr(sys, "_MEIPASS", None)
    if not bundle:
        return
    system_find_library = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        prefix = f"lib{name}.so"
        try:
            found = sorted(f for f in os.listdir(bundle) if f == prefix or f.startswith(prefix + "."))
        except OSError:
            found = []
        return os.path.join(bundle, found[0]) if found else system_find_library(name)

    ctypes.util.find_library = find_library


def _utf8_locale() -> None:
    if sys.platform == "win32" or os.environ.get("LC_ALL"):
        return
    ctype = os.environ.get("LC_CTYPE") or os.environ.get("LANG") or "C"
    if ctype in ("C", "POSIX"):
        os.environ["LC_CTYPE"] = "C.UTF-8"


_stdio()
_bundled_find_library()
_utf8_locale()
