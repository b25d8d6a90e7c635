"""Guard against a PySide6 reference-count bug that aborts long-running apps on Python < 3.12.

PySide6 6.12.0 returns ``None`` (from every void method: ``update()``, ``processEvents()``, …) and
``True`` (from ``SignalInstance.emit``) without taking a reference, as if they were immortal — which
they only are from Python 3.12. On 3.10/3.11 each call drops one reference, and after enough calls
the interpreter aborts with "none_dealloc"/"bool_dealloc: deallocating …". PySide6 6.11 is fine.

We detect the leak once at start-up and, only if it is there, give the affected singletons a
practically infinite reference count — exactly what Python 3.12 does for them.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_PAD = 1 << 40  # ~10^12 leaked references before it could matter
_SINGLETONS: tuple[object, ...] = (None, True, False)


class _Probe(QObject):
    ping = Signal()


def leaking_singletons() -> list[object]:
    """Which of ``None``/``True``/``False`` lose a reference on void calls and emits here."""
    probe = _Probe()
    before = [sys.getrefcount(o) for o in _SINGLETONS]
    for _ in range(8):
        probe.ping.emit()
        probe.setObjectName("probe")
        probe.blockSignals(False)
    after = [sys.getrefcount(o) for o in _SINGLETONS]
    probe.deleteLater()
    return [o for o, b, a in zip(_SINGLETONS, before, after, strict=True) if a < b]


def apply() -> list[object]:
    """Make the leaking singletons effectively immortal; returns those it padded."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return []
    leaking = leaking_singletons()
    for obj in leaking:
        # ob_refcnt is the first field of every PyObject in CPython < 3.12.
        ctypes.c_ssize_t.from_address(id(obj)).value += _PAD
    return leaking
