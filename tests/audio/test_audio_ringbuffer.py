"""The SPSC ring buffer: order preserved across wrap-around, overruns dropped, counted and placed."""

from __future__ import annotations

import threading

import numpy as np

from captioner.audio.ringbuffer import RingBuffer


def _ramp(start: int, n: int, channels: int = 2) -> np.ndarray:
    col = np.arange(start, start + n, dtype=np.float32)
    return np.repeat(col[:, None], channels, axis=1)


def test_fifo_order_across_wraparound() -> None:
    ring = RingBuffer(10, 2)
    got = []
    pos = 0
    for n in (3, 4, 6, 2, 7, 5):
        assert ring.write(_ramp(pos, n)) == n
        pos += n
        got.append(ring.read())
    flat = np.concatenate(got)
    np.testing.assert_array_equal(flat[:, 0], np.arange(pos, dtype=np.float32))
    assert ring.overrun_frames == 0
    assert ring.frames_written == ring.frames_read == pos


def test_overrun_drops_newest_and_counts() -> None:
    ring = RingBuffer(8, 1)
    assert ring.write(_ramp(0, 6, 1)) == 6
    assert ring.write(_ramp(6, 5, 1)) == 2
    assert ring.overrun_frames == 3 and ring.overrun_events == 1
    np.testing.assert_array_equal(ring.read()[:, 0], np.arange(8, dtype=np.float32))


def test_overrun_and_outage_leave_holes_where_audio_is_missing() -> None:
    ring = RingBuffer(8, 1)
    ring.write(_ramp(0, 6, 1))
    ring.write(_ramp(6, 5, 1))  # 2 stored, 3 dropped after frame 8
    assert ring.next_hole() == 8 and ring.take_missing() == 0  # not reached yet
    assert len(ring.read(5)) == 5
    ring.add_hole(0)  # nothing missing: no hole
    assert list(ring.holes) == [(8, 3)]
    assert len(ring.read()) == 3
    ring.add_hole(10)  # a device outage right after the overrun
    assert ring.take_missing() == 13 and ring.next_hole() is None


def test_partial_read_and_skip() -> None:
    ring = RingBuffer(16, 1)
    ring.write(_ramp(0, 12, 1))
    np.testing.assert_array_equal(ring.read(5)[:, 0], np.arange(5, dtype=np.float32))
    assert ring.skip(4) == 4
    np.testing.assert_array_equal(ring.read()[:, 0], np.arange(9, 12, dtype=np.float32))
    assert ring.skip(100) == 0
    assert ring.read().shape == (0, 1)


def test_concurrent_producer_consumer_keeps_every_frame() -> None:
    ring = RingBuffer(4096, 1)
    total = 300_000
    block = 480

    def produce() -> None:
        pos = 0
        while pos < total:
            n = min(block, total - pos)
            while ring.capacity - ring.available() < n:
                pass
            ring.write(_ramp(pos, n, 1))
            pos += n

    t = threading.Thread(target=produce)
    t.start()
    chunks = []
    got = 0
    while got < total:
        c = ring.read()
        got += len(c)
        chunks.append(c)
    t.join()
    flat = np.concatenate(chunks)[:, 0]
    np.testing.assert_array_equal(flat, np.arange(total, dtype=np.float32))
    assert ring.overrun_frames == 0
