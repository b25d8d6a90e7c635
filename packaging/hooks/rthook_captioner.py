"""PyInstaller runtime hook: runs in the frozen app before any of its own code.

* Windows windowed builds (``console=False``) start with ``sys.stdout``/``sys.stderr`` set to ``None``;
  ``print`` copes, but logging, ``warnings``, ``faulthandler`` and tracebacks write to them and raise.
  stdout goes to the null device and stderr to a log file the user can send with a bug report.
* On Linux PyInstaller does not redirect ``ctypes.util.find_library`` into the bundle (it does only on
  Windows), so sounddevice would load the system's PortAudio, or fail without one, instead of the
  copy bundled next to it. Bundled libraries are tried first, then the system's.
"""

from __future__ import annotations

import os
import sys


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


_stdio()
_bundled_find_library()
