"""Caption colour contrast (captioner.contrast): WCAG luminance and ratios, the worst backdrop,
the outline rule, the Fix colour; and the overlay presets, which must pass it."""

from __future__ import annotations

import dataclasses

import pytest

from captioner import contrast
from captioner.app.settings import OverlayStyle
from captioner.app.settings_pages.presets import PRESETS, apply_preset, matching_preset, preset
from captioner.contrast import (
    AA_NORMAL,
    check_colours,
    composite,
    contrast_ratio,
    format_ratio,
    outline_counts,
    readable_colour,
    relative_luminance,
    worst_case_contrast,
)


def test_known_pairs() -> None:
    assert relative_luminance("#ffffff") == 1.0 and relative_luminance("#000") == 0.0
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)  # order does not matter
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.005)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.005)  # the lightest AA grey on white
    assert contrast_ratio("#3366cc", "#3366cc") == 1.0


def test_a_ratio_is_never_shown_rounded_up_to_a_pass() -> None:
    assert format_ratio(contrast_ratio("#777777", "#ffffff")) == "4.4:1"
    assert format_ratio(21.0) == "21.0:1" and format_ratio(4.5) == "4.5:1"


def test_composite_is_source_over_per_channel() -> None:
    assert composite("#000000", 0.5, "#ffffff") == (0.5, 0.5, 0.5)
    assert composite("#ff0000", 1.0, "#00ff00") == (1.0, 0.0, 0.0)
    assert composite("#ff0000", 0.0, "#00ff00") == (0.0, 1.0, 0.0)


def test_worst_case_is_the_nearest_end_of_the_box_range_or_none_inside_it() -> None:
    # An opaque box: the backdrop does not matter.
    assert worst_case_contrast("#777777", "#ffffff", 1.0) == pytest.approx(contrast_ratio("#777777", "#ffffff"))
    # A translucent dark box: white text is at its worst over a white backdrop.
    over_white = composite("#101418", 0.72, "#ffffff")
    assert worst_case_contrast("#ffffff", "#101418", 0.72) == pytest.approx(contrast_ratio("#ffffff", over_white))
    # No box at all: some backdrop matches any colour.
    assert worst_case_contrast("#ffffff", "#000000", 0.0) == 1.0
    assert worst_case_contrast("#777777", "#000000", 0.5) == 1.0  # a grey between the box over black and white


def test_the_default_style_figures() -> None:
    st = OverlayStyle()
    text, tentative = check_colours({"Text": st.text_color, "Tentative": st.tentative_color}, st.background_color,
                                    st.background_opacity, st.outline, st.outline_color, st.outline_width)
    assert text.ratio == pytest.approx(7.41, abs=0.01) and text.readable
    assert tentative.ratio == pytest.approx(4.67, abs=0.01) and tentative.readable  # against the box alone
    no_outline = check_colours({"Tentative": st.tentative_color}, st.background_color, st.background_opacity,
                               False, st.outline_color, st.outline_width)
    assert no_outline[0].readable, "the default needs no outline to be read"
    old_default = check_colours({"Tentative": "#9fb4c8"}, st.background_color, st.background_opacity,
                                st.outline, st.outline_color, st.outline_width)[0]
    assert old_default.ratio == pytest.approx(3.47, abs=0.01) and old_default.outline_rescues


def test_an_outline_counts_only_when_wide_and_contrasting_enough() -> None:
    assert outline_counts("#ffffff", True, "#000000", 2.5)
    assert not outline_counts("#ffffff", False, "#000000", 2.5)  # turned off
    assert not outline_counts("#ffffff", True, "#000000", contrast.MIN_OUTLINE_PX - 0.5)  # a hairline
    assert not outline_counts("#ffffff", True, "#dddddd", 3.0)  # light on light: no edge to read by


@pytest.mark.parametrize(("text", "background", "opacity"), [
    ("#777777", "#ffffff", 1.0),  # just short of AA on white
    ("#9fb4c8", "#101418", 0.72),  # the old default tentative colour, without its outline
    ("#ffff00", "#ffffff", 0.9),  # yellow on a light box
    ("#ffffff", "#ffffff", 0.2),  # white on an almost clear white box: only a thicker box can help
    ("#808080", "#808080", 0.0),
])
def test_the_fix_reaches_aa_over_any_backdrop(text: str, background: str, opacity: float) -> None:
    colour, alpha = readable_colour(text, background, opacity)
    assert alpha >= opacity
    assert worst_case_contrast(colour, background, alpha) >= AA_NORMAL


def test_the_fix_keeps_what_passes_and_changes_little() -> None:
    assert readable_colour("#ffffff", "#000000", 0.8) == ("#ffffff", 0.8)
    colour, alpha = readable_colour("#777777", "#ffffff", 1.0)
    assert (colour, alpha) == ("#767676", 1.0)  # one step darker is enough
    colour, alpha = readable_colour("#9fb4c8", "#101418", 0.72)
    assert alpha == 0.72 and relative_luminance(colour) > relative_luminance("#9fb4c8")  # lighter on a dark box
    assert colour == "#bdccd9"


def test_presets_are_readable_and_recognised() -> None:
    assert preset("default").style == OverlayStyle()
    for p in PRESETS:
        st = p.style
        for check in check_colours({"Text": st.text_color, "Tentative": st.tentative_color}, st.background_color,
                                   st.background_opacity, st.outline, st.outline_color, st.outline_width):
            assert check.readable, (p.key, check)
        mine = dataclasses.replace(OverlayStyle(), font_family="DejaVu Serif", font_size=40)
        chosen = apply_preset(mine, p)
        assert chosen.font_family == "DejaVu Serif"  # the font stays the user's ...
        assert chosen.font_size == (p.style.font_size if p.key == "large-print" else 40)  # ... and its size
        assert matching_preset(chosen) is p
    high = preset("high-contrast").style
    assert high.background_opacity == 1.0 and high.bold and high.outline
    assert contrast_ratio(high.text_color, high.background_color) >= 7  # AAA, not just AA
    light = preset("light").style
    assert relative_luminance(light.background_color) > relative_luminance(light.text_color)
    docked = preset("docked").style
    assert docked.docked and docked.lines <= 2
    assert matching_preset(dataclasses.replace(OverlayStyle(), text_color="#fefefe")) is None


def test_large_print_sets_the_size_and_the_other_presets_keep_the_users() -> None:
    mine = OverlayStyle(font_family="DejaVu Serif", font_size=30)
    large = apply_preset(mine, preset("large-print"))
    assert large.font_size == 44 and large.font_family == "DejaVu Serif"
    top = apply_preset(mine, preset("docked-top"))
    assert top.docked and top.dock_top and top.font_size == 30
