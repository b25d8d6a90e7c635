"""The two pages (live captions, transcript) as Python strings, so they ship inside the package with no data files.

Markup carries no caption text: the script builds every line with ``textContent``, and the Content-Security-Policy
allows only this server's own script and stylesheet. The style arrives as CSS custom properties, in the stylesheet
for the first paint and as ``style`` events after that.
"""

from __future__ import annotations

import html

from captioner.caption_page.model import PageStyle, css_variables

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="dark light">
<title>{title}</title>
<link rel="stylesheet" href="style.css?token={token}">
<script src="page.js?token={token}" defer></script>
</head>
"""

_LIVE_BODY = """<body class="live" data-view="live" data-state="connecting">
<main class="captions" aria-label="Live captions">
<div id="committed" class="committed" role="log" aria-live="polite" aria-relevant="additions"></div>
<div id="tentative" class="tentative"></div>
</main>
</body>
</html>
"""

_TRANSCRIPT_BODY = """<body class="transcript" data-view="transcript" data-state="connecting">
<header class="bar">
<h1>Transcript</h1>
<p id="status" class="status" role="status">Connecting…</p>
</header>
<main class="sheet">
<p id="empty" class="empty">Nothing has been said yet.</p>
<ol id="committed" class="entries" role="log" aria-live="polite" aria-relevant="additions"
 aria-label="Transcript so far"></ol>
<div id="tentative" class="tentative"></div>
</main>
</body>
</html>
"""

STYLESHEET = """
*, *::before, *::after { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body {
  color: var(--cp-text);
  font-family: var(--cp-font-family);
  font-weight: var(--cp-weight);
  -webkit-font-smoothing: antialiased;
  text-rendering: optimizeLegibility;
}
.source {
  display: none;
  font-size: 0.56em;
  font-weight: 700;
  letter-spacing: 0.06em;
  text-transform: uppercase;
  line-height: 1;
  padding: 0.3em 0.55em 0.26em;
  margin-right: 0.6em;
  border-radius: 0.4em;
  vertical-align: 0.24em;
  color: #0b1016;
  background: #8fcbff;
  text-shadow: none;
  white-space: nowrap;
}
body.multi .source { display: inline-block; }
.source.slot-1 { background: #ffc978; }
.source.slot-2 { background: #a9e5a0; }
.source.slot-3 { background: #f2a9cf; }
.line { margin: 0; overflow-wrap: anywhere; }
.tentative .line { color: var(--cp-tentative); opacity: var(--cp-tentative-opacity); font-style: italic; }
.tentative .line .source { opacity: 0.85; }
.line.gap .text { font-style: italic; font-weight: 400; opacity: 0.6; font-size: 0.72em; }

/* The live page: large text at the bottom, newest line last. */
body.live {
  background: var(--cp-page-bg);
  font-size: var(--cp-font-size);
  line-height: 1.28;
  display: flex;
  flex-direction: column;
  justify-content: flex-end;
  overflow: hidden;
  padding: 0 4vw 6vh;
}
body.live .captions { align-self: center; width: 100%; max-width: 46em; }
body.live.transparent .captions {
  background: var(--cp-box-bg);
  border-radius: 0.3em;
  padding: 0.3em 0.6em;
}
body.live.transparent { text-shadow: 0 0 0.08em rgba(0, 0, 0, 0.9), 0 0 0.16em rgba(0, 0, 0, 0.6); }
body.live .line { display: flex; align-items: baseline; }
body.live .line .text { flex: 1; min-width: 0; }
body.live .source { min-width: 6.2em; text-align: center; }  /* short labels line their text up */
body.live .line + .line { margin-top: 0.12em; }
body.live .committed .line:not(:last-child) { opacity: 0.82; }
body.live .tentative:not(:empty) { margin-top: 0.12em; }
@media (prefers-reduced-motion: no-preference) {
  body.live .committed .line:last-child { animation: cp-rise 160ms ease-out; }
}
@keyframes cp-rise { from { transform: translateY(0.25em); opacity: 0.4; } to { transform: none; } }

/* The transcript page: a readable document, not an overlay. */
body.transcript {
  background: linear-gradient(var(--cp-background), var(--cp-background)) #000;
  font-size: clamp(16px, calc(var(--cp-font-size) * 0.5), 22px);
  font-weight: 400;
  line-height: 1.5;
  height: auto;
  min-height: 100%;
}
.bar {
  position: sticky;
  top: 0;
  display: flex;
  align-items: baseline;
  gap: 1em;
  padding: 0.8em calc(max(0px, (100% - 48em) / 2) + 1.2em);  /* lines up with the sheet below */
  background: linear-gradient(var(--cp-background), var(--cp-background)) #000;
  border-bottom: 1px solid rgba(127, 127, 127, 0.35);
}
.bar h1 { font-size: 1.15em; margin: 0; }
.status { margin: 0; font-size: 0.85em; opacity: 0.7; }
.sheet { max-width: 48em; margin: 0 auto; padding: 1em 1.2em 3em; }
.empty { opacity: 0.6; font-style: italic; }
.empty[hidden] { display: none; }
.entries { list-style: none; margin: 0; padding: 0; }
.entries .line, .transcript .tentative .line { display: flex; gap: 0.8em; align-items: baseline; padding: 0.25em 0; }
.transcript .source { vertical-align: baseline; margin-right: 0; flex: none; min-width: 6.6em; text-align: center; }
.transcript time, .transcript .time {
  flex: none;
  min-width: 3.2em;
  font-variant-numeric: tabular-nums;
  opacity: 0.6;
  font-size: 0.9em;
}
.transcript .text { flex: 1; }
"""

PAGE_SCRIPT = r"""
"use strict";
(() => {
  const token = new URLSearchParams(location.search).get("token") || "";
  const body = document.body;
  const view = body.dataset.view === "transcript" ? "transcript" : "live";
  const committedBox = document.getElementById("committed");
  const tentativeBox = document.getElementById("tentative");
  const statusText = document.getElementById("status");
  const emptyNote = document.getElementById("empty");
  const slots = new Map();      // source -> colour slot, in order of appearance
  const tentative = new Map();  // source -> open text
  let maxLines = 3;
  let stream = null;

  function setState(state, label) {
    body.dataset.state = state;
    if (statusText) statusText.textContent = label;
  }

  function noteSource(source, slot) {
    if (!slots.has(source)) slots.set(source, typeof slot === "number" ? slot : slots.size);
    body.classList.toggle("multi", slots.size > 1);
  }

  function clock(seconds) {
    const total = Math.max(0, Math.floor(Number(seconds) || 0));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const mm = String(m).padStart(2, "0"), ss = String(s).padStart(2, "0");
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }

  function span(cls, text) {
    const el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  function line(tag, source, text, extraClass) {
    const el = document.createElement(tag);
    el.className = "line" + (extraClass ? " " + extraClass : "");
    if (source) el.append(span("source slot-" + ((slots.get(source) || 0) % 4), source));
    el.append(span("text", text));
    return el;
  }

  function nearBottom() {
    const root = document.scrollingElement || document.documentElement;
    return root.scrollHeight - root.scrollTop - root.clientHeight < 80;
  }

  function scrollDown() {
    const root = document.scrollingElement || document.documentElement;
    root.scrollTop = root.scrollHeight;
  }

  function trim() {
    if (view !== "live") return;
    while (committedBox.children.length > maxLines) committedBox.firstElementChild.remove();
  }

  function renderTentative() {
    const follow = view === "transcript" && nearBottom();
    const lines = [];
    for (const [source, text] of tentative) {
      if (!text) continue;
      const el = line(view === "transcript" ? "div" : "p", source, text, "open");
      if (view === "transcript") el.prepend(span("time", ""));
      lines.push(el);
    }
    tentativeBox.replaceChildren(...lines);
    if (follow) scrollDown();
  }

  function addCommitted(c) {
    noteSource(c.source, c.slot);
    const follow = view === "transcript" && nearBottom();
    const el = line(view === "transcript" ? "li" : "p", c.source, c.text, c.gap ? "gap" : "");
    if (view === "transcript") {
      const time = document.createElement("time");
      time.className = "time";
      time.dateTime = "PT" + Math.max(0, Number(c.start) || 0).toFixed(1) + "S";
      time.textContent = clock(c.start);
      el.prepend(time);
      if (emptyNote) emptyNote.hidden = true;
    }
    committedBox.append(el);
    tentative.delete(c.source);
    trim();
    renderTentative();
    if (follow) scrollDown();
  }

  function reset(data) {
    slots.clear();
    tentative.clear();
    for (const source of data.sources || []) noteSource(source);
    body.classList.toggle("multi", slots.size > 1);
    committedBox.replaceChildren();
    tentativeBox.replaceChildren();
    if (emptyNote) emptyNote.hidden = false;
  }

  function applyStyle(data) {
    const root = document.documentElement;
    for (const [name, value] of Object.entries(data.vars || {})) {
      if (name.startsWith("--cp-")) root.style.setProperty(name, String(value));
    }
    maxLines = Math.max(1, Number(data.lines) || 3);
    body.classList.toggle("transparent", Boolean(data.transparent));
    trim();
  }

  function handler(fn) {
    return (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (err) { return; }
      fn(data);
    };
  }

  function connect() {
    const url = "events?view=" + view + "&token=" + encodeURIComponent(token);
    stream = new EventSource(url);
    stream.addEventListener("open", () => setState("live", "Live"));
    stream.addEventListener("error", () => {
      if (stream.readyState === EventSource.CLOSED) {
        setState("offline", "Not connected; retrying…");
        setTimeout(connect, 5000);
      } else {
        setState("reconnecting", "Reconnecting…");
      }
    });
    stream.addEventListener("reset", handler(reset));
    stream.addEventListener("style", handler(applyStyle));
    stream.addEventListener("committed", handler(addCommitted));
    stream.addEventListener("tentative", handler((t) => {
      noteSource(t.source, t.slot);
      if (t.text) tentative.set(t.source, t.text); else tentative.delete(t.source);
      renderTentative();
    }));
  }

  connect();
})();
"""


def _head(title: str, token: str) -> str:
    return _HEAD.format(title=html.escape(title), token=html.escape(token, quote=True))


def live_page(token: str) -> str:
    """The live captions page, for a browser window or an OBS browser source."""
    return _head("Live captions", token) + _LIVE_BODY


def transcript_page(token: str) -> str:
    """Every committed line so far with its time and source, following along live."""
    return _head("Transcript", token) + _TRANSCRIPT_BODY


def stylesheet(style: PageStyle) -> str:
    """The static rules plus the current style as custom properties, so the first paint already looks right."""
    declarations = "".join(f"\n  {name}: {value};" for name, value in css_variables(style).items())
    return ":root {" + declarations + "\n}\n" + STYLESHEET
