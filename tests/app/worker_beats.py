"""Waiting on the inference worker instead of sleeping: its stats signal as a heartbeat.

The worker emits ``statsUpdated`` from its own thread at the end of a loop step, at most every
``STATS_EVERY_S``. A stats signal *emitted* after a moment proves that the step it ends, and every
step before, is over; once it is *delivered* to the GUI thread, so is every signal the worker emitted
before it (queued signals from one thread arrive in the order they were emitted). Tests use it to
prove that something did not happen (no more captions, no further state change, no audio) without a
fixed wait, and to read what the worker had done at a known moment (``probe`` runs in its thread).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from pytestqt.qtbot import QtBot

from captioner.app.worker import InferenceWorker, Stats


@dataclass(frozen=True)
class Beat:
    emitted: float
    """``time.monotonic()`` in the worker's thread when the stats signal was emitted."""
    stats: Stats
    probe: Any
    """What ``probe`` returned in the worker's thread at that moment (None without one)."""


class _Relay(QObject):
    beat = Signal(object)


class Heartbeat:
    """Every stats signal of ``worker`` from now on, stamped in the worker's thread, in ``beats`` once delivered."""

    def __init__(self, worker: InferenceWorker, probe: Callable[[], Any] | None = None) -> None:
        self.beats: list[Beat] = []
        self._probe = probe
        self._relay = _Relay()
        self._relay.beat.connect(self.beats.append)  # queued: after everything the worker emitted before
        worker.statsUpdated.connect(self._stamp, Qt.ConnectionType.DirectConnection)

    def _stamp(self, stats: Stats) -> None:  # the worker's thread, inside its emission
        self._relay.beat.emit(Beat(time.monotonic(), stats, self._probe() if self._probe else None))

    def wait(self, qtbot: QtBot, after: float | None = None, where: Callable[[Beat], bool] = lambda _: True,
             timeout: int = 10_000) -> Beat:
        """The first delivered beat emitted after ``after`` (default: now) for which ``where`` holds."""
        since = time.monotonic() if after is None else after
        found: list[Beat] = []

        def seen() -> bool:
            found[:] = [b for b in self.beats if b.emitted > since and where(b)][:1]
            return bool(found)

        qtbot.waitUntil(seen, timeout=timeout)
        return found[0]

    def settle(self, qtbot: QtBot, timeout: int = 10_000) -> Beat:
        """Wait until every command sent to the worker before this call has been carried out and every
        signal it emitted meanwhile has been delivered.

        Two beats emitted after now: the worker takes its commands between steps and emits at most one
        stats signal per step, so the step the second one ends began after the first, with the queue read.
        """
        first = self.wait(qtbot, timeout=timeout)
        return self.wait(qtbot, after=first.emitted, timeout=timeout)


def round_trip(qtbot: QtBot, worker: InferenceWorker, nowhere: Any) -> list[str]:
    """Send the worker one more command and wait for its answer: every command sent before has then been
    carried out (the worker takes them in order) and every signal it emitted before has been delivered.

    Works in every state, with no input or no session too. The command is a load of ``nowhere``, a
    ``ModelRequest`` for a folder that does not exist: it fails and changes nothing (the model, the
    session and the sources stay as they were). Returns the model-failure messages of the round trip,
    the answer last.
    """
    failures: list[str] = []
    worker.modelFailed.connect(failures.append)
    worker.load_model(nowhere)
    qtbot.waitUntil(lambda: any(nowhere.model_dir in m for m in failures), timeout=30_000)
    return failures


def nowhere(controller: Any, folder: Path) -> Any:
    """A request like ``controller``'s for a model folder that does not exist under ``folder`` (for ``round_trip``)."""
    request = controller.model_request()
    assert request is not None
    return dataclasses.replace(request, model_dir=str(folder / "no-model-here"))
