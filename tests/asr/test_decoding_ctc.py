"""CTC greedy decoding: repeats collapse across chunk boundaries exactly as over the whole sequence."""

from __future__ import annotations

import numpy as np
import pytest

from captioner.asr.decoding import CtcGreedyDecoder

BLANK = 5


def _one_hot(ids: list[int]) -> np.ndarray:
    out = np.full((len(ids), BLANK + 1), -10.0, np.float32)
    out[np.arange(len(ids)), ids] = 0.0
    return out


def _whole(ids: list[int]) -> list[int]:
    result, prev = [], -1
    for i in ids:
        if i != BLANK and i != prev:
            result.append(i)
        prev = i
    return result


@pytest.mark.parametrize("split", [1, 2, 3, 4, 7])
def test_chunked_equals_whole(split: int) -> None:
    frames = [1, 1, 1, BLANK, 1, 2, 2, BLANK, BLANK, 3, 3, 4, BLANK, 4, 4]
    decoder = CtcGreedyDecoder(BLANK)
    tokens = []
    for start in range(0, len(frames), split):
        tokens += decoder.decode(_one_hot(frames[start : start + split]), first_frame=start)
    assert [t.id for t in tokens] == _whole(frames) == [1, 1, 2, 3, 4, 4]
    assert [t.frame for t in tokens] == [0, 4, 5, 9, 11, 13]


def test_repeat_across_boundary_is_one_token() -> None:
    decoder = CtcGreedyDecoder(BLANK)
    assert [t.id for t in decoder.decode(_one_hot([2, 2]), 0)] == [2]
    assert decoder.decode(_one_hot([2, 2]), 2) == []
    decoder.reset()
    assert [t.id for t in decoder.decode(_one_hot([2]), 0)] == [2]
