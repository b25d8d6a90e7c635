"""What the windowing system allows an overlay to do, in words a user can act on."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

WAYLAND_NOTE = (
    "You are on Wayland, where the compositor — not Captioner — decides window placement and "
    "stacking: the caption overlay cannot keep itself above other windows, cannot restore its "
    "remembered position, and may not be draggable from inside the window on some desktops. "
    "Click-through still works, but Ctrl+Shift+L leaves it only while a Captioner window has the focus "
    "(use {elsewhere} otherwise). To get all of it, start Captioner under XWayland with "
    "QT_QPA_PLATFORM=xcb captioner."
)


def platform_name() -> str:
    return QGuiApplication.platformName()


def overlay_limitations(tray: bool) -> str | None:
    """A plain explanation of what the overlay cannot do here, or ``None`` when everything works; ``tray``:
    whether the desktop shows tray icons (GNOME does not by default), so the way out named is one that exists."""
    if not platform_name().startswith("wayland"):
        return None
    return WAYLAND_NOTE.format(elsewhere="the tray menu" if tray else "the Click-through button in the main window")
