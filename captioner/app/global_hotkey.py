"""System-wide keyboard shortcuts on X11: leave click-through, start or pause, with the focus anywhere.

Why: in click-through mode the overlay takes no input, and during a meeting the focus is in the
meeting app, where Qt's own shortcuts never fire. X11 lets a client grab a key combination on the
root window (``XGrabKey``); Wayland offers no such thing to applications (the main window's
controls and, where there is one, the tray menu remain).

The grab lives on its own Xlib connection, serviced by a small thread that only waits for key
presses; Qt's connection is untouched. Variants with Caps Lock and Num Lock on are grabbed too, or
the shortcut would silently stop working when one of them is on.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

_KEY_PRESS = 2
_BAD_ACCESS = 10
_MODIFIERS = {"shift": 1 << 0, "ctrl": 1 << 2, "control": 1 << 2, "alt": 1 << 3, "meta": 1 << 6, "super": 1 << 6}
_LOCKS = (0, 1 << 1, 1 << 4, (1 << 1) | (1 << 4))  # none, Caps Lock, Num Lock (Mod2), both


class _XErrorEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("display", ctypes.c_void_p), ("resourceid", ctypes.c_ulong),
                ("serial", ctypes.c_ulong), ("error_code", ctypes.c_ubyte), ("request_code", ctypes.c_ubyte),
                ("minor_code", ctypes.c_ubyte)]


class _XEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("pad", ctypes.c_long * 24)]


_ErrorHandler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_XErrorEvent))


def parse_shortcut(text: str) -> tuple[int, str]:
    """``"Ctrl+Shift+L"`` -> (X modifier mask, key name for ``XStringToKeysym``)."""
    *mods, key = [part.strip() for part in text.split("+")]
    mask = 0
    for mod in mods:
        if mod.lower() not in _MODIFIERS:
            raise ValueError(f"unknown modifier {mod!r} in {text!r}")
        mask |= _MODIFIERS[mod.lower()]
    return mask, key.lower() if len(key) == 1 else key


class GlobalHotkey(QObject):
    """``start()`` grabs the shortcut; ``activated`` is emitted (in the GUI thread) on every press."""

    activated = Signal()

    def __init__(self, shortcut: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.shortcut = shortcut
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 5.0) -> str | None:
        """Grab the shortcut; ``None`` when it works, else why not (in words for the user)."""
        if self._thread is not None:
            return None
        if not os.environ.get("DISPLAY"):
            return "there is no X11 display (on Wayland applications cannot have system-wide shortcuts)"
        name = ctypes.util.find_library("X11")
        if name is None:
            return "the X11 client library (libX11) is not installed"
        outcome: list[str | None] = []
        ready = threading.Event()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(ctypes.CDLL(name), outcome, ready),
                                        name="captioner-hotkey", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            self.stop()
            return "the X server did not answer"
        if outcome[0] is not None:
            self._thread.join(timeout_s)
            self._thread = None
        return outcome[0]

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    # -- the hotkey thread --------------------------------------------------------------------------
    def _run(self, x11: ctypes.CDLL, outcome: list[str | None], ready: threading.Event) -> None:
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultRootWindow.restype = ctypes.c_ulong
        x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x11.XStringToKeysym.restype = ctypes.c_ulong
        x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
        x11.XKeysymToKeycode.restype = ctypes.c_ubyte
        x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x11.XGrabKey.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int,
                                 ctypes.c_int, ctypes.c_int]
        x11.XUngrabKey.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint, ctypes.c_ulong]
        x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x11.XPending.argtypes = [ctypes.c_void_p]
        x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(_XEvent)]
        x11.XConnectionNumber.argtypes = [ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x11.XSetErrorHandler.restype = ctypes.c_void_p
        x11.XSetErrorHandler.argtypes = [ctypes.c_void_p]

        display = x11.XOpenDisplay(None)
        if not display:
            outcome.append(f"cannot open the X display {os.environ.get('DISPLAY')}")
            ready.set()
            return
        try:
            mask, key = parse_shortcut(self.shortcut)
            # Keysym names are case-sensitive ("space", "F5"); Qt writes "Space".
            keysym = x11.XStringToKeysym(key.encode()) or x11.XStringToKeysym(key.lower().encode())
            keycode = x11.XKeysymToKeycode(display, keysym) if keysym else 0
            if not keycode:
                outcome.append(f"this keyboard has no key {key!r}")
                ready.set()
                return
            root = x11.XDefaultRootWindow(display)
            errors: list[int] = []

            def on_error(_display: int, event: Any) -> int:
                errors.append(int(event.contents.error_code))
                return 0

            handler = _ErrorHandler(on_error)
            # Xlib's error handler is per process: ours only while the grabs are checked, then the old one.
            previous = x11.XSetErrorHandler(ctypes.cast(handler, ctypes.c_void_p))
            for lock in _LOCKS:
                x11.XGrabKey(display, keycode, mask | lock, root, 1, 1, 1)  # owner_events, GrabModeAsync x2
            x11.XSync(display, 0)
            x11.XSetErrorHandler(previous)
            if errors:
                for lock in _LOCKS:
                    x11.XUngrabKey(display, keycode, mask | lock, root)
                x11.XSync(display, 0)
                taken = _BAD_ACCESS in errors
                outcome.append(f"{self.shortcut} is already taken by another application" if taken
                               else f"the X server refused the shortcut (error {errors[0]})")
                ready.set()
                return
            outcome.append(None)
            ready.set()
            event = _XEvent()
            fd = x11.XConnectionNumber(display)
            while not self._stop.is_set():
                while x11.XPending(display):
                    x11.XNextEvent(display, ctypes.byref(event))
                    if event.type == _KEY_PRESS:
                        self.activated.emit()
                select.select([fd], [], [], 0.2)
        finally:
            x11.XCloseDisplay(display)


def system_wide_shortcut(shortcut: str, platform: str,
                         parent: QObject | None = None) -> tuple[GlobalHotkey | None, str]:
    """A started ``GlobalHotkey`` for ``shortcut`` where the Qt ``platform`` allows one, else ``None``; and a note."""
    if platform != "xcb":
        return None, f"{shortcut} works while a Captioner window has the focus (system-wide shortcuts need X11)"
    hotkey = GlobalHotkey(shortcut, parent)
    problem = hotkey.start()
    if problem is not None:
        return None, f"{shortcut} works only while a Captioner window has the focus: {problem}"
    return hotkey, f"{shortcut} works system-wide"
