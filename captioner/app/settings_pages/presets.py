"""Overlay presets: named looks the Overlay page offers, each a whole ``OverlayStyle`` but for the font.

A preset sets colours, weight, box, outline, lines and docking; the font family and size stay the user's,
because they depend on the fonts installed and on the reader's eyesight, not on the look (Large print, whose
point is the size, sets that too). Every preset's colours pass ``contrast.AA_NORMAL`` over any backdrop
against their box alone (tested).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from captioner.app.settings import OverlayStyle

KEPT_FIELDS = ("font_family", "font_size")
"""What choosing a preset leaves as it was."""


@dataclass(frozen=True)
class OverlayPreset:
    key: str
    name: str
    description: str
    style: OverlayStyle
    keeps: tuple[str, ...] = KEPT_FIELDS


PRESETS: tuple[OverlayPreset, ...] = (
    OverlayPreset("default", "Default", "Light text on a translucent dark box with an outline.", OverlayStyle()),
    OverlayPreset("high-contrast", "High contrast",
                  "Bold yellow on an opaque black box, outlined: the strongest contrast.",
                  OverlayStyle(text_color="#ffff00", tentative_color="#ffffff", tentative_italic=True, bold=True,
                               background_color="#000000", background_opacity=1.0, outline=True,
                               outline_color="#000000", outline_width=3.0)),
    OverlayPreset("light", "Light", "Dark text on a light box, for bright screens.",
                  OverlayStyle(text_color="#111827", tentative_color="#475569", tentative_italic=True, bold=True,
                               background_color="#f8fafc", background_opacity=0.92, outline=False,
                               outline_color="#ffffff", outline_width=1.5)),
    OverlayPreset("docked", "Docked strip",
                  "Two lines in a full-width dark bar along the bottom of the screen, like TV subtitles.",
                  OverlayStyle(lines=2, text_color="#ffffff", tentative_color="#c8d3df", tentative_italic=True,
                               bold=True, background_color="#000000", background_opacity=0.9, outline=False,
                               docked=True)),
    OverlayPreset("docked-top", "Docked strip at the top",
                  "The same bar along the top of the screen, where a video call's own controls are not.",
                  OverlayStyle(lines=2, text_color="#ffffff", tentative_color="#c8d3df", tentative_italic=True,
                               bold=True, background_color="#000000", background_opacity=0.9, outline=False,
                               docked=True, dock_top=True)),
    OverlayPreset("large-print", "Large print",
                  "Big bold white on a nearly opaque box, outlined: for reading from across the room.",
                  OverlayStyle(lines=2, font_size=44, bold=True, text_color="#ffffff", tentative_color="#d7e0ea",
                               tentative_italic=False, background_color="#000000", background_opacity=0.85,
                               outline=True, outline_color="#000000", outline_width=3.0),
                  keeps=("font_family",)),
)


def preset(key: str) -> OverlayPreset:
    return next(p for p in PRESETS if p.key == key)


def apply_preset(current: OverlayStyle, chosen: OverlayPreset) -> OverlayStyle:
    """``chosen``'s look with ``current``'s font."""
    return dataclasses.replace(chosen.style, **{name: getattr(current, name) for name in chosen.keeps})


def matching_preset(style: OverlayStyle) -> OverlayPreset | None:
    """The preset ``style`` is (fonts aside), so the page can name it; ``None`` for a style of the user's own."""
    for p in PRESETS:
        if apply_preset(style, p) == _normalised(style):
            return p
    return None


def _normalised(style: OverlayStyle) -> OverlayStyle:
    """Colours in the ``#rrggbb`` lower case the page writes, opacity as the page's whole percent."""
    return dataclasses.replace(
        style, text_color=style.text_color.lower(), tentative_color=style.tentative_color.lower(),
        background_color=style.background_color.lower(), outline_color=style.outline_color.lower(),
        background_opacity=round(style.background_opacity * 100) / 100)
