"""The pipeline's states, shared by the pipeline, the app's controls and the tray."""

from __future__ import annotations

import enum


class PipelineState(enum.StrEnum):
    IDLE = "idle"
    """No source is open."""
    MONITORING = "monitoring"
    """Sources are open and feed the level meter only; nothing is captioned."""
    RUNNING = "running"
    """A session: audio is captioned."""
    PAUSED = "paused"
    """A session on hold: audio is dropped but the session clock runs on."""

    @property
    def in_session(self) -> bool:
        return self in (PipelineState.RUNNING, PipelineState.PAUSED)
