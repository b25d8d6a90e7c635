"""A short two-person exchange for the browser tests and the README screenshot.

``python -m tests.caption_page.scene [PATH]`` writes the screenshot (default docs/screenshots/caption-page.png)
with headless Chromium, the same way the test takes it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from captioner.caption_page import CaptionPageServer, PageCaption

from .cdp import Chromium, find_chromium

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "caption-page.png"
SIZE = (1280, 360)
LINES = (
    ("Others", "Shall we start with the release plan?"),
    ("You", "Sure. The beta ships on Thursday."),
    ("Others", "Great. Is anything still at risk?"),
)
OPEN = ("You", "Only the translations, two are still")
# The page has rendered the scene: every committed line and the open text are on screen.
RENDERED = ('document.body.dataset.state === "live" && document.body.classList.contains("multi") && '
            f'document.querySelectorAll("#committed .line").length === {len(LINES)} && '
            'document.querySelector("#tentative .line .text")?.textContent === ' + repr(OPEN[1]))


def publish_scene(server: CaptionPageServer) -> None:
    start = 0.0
    for source, text in LINES:
        server.publish_committed(PageCaption(source, text, start, start + 3.0))
        start += 3.5
    server.publish_tentative(*OPEN)


def take_screenshot(browser: Chromium, server: CaptionPageServer, path: Path) -> None:
    """Open the live page on the scene, wait until it is all rendered, and save a PNG of the window."""
    page = browser.open_page(server.url)
    try:
        page.wait_for(RENDERED)
        page.evaluate("document.fonts.ready.then(() => Promise.all(document.getAnimations().map((a) => a.finished)))"
                      ".then(() => true)")
        page.screenshot(path)
    finally:
        page.close()


def main(argv: list[str]) -> int:
    binary = find_chromium()
    if binary is None:
        print("needs Chromium (scripts/system-deps.sh test installs it)", file=sys.stderr)
        return 1
    target = Path(argv[0]) if argv else SCREENSHOT
    with CaptionPageServer() as server, tempfile.TemporaryDirectory() as profile:
        publish_scene(server)
        browser = Chromium(binary, Path(profile), *SIZE)
        try:
            take_screenshot(browser, server, target)
        finally:
            browser.close()
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
