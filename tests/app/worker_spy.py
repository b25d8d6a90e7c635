"""Spying on what the GUI asks of the inference worker, for tests that need the request itself."""

from __future__ import annotations

from captioner.app.worker import InferenceWorker
from captioner.live.commands import SourceRequest


def record_start_times(worker: InferenceWorker) -> list[float | None]:
    """The ``started_at`` of every ``start_session`` call from now on (the call still goes through)."""
    started: list[float | None] = []
    real = worker.start_session

    def start_session(sources: tuple[SourceRequest, ...] | None = None, started_at: float | None = None) -> None:
        started.append(started_at)
        real(sources, started_at)

    worker.start_session = start_session  # type: ignore[method-assign]
    return started
