"""Stop training cleanly on Ctrl+C or SIGTERM: finish the step, write the checkpoint, then exit.

A run on two CPU cores takes hours and is often stopped by hand; killed mid-way it would lose up to
``--checkpoint-every`` steps. A second signal stops at once, as usual.
"""

from __future__ import annotations

import signal
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Records the first SIGINT/SIGTERM instead of dying; the training loop polls ``requested``."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous = {s: signal.getsignal(s) for s in SIGNALS}
        for s in SIGNALS:
            signal.signal(s, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = signal.Signals(signum).name
        self.restore()  # the next one acts at once (KeyboardInterrupt, or termination)

    def restore(self) -> None:
        """Put the handlers back as they were before."""
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def ignore_interrupts_in_worker(_worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: a terminal's Ctrl+C reaches the whole process group, and a worker
    that died of it would break the batch the main process still needs to finish its step."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
