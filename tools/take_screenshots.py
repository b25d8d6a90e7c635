#!/usr/bin/env python
"""Take the README screenshots of the desktop app under a real X server (Xvfb).

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python -m tools.take_screenshots MODEL_DIR

The app runs for real (model loaded from MODEL_DIR, a PulseAudio null sink as "system audio" when
pulseaudio is installed). The caption *text* is sample meeting dialogue injected through the same
slots the inference thread drives, because the test models have random weights and caption
gibberish. The overlay is composited over a mock video-call window exactly as a compositing window
manager would (Xvfb has none), so its translucency shows. The pictures are written to
``docs/screenshots/``, where the README links them.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SAMPLE = [
    (2.1, 5.0, "Good morning everyone, thanks for joining the weekly product sync."),
    (5.6, 9.8, "Let's start with the release status and then go through the open questions."),
    (10.4, 14.9, "The desktop build passed all checks yesterday evening."),
    (15.3, 19.2, "Priya, could you walk us through what changed in the installer?"),
    (20.0, 25.6, "Sure. We now ship the model in the package, so there is nothing to download at first start."),
    (26.1, 29.7, "Startup on a laptop without a GPU is under two seconds."),
    (30.4, 34.8, "That's great. Any feedback from the accessibility review?"),
    (35.5, 41.2, "Mostly positive. They asked for larger caption fonts and an outline for bright backgrounds."),
    (41.9, 45.0, "Both are in the overlay settings now."),
    (46.2, 50.3, "Perfect. Marco, what about the latency numbers on the older machines?"),
]
TENTATIVE = "We measured about six hundred milliseconds end to end on the"
TWO_SOURCES = [
    (1.2, 4.0, "Others", "Can everyone see the roadmap on my screen?"),
    (4.6, 5.9, "You", "Yes, it's clear."),
    (6.3, 11.0, "Others", "Good. The first milestone moved to the end of March."),
    (11.5, 15.2, "You", "Does that change the date for the beta testers?"),
    (15.8, 20.4, "Others", "No, the beta stays on the twelfth; only the public release moves."),
]
TWO_SOURCES_TENTATIVE = ("You", "Great, then I'll tell the support team this")


class MeetingMock(QWidget):
    """A stand-in for a video call, so the overlay has something to float over."""

    NAMES = ("Priya Natarajan", "Marco Rossi", "Aiko Tanaka", "Sam Okafor")
    COLOURS = ("#7c3aed", "#0891b2", "#db2777", "#ea580c")

    def paintEvent(self, event: object) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#111827"))
        w, h = self.width(), self.height() - 56
        gap = 10
        tw, th = (w - 3 * gap) / 2, (h - 3 * gap) / 2
        for i, (name, colour) in enumerate(zip(self.NAMES, self.COLOURS, strict=True)):
            x, y = gap + (i % 2) * (tw + gap), gap + (i // 2) * (th + gap)
            tile = QRectF(x, y, tw, th)
            grad = QLinearGradient(tile.topLeft(), tile.bottomRight())
            grad.setColorAt(0, QColor("#1f2937"))
            grad.setColorAt(1, QColor("#374151"))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(grad)
            p.drawRoundedRect(tile, 12, 12)
            p.setBrush(QColor(colour))
            p.drawEllipse(tile.center(), 46, 46)
            p.setPen(QColor("white"))
            f = QFont()
            f.setPixelSize(34)
            f.setBold(True)
            p.setFont(f)
            initials = "".join(part[0] for part in name.split())
            p.drawText(QRectF(tile.center().x() - 46, tile.center().y() - 46, 92, 92), Qt.AlignmentFlag.AlignCenter,
                       initials)
            f.setPixelSize(15)
            f.setBold(False)
            p.setFont(f)
            p.drawText(QRectF(x + 14, y + th - 34, tw, 24), name)
        bar = QRectF(0, self.height() - 56, self.width(), 56)
        p.fillRect(bar, QColor("#0b1220"))
        for k, c in enumerate(("#374151", "#374151", "#dc2626")):
            p.setBrush(QColor(c))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawRoundedRect(QRectF(self.width() / 2 - 80 + k * 56, bar.y() + 10, 44, 36), 18, 18)
        p.end()


def composite(background: QWidget, *above: QWidget) -> QPixmap:
    """What a compositing window manager shows: the overlays' ARGB pixels over the window below."""
    shot = background.grab()
    p = QPainter(shot)
    for w in above:
        if w.isVisible():
            p.drawPixmap(w.geometry().topLeft() - background.geometry().topLeft(), w.grab())
    p.end()
    return shot


def models_page(dialog: object, settle: object) -> None:
    """Settings -> Models with the real catalogue, a download of NVIDIA's model under way.

    The progress shown is injected into the page's progress slot (nothing is downloaded here: this
    machine has no route to the publisher); everything else is the real page.
    """
    from captioner.model_manager.download import DownloadProgress

    page = dialog.models_page  # type: ignore[attr-defined]
    dialog.tabs.setCurrentWidget(page)  # type: ignore[attr-defined]
    page.choice.setCurrentIndex(page.choice.findData("nvidia/stt_en_fastconformer_hybrid_large_streaming_multi"))
    page.accept_licence.setChecked(True)
    page.progress.show()
    page.cancel_button.show()
    page.download_button.setEnabled(False)
    page._on_download(DownloadProgress(187_300_000, 459_673_600, 6_400_000))
    settle()  # type: ignore[operator]
    dialog.adjustSize()  # type: ignore[attr-defined]
    settle()  # type: ignore[operator]
    dialog.grab().save(str(OUT / "settings-models.png"))  # type: ignore[attr-defined]


def overlay_contrast(dialog: Any, settle: Callable[[], None]) -> None:
    """Settings -> Overlay with the outline turned off: the default tentative colour's contrast warning."""
    page = dialog.overlay_page
    before = page.overlay_style()
    page.outline.setChecked(False)
    settle()
    dialog.adjustSize()
    settle()
    dialog.grab().save(str(OUT / "settings-overlay-contrast.png"))
    page.set_overlay_style(before)
    settle()


def demo_notice(c: object, settle: object) -> None:
    """The main window on the bundled demo model: the notice that leads to real models."""
    demo = ROOT / "models" / "captioner-demo-en"
    if not demo.is_dir():
        return
    c.settings.model_dir = str(demo)  # type: ignore[attr-defined]
    c.reload_model()  # type: ignore[attr-defined]
    for _ in range(300):
        settle(50)  # type: ignore[operator]
        if c.model_info is not None and c.model_info.name == demo.name:  # type: ignore[attr-defined]
            break
    settle()  # type: ignore[operator]
    c.window.grab().save(str(OUT / "demo-notice.png"))  # type: ignore[attr-defined]


def overlay_menu_and_idle(c: Any, meeting: QWidget, settle: Callable[[int], None]) -> None:
    """The overlay's right-click menu during a session, and the faint line it shows when nothing is captioned."""
    ov = c.overlay
    ov.set_activity("running")
    menu = ov.context_menu()
    height = menu.sizeHint().height()
    menu.popup(ov.mapToGlobal(QPoint(ov.width() * 2 // 3, 24 - height)))  # opened upwards, as near a screen's foot
    settle(400)
    composite(meeting, ov, menu).save(str(OUT / "overlay-menu.png"))
    menu.close()
    ov.clear()
    ov.set_activity("monitoring")
    settle(400)
    composite(meeting, ov).save(str(OUT / "overlay-idle.png"))


def two_sources(c: Any, meeting: QWidget, settle: Callable[[int], None]) -> None:
    """The main window and the overlay while a microphone ("You") and system audio ("Others") are captioned."""
    from captioner.asr.segmenter import Segment

    window = c.window
    window.transcript.clear()
    c.overlay.clear()
    picker = window.second_source
    if picker.count() < 2:
        picker.addItem("Default microphone", "default")
    picker.setCurrentIndex(1)
    window.labels_hint.setText("Captions are labelled “You” (microphone) and “Others” (system audio)")
    for start, end, source, text in TWO_SOURCES:
        c._on_segment(Segment(text, start, end, source=source))
    c._on_tentative(TWO_SOURCES_TENTATIVE[1], TWO_SOURCES_TENTATIVE[0])
    window.set_state("running")
    settle(400)
    window.grab().save(str(OUT / "main-window-two-sources.png"))
    c.overlay.show()
    c.overlay.raise_()
    settle(400)
    composite(meeting, c.overlay).save(str(OUT / "overlay-two-sources.png"))


def themes(c: Any, app: QApplication, settle: Callable[[int], None]) -> None:
    """The main window in the dark and the high-contrast theme (the transcript keeps the colours it was drawn
    with, so it is drawn again in each)."""
    from captioner.app.settings import AppTheme
    from captioner.app.theme import apply_theme
    from captioner.asr.segmenter import Segment

    for theme, name in ((AppTheme.DARK, "main-window-dark.png"), (AppTheme.HIGH_CONTRAST,
                                                                   "main-window-high-contrast.png")):
        apply_theme(app, theme)
        c.window.transcript.clear()
        for start, end, text in SAMPLE:
            c._on_segment(Segment(text, start, end))
        settle(400)
        c.window.grab().save(str(OUT / name))
    apply_theme(app, AppTheme.LIGHT)
    c.window.transcript.clear()
    for start, end, text in SAMPLE:
        c._on_segment(Segment(text, start, end))


def docked_strip(c: Any, meeting: QWidget, settle: Callable[[int], None]) -> None:
    """The overlay docked as a strip along the bottom of the meeting window's screen area."""
    import dataclasses

    from PySide6.QtCore import QRect

    screen = meeting.screen().availableGeometry()
    meeting.setGeometry(QRect(screen.x(), screen.y(), screen.width(), screen.height()))
    style = c.settings.overlay
    c.overlay.apply_style(dataclasses.replace(style, docked=True, lines=2, background_opacity=0.9))
    settle(400)
    composite(meeting, c.overlay).save(str(OUT / "overlay-docked.png"))
    c.overlay.apply_style(style)
    meeting.setGeometry(60, 60, 1280, 720)
    settle(200)


def main() -> int:
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "fixtures" / "models" / "tiny-a"
    tmp = Path(tempfile.mkdtemp(prefix="captioner-shots-"))
    pulse = None
    try:
        from tests.pulse_server import PulseServer

        if PulseServer.available():
            import os

            pulse = PulseServer(tmp, description="Built-in Audio Analog Stereo")
            pulse.start()
            # A microphone for the pickers (a null sink's monitor is system audio, not a microphone).
            pulse.pactl("load-module", "module-null-source", "source_name=builtin_mic",
                        'description="Built-in Microphone"')
            pulse.pactl("set-default-source", "builtin_mic")
            os.environ.update(pulse.client_env())
    except Exception as exc:  # screenshots still work, with fewer sources
        print(f"no PulseAudio: {exc}")
        pulse = None

    from PySide6.QtCore import QSettings

    from captioner.app.main import create_app
    from captioner.app.settings import AppSettings, save_settings
    from captioner.app.worker import Stats
    from captioner.asr.segmenter import Segment

    ini = tmp / "captioner.ini"
    save_settings(AppSettings(model_dir=str(model), lookahead_ms=480, source_key="system:captest.monitor"),
                  QSettings(str(ini), QSettings.Format.IniFormat))
    c = create_app(["--settings", str(ini)])
    app = QApplication.instance()
    assert isinstance(app, QApplication)

    def settle(ms: int = 400) -> None:
        import time

        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    for _ in range(300):
        settle(50)
        if c.model_info is not None:
            break
    c.worker.close_input()  # keep the (silent) device from feeding the random model during the shots
    for _ in range(100):  # its "idle" must arrive before the shots: it clears the tentative words
        settle(50)
        if c.state == "idle":
            break
    c.window.resize(980, 640)
    c.window.move(40, 40)
    c.window.banner.hide()
    for start, end, text in SAMPLE:
        c._on_segment(Segment(text, start, end))
    c._on_tentative(TENTATIVE)
    c.window.set_state("running")
    c.window.set_stats(Stats(0.07, 0.61, c.model_info.provider if c.model_info else "", 0.0, 0.0, 52.0))
    c.window.meter.set_level(-14.0)
    c.window.set_autosave_path(str(Path.home() / ".local/share/Captioner/sessions/2025-05-12_09-30-04.txt"))
    settle()
    c.window.grab().save(str(OUT / "main-window.png"))
    themes(c, app, settle)

    meeting = MeetingMock()
    meeting.setWindowTitle("Weekly product sync")
    meeting.setGeometry(60, 60, 1280, 720)
    meeting.show()
    c.overlay.setGeometry(60 + 160, 60 + 720 - 56 - 24 - c.overlay.height_for_lines(), 960,
                          c.overlay.height_for_lines())
    c.overlay.show()
    c.overlay.raise_()
    c.overlay._hover = True  # as when the pointer is over it: the move/resize affordances show
    settle()
    composite(meeting, c.overlay).save(str(OUT / "overlay.png"))
    c.overlay._hover = False
    c.set_click_through(True)
    c._on_tentative(TENTATIVE)
    settle()
    composite(meeting, c.overlay, c.overlay.hint_bubble).save(str(OUT / "overlay-click-through.png"))
    c.set_click_through(False)
    overlay_menu_and_idle(c, meeting, settle)
    two_sources(c, meeting, settle)
    docked_strip(c, meeting, settle)

    dialog = c.open_settings()
    dialog.move(QPoint(100, 80))
    for _ in range(200):
        settle(50)
        if dialog.model_page.report is not None:
            break
    dialog.adjustSize()
    settle()
    dialog.grab().save(str(OUT / "settings-model.png"))
    dialog.tabs.setCurrentWidget(dialog.overlay_page)
    settle()
    dialog.adjustSize()
    settle()
    dialog.grab().save(str(OUT / "settings-overlay.png"))
    overlay_contrast(dialog, settle)
    models_page(dialog, settle)
    dialog.reject()
    demo_notice(c, settle)
    c.shutdown()
    if pulse is not None:
        pulse.stop()
    print("\n".join(str(p) for p in sorted(OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
