"""The app's side of the local caption page: starts and stops the server as Settings say, feeds it captions.

Off by default. When on, the page listens on 127.0.0.1 only, at the port chosen in Settings, behind a token
that is made once and kept in the (private) settings file, so a link pasted into OBS keeps working.
"""

from __future__ import annotations

import logging
import secrets

from captioner.app.settings import AppSettings, OverlayStyle
from captioner.asr.segmenter import Segment
from captioner.caption_page import CaptionPageError, CaptionPageServer, PageCaption, PageStyle, css_rgba

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
PAGE_FONT_SCALE = 1.5  # the overlay's points, as CSS pixels a browser source at 1080p reads comfortably


def new_token() -> str:
    return secrets.token_urlsafe(24)


def page_style(overlay: OverlayStyle, transparent: bool) -> PageStyle:
    """The overlay's look, for the page: same font, colours, background and number of lines."""
    size = max(6, min(400, round(overlay.font_size * PAGE_FONT_SCALE)))
    return PageStyle(font_family=overlay.font_family, font_size_px=size, text_color=overlay.text_color,
                     background=css_rgba(overlay.background_color, overlay.background_opacity),
                     transparent=transparent, bold=overlay.bold, tentative_color=overlay.tentative_color,
                     lines=max(1, min(8, overlay.lines)))


def page_url(port: int, token: str, transcript: bool = False) -> str:
    """The link to give a browser or OBS (the server's own ``url``, known before it runs)."""
    return f"http://127.0.0.1:{port}/{'transcript' if transcript else ''}?token={token}"


class CaptionPageHost:
    """Owns the running server (if any); every method is called from the GUI thread."""

    def __init__(self) -> None:
        self.server: CaptionPageServer | None = None
        self._key: tuple[int, str] | None = None

    @property
    def running(self) -> bool:
        return self.server is not None

    def apply(self, settings: AppSettings) -> str | None:
        """Start, restart or stop the server to match ``settings``; returns a message for the user on failure."""
        if not settings.caption_page_enabled:
            self.stop()
            return None
        key = (settings.caption_page_port, settings.caption_page_token)
        style = page_style(settings.overlay, settings.caption_page_transparent)
        if self.server is not None and key == self._key:
            self.server.set_style(style)
            return None
        self.stop()
        server = CaptionPageServer(port=settings.caption_page_port, style=style, token=settings.caption_page_token)
        try:
            server.start()
        except CaptionPageError as exc:
            log.warning("The caption page did not start: %s", exc)
            return f"The caption page is off: {exc}"
        self.server, self._key = server, key
        log.info("Caption page listening on 127.0.0.1:%d", server.port)
        return None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
            self._key = None

    def clear(self) -> None:
        if self.server is not None:
            self.server.clear()

    def committed(self, segment: Segment) -> None:
        if self.server is not None and segment.text:
            self.server.publish_committed(PageCaption(segment.source, segment.text, segment.start_s, segment.end_s,
                                                      segment.gap))

    def tentative(self, text: str, source: str) -> None:
        if self.server is not None:
            self.server.publish_tentative(source, text)
