"""Style validation, CSS quoting and the SSE wire format: the pieces that keep caption text and style inert."""

from __future__ import annotations

import pytest

from captioner.caption_page import PageStyle, css_rgba
from captioner.caption_page.assets import live_page, stylesheet, transcript_page
from captioner.caption_page.model import css_string, css_variables, is_css_colour
from captioner.caption_page.sse import EventId, encode, parse_event_id


@pytest.mark.parametrize("colour", ["#fff", "#101418", "#10141880", "rgba(16, 20, 24, 0.72)", "rgb(0 0 0 / 50%)",
                                    "hsl(210deg 50% 40%)", "white", "transparent"])
def test_css_colours_accepted(colour: str) -> None:
    assert is_css_colour(colour)
    assert PageStyle(text_color=colour, background=colour).text_color == colour


@pytest.mark.parametrize("colour", ["", "#12345", "red; display:none", "url(http://x/)", "rgb(1,2,3)};x{",
                                    "expression(alert(1))", "#fff\n"])
def test_css_colours_refused(colour: str) -> None:
    assert not is_css_colour(colour)
    with pytest.raises(ValueError, match="text_color"):
        PageStyle(text_color=colour)


@pytest.mark.parametrize("kwargs", [{"font_size_px": 2}, {"font_size_px": 1000}, {"lines": 0}, {"lines": 99},
                                    {"tentative_color": "nope;"}])
def test_out_of_range_style_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="PageStyle"):
        PageStyle(**kwargs)  # type: ignore[arg-type]


def test_font_family_cannot_escape_its_css_string() -> None:
    evil = 'Evil"; } body { display: none } :root { x: "\\'
    family = css_variables(PageStyle(font_family=evil))["--cp-font-family"]
    quoted = css_string(evil)
    assert family.startswith(quoted)
    inner = quoted[1:-1]
    # Every quote inside is escaped, and the string does not end on a lone backslash that would eat its quote.
    assert all(inner[i - 1] == "\\" for i, ch in enumerate(inner) if ch == '"')
    assert inner.endswith("\\\\")
    assert "\n" not in css_string("a\nb}") and "\x00" not in css_string("a\x00")
    css = stylesheet(PageStyle(font_family=evil))
    assert css.count("{") == css.count("}")


def test_empty_font_family_uses_the_platform_sans_serif() -> None:
    assert css_variables(PageStyle())["--cp-font-family"].endswith("sans-serif")
    assert css_variables(PageStyle(font_family="Atkinson Hyperlegible"))["--cp-font-family"].startswith(
        '"Atkinson Hyperlegible", ')


def test_transparent_style_moves_the_background_onto_the_caption_box() -> None:
    solid = css_variables(PageStyle(background="#101418"))
    clear = css_variables(PageStyle(background="rgba(0, 0, 0, 0.5)", transparent=True))
    assert (solid["--cp-page-bg"], solid["--cp-box-bg"]) == ("#101418", "transparent")
    assert (clear["--cp-page-bg"], clear["--cp-box-bg"]) == ("transparent", "rgba(0, 0, 0, 0.5)")


def test_css_rgba_from_overlay_settings() -> None:
    assert css_rgba("#101418", 0.72) == "rgba(16, 20, 24, 0.72)"
    assert css_rgba("#FFFFFF", 3) == "rgba(255, 255, 255, 1)"
    assert is_css_colour(css_rgba("#000000", 0.333333))
    with pytest.raises(ValueError):
        css_rgba("red", 1)


def test_pages_hold_no_inline_script_or_style() -> None:
    for page in (live_page("t" * 20), transcript_page("t" * 20)):
        assert "<script>" not in page and "<style" not in page and " style=" not in page
        assert 'src="page.js?token=tttttttttttttttttttt"' in page
        assert 'aria-live="polite"' in page


def test_event_encoding_is_one_data_line_whatever_the_text() -> None:
    data = encode("committed", {"text": "line one\nline two\r\nthree\u2028 \ud800"}, EventId("ab12cd34", 7))
    text = data.decode("utf-8")
    assert text.startswith("id: ab12cd34.7\nevent: committed\ndata: ")
    assert text.endswith("\n\n") and text.count("\n") == 4 and "\r" not in text


@pytest.mark.parametrize(("raw", "expected"), [
    ("ab12cd34.7", EventId("ab12cd34", 7)), (" 0123456789abcdef.0 ", EventId("0123456789abcdef", 0)),
    (None, None), ("", None), ("7", None), ("ab12cd34.-1", None), ("AB12CD34.1", None), ("ab12cd34.1.2", None),
])
def test_last_event_id_parsing(raw: str | None, expected: EventId | None) -> None:
    assert parse_event_id(raw) == expected
