"""Colour contrast of caption text (WCAG 2 relative luminance and contrast ratio), without Qt.

The overlay floats over anything, so a colour is judged against its caption box composited at the box's
opacity over every possible backdrop. Compositing is linear per sRGB channel (as Qt blends), and luminance
rises with each channel, so the box's luminance ranges from the box over black to the box over white and
takes every value between (over greys). The worst case for a text colour is the end of that range nearest
to it, or 1:1 when its own luminance falls inside the range (some backdrop makes it vanish).

An outline is the text's own edge: a ring of the outline colour around every glyph whatever lies behind.
It rescues a colour that fails against the box when it is drawn at least ``MIN_OUTLINE_PX`` wide and its
colour has ``AA_NORMAL`` contrast with the text colour, as the edge of broadcast subtitles does. WCAG itself
says nothing about outlines; this is the rule the Settings warning follows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

AA_NORMAL = 4.5
"""WCAG 2 level AA for normal text (SC 1.4.3)."""
MIN_OUTLINE_PX = 1.5
"""The narrowest outline that counts as the text's background: a thinner ring breaks up on anti-aliasing."""

Rgb = tuple[float, float, float]
"""sRGB channels, each 0–1 (gamma-encoded, as stored in ``#rrggbb``)."""
BLACK: Rgb = (0.0, 0.0, 0.0)
WHITE: Rgb = (1.0, 1.0, 1.0)


def parse_colour(colour: str | Rgb) -> Rgb:
    """``#rgb`` or ``#rrggbb`` (or channels already) as 0–1 sRGB channels."""
    if not isinstance(colour, str):
        return colour
    digits = colour.strip().lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    if len(digits) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    r, g, b = (int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def to_hex(rgb: Rgb) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str | Rgb) -> float:
    """WCAG 2 relative luminance: 0 for black, 1 for white."""
    r, g, b = (_linear(c) for c in parse_colour(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio_of_luminances(a: float, b: float) -> float:
    lighter, darker = max(a, b), min(a, b)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_ratio(a: str | Rgb, b: str | Rgb) -> float:
    """WCAG 2 contrast ratio, 1 (none) to 21 (black on white)."""
    return ratio_of_luminances(relative_luminance(a), relative_luminance(b))


def composite(colour: str | Rgb, opacity: float, behind: str | Rgb) -> Rgb:
    """``colour`` at ``opacity`` painted over ``behind`` (source-over, per sRGB channel, as Qt paints)."""
    top, below = parse_colour(colour), parse_colour(behind)
    a = max(0.0, min(1.0, opacity))
    r, g, b = (a * t + (1 - a) * u for t, u in zip(top, below, strict=True))
    return r, g, b


def box_luminance_range(background: str | Rgb, opacity: float) -> tuple[float, float]:
    """The caption box's luminance over a black and over a white backdrop: every backdrop lands between."""
    return (relative_luminance(composite(background, opacity, BLACK)),
            relative_luminance(composite(background, opacity, WHITE)))


def worst_case_contrast(text: str | Rgb, background: str | Rgb, opacity: float) -> float:
    """The lowest contrast of ``text`` over the box at ``opacity`` with anything behind it."""
    lo, hi = box_luminance_range(background, opacity)
    lum = relative_luminance(text)
    if lo <= lum <= hi:
        return 1.0
    return ratio_of_luminances(lum, lo if lum < lo else hi)


def outline_counts(text: str | Rgb, outline: bool, outline_colour: str | Rgb, outline_width: float) -> bool:
    """Whether the outline keeps ``text`` readable on its own (see the module docstring)."""
    return outline and outline_width >= MIN_OUTLINE_PX and contrast_ratio(text, outline_colour) >= AA_NORMAL


def format_ratio(ratio: float) -> str:
    """``4.48`` as ``4.4:1``: rounded down, so a failing ratio never reads as the 4.5:1 it misses."""
    return f"{math.floor(ratio * 10) / 10:.1f}:1"


@dataclass(frozen=True)
class ColourCheck:
    """One caption colour judged against its box at the worst backdrop."""

    role: str
    colour: str
    ratio: float
    outline_rescues: bool

    @property
    def readable(self) -> bool:
        return self.ratio >= AA_NORMAL or self.outline_rescues


def check_colours(colours: dict[str, str], background: str, opacity: float, outline: bool, outline_colour: str,
                  outline_width: float) -> list[ColourCheck]:
    """A ``ColourCheck`` for each ``role: colour`` drawn over the same box and outline."""
    return [ColourCheck(role, colour, worst_case_contrast(colour, background, opacity),
                        outline_counts(colour, outline, outline_colour, outline_width))
            for role, colour in colours.items()]


def _mix(colour: Rgb, toward: Rgb, t: float) -> Rgb:
    r, g, b = (c + t * (d - c) for c, d in zip(colour, toward, strict=True))
    return r, g, b


def readable_colour(text: str | Rgb, background: str | Rgb, opacity: float,
                    target: float = AA_NORMAL) -> tuple[str, float]:
    """The colour nearest ``text`` that reaches ``target`` over the box with any backdrop, and the opacity it needs.

    The colour is mixed towards white or black, whichever needs less; the opacity is raised only when not even
    white or black can reach the target over a box that thin. An opaque box always allows one of them
    (white or black reaches at least 4.58:1 against any colour).
    """
    start = parse_colour(text)
    if worst_case_contrast(start, background, opacity) >= target:
        return to_hex(start), opacity
    steps = 200
    alpha = max(0.0, min(1.0, opacity))
    while True:
        found: list[tuple[int, str]] = []
        for end in (WHITE, BLACK):
            if worst_case_contrast(end, background, alpha) < target:
                continue
            for i in range(1, steps + 1):
                candidate = to_hex(_mix(start, end, i / steps))
                if worst_case_contrast(candidate, background, alpha) >= target:
                    found.append((i, candidate))
                    break
        if found:
            return min(found)[1], alpha
        if alpha >= 1.0:  # unreachable for the targets WCAG sets; the strongest colour is the answer
            best = max((WHITE, BLACK), key=lambda c: worst_case_contrast(c, background, 1.0))
            return to_hex(best), 1.0
        alpha = min(1.0, round(alpha + 0.01, 2))
