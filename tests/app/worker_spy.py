"""Spying on what the GUI asks of the inference worker, for tests that need the request itself."""

from __future__ import annotations

from captioner.app.worker import InferenceWorker


def record_start_times(worker: InferenceWorker) -> list[float | None]:
    """The ``started_at`` of every ``start_captioning`` call from now on (the call still goes through)."""
    started: list[float | None] = []
    real = worker.start_captioning

    def start_captioning(factory=None, started_at=None):  # type: ignore[no-untyped-def]
        started.append(started_at)
        real(factory, started_at)

    worker.start_captioning = start_captioning  # type: ignore[method-assign]
    return started
