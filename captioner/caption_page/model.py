"""What the caption page shows and how it looks, as plain frozen values the server can share between threads.

Colours and font names end up inside CSS, so they are validated here, once, when a style is made: a bad value is
a ``ValueError`` at the caller instead of a silently broken (or injected) stylesheet later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_FUNCTION = re.compile(r"(?:rgb|rgba|hsl|hsla)\(\s*[0-9.]+(?:deg)?%?(?:\s*[,/ ]\s*[0-9.]+%?){2,3}\s*\)")
_NAMED = re.compile(r"[a-zA-Z]{3,30}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MIN_FONT_PX = 6
MAX_FONT_PX = 400
MAX_LINES = 8


def is_css_colour(value: str) -> bool:
    """Whether ``value`` is a colour the page can put in CSS as it is (hex, rgb()/hsl(), or a colour name)."""
    return any(p.fullmatch(value) for p in (_HEX, _FUNCTION, _NAMED))


def css_rgba(hex_colour: str, opacity: float) -> str:
    """``#rrggbb`` and an opacity 0–1 (as the overlay settings store them) as one CSS ``rgba()`` colour."""
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", hex_colour):
        raise ValueError(f"expected a #rrggbb colour, got {hex_colour!r}")
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    alpha = min(1.0, max(0.0, float(opacity)))
    return f"rgba({r}, {g}, {b}, {alpha:.3g})"


@dataclass(frozen=True)
class PageStyle:
    """How the live page looks; mirrors the overlay's style so the browser source matches the desktop overlay.

    Colours are CSS colours (``#rrggbb``, ``rgba(…)``, a name). ``transparent`` makes the page background
    transparent (for OBS); the captions then sit on a box of ``background``. ``tentative_color`` "" dims the text
    colour instead. ``lines`` is how many committed lines the live page keeps on screen.
    """

    font_family: str = ""  # "": the platform's sans-serif
    font_size_px: int = 40
    text_color: str = "#ffffff"
    background: str = "#101418"
    transparent: bool = False
    bold: bool = True
    tentative_color: str = ""
    lines: int = 3

    def __post_init__(self) -> None:
        for name in ("text_color", "background"):
            if not is_css_colour(getattr(self, name)):
                raise ValueError(f"PageStyle.{name} is not a CSS colour: {getattr(self, name)!r}")
        if self.tentative_color and not is_css_colour(self.tentative_color):
            raise ValueError(f"PageStyle.tentative_color is not a CSS colour: {self.tentative_color!r}")
        if not MIN_FONT_PX <= self.font_size_px <= MAX_FONT_PX:
            raise ValueError(f"PageStyle.font_size_px must be {MIN_FONT_PX}–{MAX_FONT_PX}, got {self.font_size_px}")
        if not 1 <= self.lines <= MAX_LINES:
            raise ValueError(f"PageStyle.lines must be 1–{MAX_LINES}, got {self.lines}")


@dataclass(frozen=True)
class PageCaption:
    """One committed line: final text that will not change any more.

    ``source`` labels who spoke ("You", "Others"; "" when there is only one source). ``gap`` marks a notice such as
    "[2.0 s of audio missing]" rather than speech, so the page can show it quietly. Times are seconds since the
    session started.
    """

    source: str
    text: str
    start_s: float
    end_s: float
    gap: bool = False


def css_string(value: str) -> str:
    """``value`` as a quoted CSS string: no way to close the string or the declaration from inside it."""
    cleaned = _CONTROL.sub("", value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{cleaned}"'


DEFAULT_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif'


def css_variables(style: PageStyle) -> dict[str, str]:
    """The style as CSS custom properties; the stylesheet and live style updates share this one mapping."""
    family = f"{css_string(style.font_family)}, {DEFAULT_FONTS}" if style.font_family.strip() else DEFAULT_FONTS
    return {
        "--cp-font-family": family,
        "--cp-font-size": f"{style.font_size_px}px",
        "--cp-weight": "700" if style.bold else "400",
        "--cp-text": style.text_color,
        "--cp-tentative": style.tentative_color or style.text_color,
        "--cp-tentative-opacity": "1" if style.tentative_color else "0.68",
        "--cp-background": style.background,
        "--cp-page-bg": "transparent" if style.transparent else style.background,
        "--cp-box-bg": style.background if style.transparent else "transparent",
    }
