"""Training clips made of several utterances in a row, as a live stream is.

A model trained on one sentence per clip never hears a second one, and streamed continuously its
RNNT falls silent after the first sentence (README, *Why the code is as it is*). Each epoch therefore
sees every utterance once on its own and once inside a "stream" of 2 to ``max_utterances``
consecutive utterances (often different voices: several speakers), separated by pauses. Token ids
of a stream are the concatenation of its utterances' ids: SentencePiece pieces never span a space,
so that equals tokenizing the joined text.
"""

from __future__ import annotations

import random

import numpy as np


def group_streams(lengths: list[int], rng: random.Random, max_samples: int, max_utterances: int = 4,
                  pause_samples: int = 0) -> list[list[int]]:
    """Split ``range(len(lengths))`` into runs of 2..``max_utterances`` consecutive indices.

    A run's total length, with ``pause_samples`` (the longest pause) between utterances, stays within
    ``max_samples``; an utterance that fits with no neighbour is left out (it is trained on its own).
    """
    streams: list[list[int]] = []
    i = 0
    while i < len(lengths):
        want = rng.randint(2, max_utterances)
        run = [i]
        total = lengths[i]
        while len(run) < want and i + len(run) < len(lengths):
            nxt = i + len(run)
            if total + pause_samples + lengths[nxt] > max_samples:
                break
            total += pause_samples + lengths[nxt]
            run.append(nxt)
        if len(run) >= 2:
            streams.append(run)
        i += len(run)
    return streams


def stream_length(lengths: list[int], stream: list[int], pause_samples: int) -> int:
    """Upper bound of a stream's length in samples (every pause at its longest)."""
    return sum(lengths[i] for i in stream) + pause_samples * (len(stream) - 1)


def join_stream(clips: list[np.ndarray], rng: np.random.Generator, pause_s: tuple[float, float],
                sample_rate: int) -> np.ndarray:
    """The clips one after another with a random pause in ``pause_s`` (seconds) between each two."""
    parts: list[np.ndarray] = []
    for k, clip in enumerate(clips):
        if k:
            parts.append(np.zeros(int(rng.uniform(*pause_s) * sample_rate), np.float32))
        parts.append(clip.astype(np.float32, copy=False))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)
