"""Words heard on two sources are shown once; everything else from every source is shown."""

from __future__ import annotations

from captioner.asr.segmenter import Segment
from captioner.live.echo import EchoFilter


def line(text: str, start: float, end: float, source: str, gap: bool = False) -> Segment:
    return Segment(text, start, end, gap=gap, source=source)


def test_one_source_passes_everything_at_once() -> None:
    echo = EchoFilter()
    echo.reset(None)
    seg = line("hello there", 0.0, 1.0, "You")
    assert echo.push(seg) == [seg]


def test_an_echo_of_the_preferred_source_is_dropped_once_it_has_decoded_past_it() -> None:
    echo = EchoFilter()
    echo.reset("Others")
    mic = line("can you share your screen", 1.1, 2.9, "You")
    assert echo.push(mic) == [], "held until system audio has had its say"
    assert echo.release(2.5, None) == [], "system audio has not decoded that far yet"
    system = line("Can you share your screen?", 1.0, 2.8, "Others")
    assert echo.push(system) == [system]
    assert echo.release(5.0, None) == []
    assert echo.dropped == 1


def test_the_mic_line_is_kept_when_system_audio_said_something_else() -> None:
    echo = EchoFilter()
    echo.reset("Others")
    mic = line("i agree with that plan", 3.0, 4.5, "You")
    echo.push(line("the budget review moves to thursday", 0.5, 2.8, "Others"))
    echo.push(mic)
    assert echo.release(7.0, None) == [mic]
    assert echo.dropped == 0


def test_a_mic_line_waits_for_an_open_system_line_that_began_before_it_ended() -> None:
    echo = EchoFilter()
    echo.reset("Others")
    mic = line("see the draft", 2.0, 3.0, "You")
    echo.push(mic)
    assert echo.release(6.0, 1.5) == [], "system audio's open line may still hold the same words"
    echo.push(line("so we can see the draft today", 1.5, 4.0, "Others"))
    assert echo.release(6.5, None) == []
    assert echo.dropped == 1


def test_partial_overlap_is_not_an_echo() -> None:
    echo = EchoFilter()
    echo.reset("Others")
    echo.push(line("we can see the numbers", 0.0, 2.0, "Others"))
    mine = line("yes but can we also see last year's figures and the forecast", 0.5, 3.0, "You")
    echo.push(mine)
    assert echo.release(10.0, None) == [mine]


def test_far_apart_in_time_is_not_an_echo() -> None:
    echo = EchoFilter()
    echo.reset("Others")
    echo.push(line("thank you", 0.0, 1.0, "Others"))
    mine = line("thank you", 30.0, 31.0, "You")
    echo.push(mine)
    assert echo.release(40.0, None) == [mine]


def test_gaps_pass_and_flush_releases_what_is_held() -> None:
    echo = EchoFilter()
    echo.reset("Others")
    gap = line("[2.0 s of audio missing]", 0.0, 2.0, "You", gap=True)
    assert echo.push(gap) == [gap]
    mine = line("hello", 3.0, 3.5, "You")
    echo.push(mine)
    assert echo.flush() == [mine]
    assert echo.flush() == []


def test_a_short_common_word_said_seconds_apart_is_not_an_echo() -> None:
    """Seen in the two-source benchmark: "on" from the microphone 1.5 s after "on" in system audio."""
    echo = EchoFilter()
    echo.reset("Others")
    echo.push(line("the file is on the shared drive", 18.0, 19.4, "Others"))
    mine = line("on", 20.88, 20.96, "You")
    echo.push(mine)
    assert echo.release(25.0, None) == [mine]
    assert echo.dropped == 0


def test_a_short_echo_heard_at_the_same_moment_is_still_dropped() -> None:
    echo = EchoFilter()
    echo.reset("Others")
    echo.push(line("thanks everyone", 4.0, 4.9, "Others"))
    echo.push(line("thanks everyone", 4.6, 5.5, "You"))  # the microphone's capture path lags a little
    assert echo.release(9.0, None) == []
    assert echo.dropped == 1
