"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``): no port, stdlib only.

``--dump-dom --virtual-time-budget`` never finishes on a page that keeps an event stream open (virtual time waits
for pending fetches), so the tests drive a real page instead: navigate, then wait inside the page for a condition
(a MutationObserver resolves a promise; no polling, no sleeps), read the DOM, take a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars")


def find_chromium() -> str | None:
    override = os.environ.get("CAPTIONER_CHROMIUM")
    if override:
        return override
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class CDPError(RuntimeError):
    pass


class Chromium:
    """One headless browser; ``open_page`` gives a tab, commands are answered synchronously with a deadline."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 360) -> None:
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child: the protocol reads fd 3 and writes fd 4
            import fcntl  # POSIX only, like the fd-3/4 pipe protocol itself

            # Move both ends above 4 first, so placing one cannot overwrite the other.
            reader = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            writer = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(reader, 3)
            os.dup2(writer, 4)

        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire_pipes, pass_fds=(3, 4))  # the child only dup2()s before exec
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._write_fd = to_browser_w
        self._read_fd = from_browser_r
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.width, self.height = width, height

    # Protocol -----------------------------------------------------------------------------------------------------

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def wait_event(self, method: str, session: str | None, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self._events[i]
                    params: dict[str, Any] = event.get("params", {})
                    return params
            self._events.append(self._read(deadline))

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._read_fd], [], [], left)
            if ready:
                chunk = os.read(self._read_fd, 1 << 20)
                if not chunk:
                    raise CDPError("Chromium closed the protocol pipe (it crashed or exited)")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    # Pages ------------------------------------------------------------------------------------------------------

    def open_page(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        self.send("Page.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False}, session=session)
        page.navigate(url)
        return page

    def close(self) -> None:
        with contextlib.suppress(CDPError, TimeoutError, OSError):  # it may be gone already
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write_fd)
        os.close(self._read_fd)


class Page:
    """One tab attached over a flat session."""

    def __init__(self, browser: Chromium, target: str, session: str) -> None:
        self.browser, self.target, self.session = browser, target, session

    def navigate(self, url: str) -> None:
        """Start loading ``url``; the caller waits for what it needs with ``wait_for``."""
        result = self.browser.send("Page.navigate", {"url": url}, session=self.session)
        if result.get("errorText"):
            raise CDPError(f"navigation failed: {result['errorText']}")

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                        "awaitPromise": True}, session=self.session,
                                   timeout=timeout)
        if "exceptionDetails" in result:
            raise CDPError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float = 20.0) -> Any:
        """Wait until the JS expression ``condition`` is truthy in the page, re-checked on every DOM change."""
        script = f"""new Promise((resolve) => {{
          const check = () => {{ try {{ return ({condition}); }} catch (e) {{ return false; }} }};
          const first = check();
          if (first) {{ resolve(first); return; }}
          const watch = new MutationObserver(() => {{
            const value = check();
            if (value) {{ watch.disconnect(); resolve(value); }}
          }});
          watch.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});
        }})"""
        deadline = time.monotonic() + timeout
        while True:  # a navigation can replace the document under the observer: then look again
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the page never satisfied: {condition}")
            try:
                return self.evaluate(script, timeout=left)
            except CDPError as exc:
                if "context" not in str(exc).lower():
                    raise

    def screenshot(self, path: Path) -> None:
        data = self.browser.send("Page.captureScreenshot", {"format": "png"}, session=self.session)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
