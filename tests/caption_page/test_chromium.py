"""The pages in a real headless Chromium: captions published before and during loading really render, escaped,
styled, trimmed, timed, and the page comes back by itself when the server restarts."""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from captioner.caption_page import CaptionPageServer, PageCaption, PageStyle

from .cdp import Chromium, Page, find_chromium
from .client import caption
from .conftest import MakeServer
from .scene import LINES, OPEN, SIZE, publish_scene, take_screenshot

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium ('chromium'; scripts/system-deps.sh test installs "
                                                "it), or CAPTIONER_CHROMIUM=/path/to/chrome"),
    pytest.mark.skipif(os.name != "posix", reason="drives Chromium over --remote-debugging-pipe (fds 3 and 4: POSIX)"),
]
LIVE = 'document.body && document.body.dataset.state === "live"'
OpenPage = Callable[[str], Page]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    assert CHROMIUM is not None
    chromium = Chromium(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"), *SIZE)
    yield chromium
    chromium.close()


@pytest.fixture
def open_page(browser: Chromium) -> Iterator[OpenPage]:
    """A new tab on ``url``, closed after the test."""
    pages: list[Page] = []

    def opener(url: str) -> Page:
        page = browser.open_page(url)
        pages.append(page)
        return page

    yield opener
    for page in pages:
        page.close()


def rows(page: Page, selector: str) -> list[dict[str, str]]:
    script = f"""Array.from(document.querySelectorAll({json.dumps(selector)})).map((el) => ({{
        source: el.querySelector(".source")?.textContent ?? "",
        text: el.querySelector(".text")?.textContent ?? "",
        time: el.querySelector("time")?.textContent ?? "",
        cls: el.className }}))"""
    result: list[dict[str, str]] = page.evaluate(script)
    return result


def test_live_page_renders_captions_published_before_and_during_loading(
        server: CaptionPageServer, open_page: OpenPage) -> None:
    hostile = '<img src=x onerror="document.title=1"> & <b>bold</b>'
    server.publish_committed(caption("Published before the page existed.", "You"))
    server.publish_committed(caption(hostile, "Others", start=1.0))

    def while_loading() -> None:
        if server.wait_for_clients(1, 30):  # the page's event stream is open: the page is mid-load
            server.publish_committed(caption("Published while it loaded.", "You", start=2.0))
            server.publish_tentative("Others", "still talking")

    publisher = threading.Thread(target=while_loading, daemon=True)
    publisher.start()
    page = open_page(server.url)
    page.wait_for(f'{LIVE} && document.querySelectorAll("#committed .line").length === 3 && '
                  'document.querySelector("#tentative .line")')
    publisher.join(5)
    assert rows(page, "#committed .line") == [
        {"source": "You", "text": "Published before the page existed.", "time": "", "cls": "line"},
        {"source": "Others", "text": hostile, "time": "", "cls": "line"},
        {"source": "You", "text": "Published while it loaded.", "time": "", "cls": "line"},
    ]
    assert rows(page, "#tentative .line") == [{"source": "Others", "text": "still talking", "time": "",
                                               "cls": "line open"}]
    facts = page.evaluate("""(() => {
        const last = document.querySelector("#committed .line:last-child");
        const open = document.querySelector("#tentative .line");
        const openStyle = getComputedStyle(open), lastStyle = getComputedStyle(last);
        return {
          injected: document.querySelectorAll("#committed img, #committed b").length,
          title: document.title,
          live: document.getElementById("committed").getAttribute("aria-live"),
          labels: getComputedStyle(document.querySelector(".source")).display,
          openItalic: openStyle.fontStyle, openOpacity: Number(openStyle.opacity),
          fontSize: lastStyle.fontSize, color: lastStyle.color,
          bottom: open.getBoundingClientRect().bottom, lastBottom: last.getBoundingClientRect().bottom,
          height: innerHeight,
        };
      })()""")
    assert facts["injected"] == 0 and facts["title"] == "Live captions"
    assert facts["live"] == "polite"
    assert facts["labels"] != "none", "two sources: every line is labelled"
    assert facts["openItalic"] == "italic" and facts["openOpacity"] < 1
    assert facts["fontSize"] == "40px" and facts["color"] == "rgb(255, 255, 255)"
    assert facts["lastBottom"] <= facts["bottom"], "the open text comes after the committed lines"
    assert facts["bottom"] > 0.8 * facts["height"], "captions sit at the bottom of the page"


def test_single_source_lines_have_no_label_and_gaps_are_quiet(server: CaptionPageServer, open_page: OpenPage) -> None:
    server.publish_committed(PageCaption("", "Only one voice here.", 0.0, 1.0))
    server.publish_committed(PageCaption("", "[2.0 s of audio missing]", 1.0, 3.0, gap=True))
    page = open_page(server.url)
    page.wait_for(f'{LIVE} && document.querySelectorAll("#committed .line").length === 2')
    assert [r["cls"] for r in rows(page, "#committed .line")] == ["line", "line gap"]
    assert page.evaluate('document.querySelectorAll(".source").length') == 0
    assert page.evaluate('document.body.classList.contains("multi")') is False
    gap = page.evaluate('getComputedStyle(document.querySelector(".gap .text")).fontStyle')
    assert gap == "italic"


def test_live_page_keeps_the_last_lines_and_follows_style_changes(server: CaptionPageServer,
                                                                   open_page: OpenPage) -> None:
    for i in range(6):
        server.publish_committed(caption(f"Line {i}."))
    page = open_page(server.url)
    page.wait_for(f'{LIVE} && document.querySelector("#committed .line:last-child .text")?.textContent === "Line 5."')
    assert [r["text"] for r in rows(page, "#committed .line")] == ["Line 3.", "Line 4.", "Line 5."]
    server.set_style(PageStyle(font_family="DejaVu Serif", font_size_px=30, text_color="#ffee00",
                               background="rgba(0, 0, 0, 0.5)", transparent=True, lines=2))
    page.wait_for('getComputedStyle(document.querySelector("#committed .line:last-child")).fontSize === "30px"')
    assert [r["text"] for r in rows(page, "#committed .line")] == ["Line 4.", "Line 5."]
    styled = page.evaluate("""(() => {
        const line = getComputedStyle(document.querySelector("#committed .line:last-child"));
        return [line.color, line.fontFamily, getComputedStyle(document.body).backgroundColor,
                getComputedStyle(document.querySelector(".captions")).backgroundColor];
      })()""")
    assert styled[0] == "rgb(255, 238, 0)" and styled[1].startswith('"DejaVu Serif"')
    assert styled[2] == "rgba(0, 0, 0, 0)", "transparent page for OBS"
    assert styled[3] == "rgba(0, 0, 0, 0.5)", "the captions keep their box"


def test_transcript_page_lists_every_line_with_its_time(server: CaptionPageServer, open_page: OpenPage) -> None:
    for i, start in enumerate((0.0, 65.2, 3671.0)):
        server.publish_committed(caption(f"Line {i}.", ("You", "Others")[i % 2], start=start))
    page = open_page(server.transcript_url)
    page.wait_for(f'{LIVE} && document.querySelectorAll("#committed .line").length === 3')
    assert [(r["time"], r["source"], r["text"]) for r in rows(page, "#committed .line")] == [
        ("00:00", "You", "Line 0."), ("01:05", "Others", "Line 1."), ("1:01:11", "You", "Line 2.")]
    assert page.evaluate('document.getElementById("empty").hidden') is True
    for i in range(3, 60):
        server.publish_committed(caption(f"Line {i}.", start=3671.0 + i))
    page.wait_for('document.querySelectorAll("#committed .line").length === 60')
    scrolled = page.evaluate("""(() => {
        const root = document.scrollingElement;
        return [root.scrollHeight > root.clientHeight, root.scrollHeight - root.scrollTop - root.clientHeight];
      })()""")
    assert scrolled[0] and scrolled[1] < 5, f"the transcript follows the newest line: {scrolled}"
    assert page.evaluate('document.getElementById("status").textContent') == "Live"


def test_page_comes_back_by_itself_when_the_server_restarts(make_server: MakeServer, open_page: OpenPage) -> None:
    first = make_server(token="Restart-Token_0123456789")
    port = first.port
    first.publish_committed(caption("Before the restart."))
    page = open_page(first.url)
    page.wait_for(f'{LIVE} && document.querySelector("#committed .text")?.textContent === "Before the restart."')
    first.stop()
    page.wait_for('document.body.dataset.state !== "live"')
    second = make_server(port=port, token="Restart-Token_0123456789")
    second.publish_committed(caption("After the restart.", "Others"))
    page.wait_for(f'{LIVE} && document.querySelector("#committed .text")?.textContent === "After the restart."',
                  timeout=30)
    assert [r["text"] for r in rows(page, "#committed .line")] == ["After the restart."], "a new session starts over"


def test_screenshot_of_two_labelled_sources(server: CaptionPageServer, browser: Chromium, tmp_path: Path) -> None:
    publish_scene(server)
    target = tmp_path / "caption-page.png"
    take_screenshot(browser, server, target)
    png = target.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == SIZE
    assert len(png) > 10_000, "a blank page compresses to a few hundred bytes; rendered text does not"
    assert LINES and OPEN
