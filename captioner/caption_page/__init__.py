"""A live caption page on 127.0.0.1 for a browser or an OBS browser source (no Qt; standard library only).

The app publishes committed lines, tentative text and its overlay style; pages follow along over server-sent events::

    server = CaptionPageServer(style=PageStyle(font_size_px=40))
    server.start()                      # raises CaptionPageError (PortInUseError) with a message to show
    server.publish_tentative("You", "hello wor")
    server.publish_committed(PageCaption("You", "Hello world.", 0.0, 1.2))
    print(server.url, server.transcript_url)
    server.stop()
"""

from captioner.caption_page.model import PageCaption, PageStyle, css_rgba
from captioner.caption_page.server import CaptionPageError, CaptionPageServer, PortInUseError

__all__ = ["CaptionPageError", "CaptionPageServer", "PageCaption", "PageStyle", "PortInUseError", "css_rgba"]
