"""Wires the pieces together: settings ↔ worker thread ↔ main window, overlay, tray and autosave.

Everything here runs on the GUI thread; all audio and inference work happens in the worker, which
is only ever spoken to through its command methods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QRect, QSettings, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication

from captioner.app.autosave import InterruptedSession, SessionLog, acknowledge, find_interrupted
from captioner.app.caption_page_host import CaptionPageHost, new_token
from captioner.app.export_dialog import TranscriptExportError, ask_and_export
from captioner.app.global_hotkey import GlobalHotkey, system_wide_shortcut
from captioner.app.main_window import GLOBAL_KEYS, KEYS, MainWindow
from captioner.app.overlay import FONT_RANGE, CaptionOverlay, click_through_hint
from captioner.app.platform_notes import overlay_limitations
from captioner.app.settings import AppSettings, AppTheme, EchoHandling, OverlayStyle, save_settings
from captioner.app.settings_dialog import SettingsDialog
from captioner.app.theme import apply_theme
from captioner.app.tray import Tray
from captioner.app.worker import InferenceWorker, Stats
from captioner.asr.segmenter import Segment
from captioner.audio.capture import AudioInput, DeviceCapture
from captioner.audio.devices import (
    SourceInfo,
    canonical_key,
    find_source,
    is_system_audio,
    list_sources,
    rescan_portaudio,
)
from captioner.audio.file_feeder import FileFeeder
from captioner.errors import AudioInputError
from captioner.formats import TranscriptFormat
from captioner.live.commands import SourceRequest
from captioner.live.model_loading import ModelInfo, ModelRequest
from captioner.live.state import PipelineState
from captioner.paths import is_bundled_demo, sessions_dir
from captioner.text_rules import RulesFormatError, TextRules, parse_rules

LEAVE_CLICK_THROUGH = GLOBAL_KEYS["click_through"]
START_PAUSE = GLOBAL_KEYS["start_pause"]
SHUTDOWN_WAIT_MS = 5000
LEVEL_HOLD_S = 0.25  # with two sources the meter shows the louder one heard this recently

# What happens, for the log file a user attaches to a bug report: never caption text above DEBUG.
log = logging.getLogger(__name__)


class CaptionerController(QObject):
    """The running app. ``input_file`` replaces the device with a file fed at ``speed``× real time."""

    sessionFinished = Signal()  # noqa: N815  (a file input has been captioned to its end)

    def __init__(self, settings: AppSettings, qsettings: QSettings, input_file: Path | None = None,
                 speed: float = 1.0, quit_when_done: bool = False, list_system_audio: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.qsettings = qsettings
        self.input_file = input_file
        self.speed = speed
        self.quit_when_done = quit_when_done
        self.model_info: ModelInfo | None = None
        self.state = PipelineState.IDLE
        self.session: SessionLog | None = None
        self.interrupted: InterruptedSession | None = None
        self._quitting = False
        # What the GUI has asked the worker for. Its state signals arrive queued and can be older than the
        # last request, so decisions about opening and releasing the device rest on these, not on them.
        self._input_requested = False  # an input is open or being opened in the worker
        self._captioning_requested = False  # a session is running or paused, or about to be
        self.sources: list[SourceInfo] = [] if input_file else list_sources(include_system=list_system_audio)
        # A key saved from an entry no longer listed (the ALSA "pulse" device, now "Default microphone").
        settings.source_key = canonical_key(settings.source_key, self.sources)
        if settings.second_source_key:
            settings.second_source_key = canonical_key(settings.second_source_key, self.sources)
        self._rescan_before_open = False
        self._opening: set[str] = set()  # labels of the sources last asked for that have not failed
        self._tentatives: dict[str, str] = {}  # open text per source label
        self._levels: dict[str, tuple[float, float]] = {}  # dBFS and when, per source label
        self._last_stats: Stats | None = None  # summed up in the log when a session ends

        self.worker = InferenceWorker()
        self.window = MainWindow()
        self.overlay = CaptionOverlay(settings.overlay, LEAVE_CLICK_THROUGH)
        self.overlay.set_idle_mode(settings.overlay_idle_mode)
        self.tray = Tray(LEAVE_CLICK_THROUGH, self)
        self.caption_page = CaptionPageHost()
        self.text_rules = self._text_rules()
        self._restore_geometry()
        self._connect()
        self._show_sources()
        self.worker.start()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._colour_scheme_changed)
        self._apply_caption_page()
        self.reload_model()
        if not input_file:
            self._offer_interrupted_session()
            self._open_selected_source()

    # -- wiring ------------------------------------------------------------------------------------
    def _connect(self) -> None:
        w, ov, wk, tray = self.window, self.overlay, self.worker, self.tray
        w.startRequested.connect(self.start)
        w.pauseRequested.connect(self.pause)
        w.stopRequested.connect(self.stop)
        w.sourceChosen.connect(self.choose_source)
        w.secondSourceChosen.connect(self.choose_second_source)
        w.settingsRequested.connect(self.open_settings)
        w.realModelsRequested.connect(self.open_models_page)
        w.recoveredOpenRequested.connect(self.open_interrupted_session)
        w.recoveredDismissed.connect(self.dismiss_interrupted_session)
        w.demoNoticeDismissed.connect(self.dismiss_demo_notice)
        w.exportRequested.connect(self.export)
        w.overlayToggled.connect(self.set_overlay_visible)
        w.clickThroughToggled.connect(self.set_click_through)
        w.closeRequested.connect(self._window_close)
        wk.tentativeChanged.connect(self._on_tentative)
        wk.segmentCommitted.connect(self._on_segment)
        wk.statsUpdated.connect(self._on_stats)
        wk.levelChanged.connect(self._on_level)
        wk.modelLoaded.connect(self._on_model_loaded)
        wk.modelFailed.connect(self._on_model_failed)
        wk.stateChanged.connect(self._on_state)
        wk.statusMessage.connect(self._on_status)
        wk.inputFailed.connect(self._on_input_failed)
        wk.inputFinished.connect(self._on_input_finished)
        ov.geometryChangedByUser.connect(self._on_overlay_moved)
        ov.clickThroughChanged.connect(lambda on: tray.set_overlay(ov.isVisible(), on))
        ov.clickThroughChanged.connect(w.set_click_through)
        ov.startPauseRequested.connect(self.toggle_captioning)
        ov.clickThroughRequested.connect(self.set_click_through)
        ov.hideRequested.connect(lambda: self.set_overlay_visible(False))
        ov.fontStepRequested.connect(self.step_overlay_font)
        ov.idleModeChosen.connect(self.set_overlay_idle_mode)
        ov.settingsRequested.connect(self.open_settings)
        tray.showWindow.connect(self.show_window)
        tray.startPause.connect(self.toggle_captioning)
        tray.stop.connect(self.stop)
        tray.overlayVisible.connect(self.set_overlay_visible)
        tray.clickThrough.connect(self.set_click_through)
        tray.quit.connect(self.quit)
        # System-wide on X11 (the focus is in the meeting app while click-through is on); else in-app only.
        self.hotkey, self.hotkey_note = self._global_key(
            LEAVE_CLICK_THROUGH, lambda: self.set_click_through(not self.overlay.click_through))
        self.start_hotkey, self.start_hotkey_note = self._global_key(START_PAUSE, self.toggle_captioning)
        anywhere = self.start_hotkey is not None
        w.set_global_keys(START_PAUSE if anywhere else None, self.hotkey is not None)
        ov.set_start_key(START_PAUSE if anywhere else KEYS["start"], anywhere)
        ov.set_leave_hint(click_through_hint(LEAVE_CLICK_THROUGH, self.hotkey is not None, tray.available))
        tray.set_start_key(START_PAUSE if anywhere else None)

    def _global_key(self, key: str, action: Callable[[], None]) -> tuple[GlobalHotkey | None, str]:
        """``key`` system-wide where the platform allows (X11), else while a Captioner window has the focus."""
        hotkey, note = system_wide_shortcut(key, QGuiApplication.platformName(), self)
        if hotkey is not None:
            hotkey.activated.connect(action)
        else:
            for widget in (self.window, self.overlay):
                sc = QShortcut(QKeySequence(key), widget)
                sc.setContext(Qt.ShortcutContext.ApplicationShortcut)
                sc.activated.connect(action)
        log.info("Shortcut: %s", note)
        return hotkey, note

    def _restore_geometry(self) -> None:
        if self.settings.window_geometry:
            self.window.restoreGeometry(self.settings.window_geometry)
        geom = self.settings.overlay_geometry
        if geom:
            self.overlay.set_place(QRect(*geom))
        else:
            self.overlay.place_default()

    def show(self) -> None:
        self.window.show()
        self.set_overlay_visible(self.settings.overlay_visible)
        note = overlay_limitations(self.tray.available)
        if note:
            self.window.show_message(note, 0)

    # -- model -------------------------------------------------------------------------------------
    def model_request(self) -> ModelRequest | None:
        s = self.settings
        if not s.model_dir:
            return None
        return ModelRequest(s.model_dir, s.decoder, s.lookahead_ms, s.provider, s.language)

    def reload_model(self) -> None:
        req = self.model_request()
        if req is None:
            self.window.set_model(None)
            return
        self.window.set_model(self.model_info, loading=req.model_dir)
        log.info("Loading the model in %s (decoder %s, lookahead %s, provider %s)", req.model_dir, req.decoder,
                 req.lookahead_ms or "live default", req.provider)
        self.worker.load_model(req)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info
        self.window.set_model(info)
        self.window.show_demo_notice(is_bundled_demo(Path(info.path)) and not self.settings.demo_notice_dismissed)

    def open_models_page(self) -> SettingsDialog:
        dialog = self.open_settings()
        dialog.tabs.setCurrentWidget(dialog.models_page)
        return dialog

    def _offer_interrupted_session(self) -> None:
        found = find_interrupted(sessions_dir())
        self.interrupted = found
        if found is not None:
            log.info("The session of %s ended without a clean stop (%d lines saved)", found.started, found.lines)
            self.window.show_recovery_notice(
                f"The session of {found.started.replace('T', ' ')} did not end cleanly (Captioner was closed by "
                f"force or crashed). Its {found.lines} caption lines are saved in {found.txt_path}.")

    def open_interrupted_session(self) -> None:
        if self.interrupted is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.interrupted.txt_path)))
            self.dismiss_interrupted_session()

    def dismiss_interrupted_session(self) -> None:
        if self.interrupted is not None:
            with contextlib.suppress(OSError):
                acknowledge(self.interrupted)
            self.interrupted = None
        self.window.show_recovery_notice(None)

    def dismiss_demo_notice(self) -> None:
        self.settings.demo_notice_dismissed = True
        self._save()
        self.window.show_demo_notice(False)

    def _on_model_failed(self, message: str) -> None:
        self.window.set_model(self.model_info)
        kept = f" The current model ({self.model_info.name}) stays active." if self.model_info else ""
        log.warning("Model not loaded: %s%s", message, kept)
        self.window.show_message(message + kept, 0)

    # -- sources -----------------------------------------------------------------------------------
    def _source_requests(self) -> tuple[SourceRequest, ...]:
        """The sources to caption: the file, or the chosen source and, if set, a second one of the other kind.

        Two sources are labelled (the microphone "You", system audio "Others" by default) and, unless the user
        keeps both, words heard on both are shown once, as system audio's.
        """
        requests: tuple[SourceRequest, ...]
        if self.input_file is not None:
            path, speed = self.input_file, self.speed
            requests = (SourceRequest(lambda: FileFeeder(path, speed=speed)),)
        else:
            s = self.settings
            second_key = s.second_source_key
            if second_key and is_system_audio(second_key) != is_system_audio(s.source_key):
                requests = tuple(
                    SourceRequest(factory, self._label_for(key),
                                  is_system_audio(key) and s.echo is EchoHandling.KEEP_SYSTEM_AUDIO)
                    for key, factory in ((s.source_key, self._first_device),
                                         (second_key, lambda: self._device(second_key))))
            else:
                requests = (SourceRequest(self._first_device),)
        self._opening = {r.label for r in requests}
        return requests

    def _label_for(self, key: str) -> str:
        return self.settings.system_audio_label if is_system_audio(key) else self.settings.microphone_label

    def _device(self, key: str) -> AudioInput:
        source = find_source(key) or find_source(key, self.sources)
        if source is None:
            raise AudioInputError(f"The second source ({key.partition(':')[2] or key}) is not connected. Pick "
                                  "another one under “Also caption”, or “Nothing else”.")
        return DeviceCapture(source)

    def _first_device(self) -> AudioInput:
        if self._rescan_before_open:
            # A source picked in the main window: PortAudio is re-scanned (the worker closed the
            # previous stream before calling this), so a device plugged in since start-up is found.
            self._rescan_before_open = False
            rescan_portaudio()
        # PortAudio's current list first: device indices change when the capture re-scans.
        source = find_source(self.settings.source_key) or find_source(self.settings.source_key, self.sources)
        if source is None and self.sources:
            source = self.sources[0]
        if source is None:
            raise AudioInputError("No audio input device was found. Plug in a microphone, or run "
                                  "Captioner with --input-file to caption a recording.")
        return DeviceCapture(source)

    def _show_sources(self) -> None:
        s = self.settings
        self.window.set_sources(self.sources, s.source_key,
                                f"File: {self.input_file.name}" if self.input_file else None,
                                s.second_source_key, (s.microphone_label, s.system_audio_label))

    def _open_selected_source(self) -> None:
        self._input_requested = True
        self.worker.open_sources(self._source_requests())

    def choose_source(self, key: str) -> None:
        """Open the source picked in the main window; picking the current one again reconnects it
        (how a user gets a device back where it cannot be noticed coming back, see capture.py)."""
        log.info("Audio source picked: %s", key)
        if key != self.settings.source_key:
            self.settings.source_key = key
            self._save()
            self._show_sources()
        self._rescan_before_open = True
        self._open_selected_source()

    def choose_second_source(self, key: str) -> None:
        """Caption a second source too ("" for none): system audio beside a microphone, or the other way."""
        log.info("Second audio source picked: %s", key or "none")
        if key != self.settings.second_source_key:
            self.settings.second_source_key = key
            self._save()
            self._show_sources()
        if self.input_file is None:
            self._open_selected_source()

    # -- session control ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.state is PipelineState.PAUSED:
            self.worker.resume()
            return
        if self.state is PipelineState.RUNNING:
            return
        reopen = self.input_file is not None or not self._input_requested
        # Caption times count from this moment, as the session log's start time does (see worker).
        started_at = None if self.input_file is not None else time.monotonic()
        log.info("Session start: %s", f"file {self.input_file}" if self.input_file is not None else
                 " + ".join(k for k in (self.settings.source_key, self.settings.second_source_key) if k))
        self._new_session()
        self._input_requested = self._captioning_requested = True
        self.worker.start_session(self._source_requests() if reopen else None, started_at)

    def pause(self) -> None:
        log.info("Pause")
        self.worker.pause()

    def stop(self) -> None:
        log.info("Stop")
        self.worker.stop_captioning()
        self._captioning_requested = False
        if not self.window.isVisible() and not self._quitting:
            self._release_idle_input()  # stopped from the tray: the level meter is not on screen

    def toggle_captioning(self) -> None:
        """Start, pause or resume: the tray's item, the overlay's menu and the system-wide key."""
        if self.state is PipelineState.RUNNING:
            self.pause()
        else:
            self.start()

    def _new_session(self) -> None:
        self._close_session()
        self.window.transcript.clear()
        self.overlay.clear()
        self.caption_page.clear()
        self._tentatives.clear()
        if self.settings.autosave:
            try:
                self.session = SessionLog(sessions_dir(), datetime.now(), on_problem=self._on_autosave_problem)
                self.window.set_autosave_path(str(self.session.txt_path))
            except OSError as exc:
                log.warning("Autosave is off for this session: %s", exc)
                self.window.show_message(f"Autosave is off for this session: {exc}", 0)

    def _on_autosave_problem(self, message: str, resumed: bool) -> None:
        log.log(logging.INFO if resumed else logging.WARNING, "%s", message)
        self.window.show_message(message, 10_000 if resumed else 0)
        if not resumed and not self.window.isVisible():
            self.tray.notify("Captioner: autosave paused", message)

    def _close_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def _on_state(self, state: PipelineState) -> None:
        stats = self._last_stats
        if self.state.in_session and not state.in_session and stats is not None:
            log.info("Session end; its last stats: %.1f s of audio, compute %.2f × real time, newest caption %s s "
                     "after its audio, %.1f s dropped, %d device overflows", stats.audio_s, stats.rtf,
                     "-" if stats.latency_s is None else f"{stats.latency_s:.2f}", stats.dropped_s,
                     stats.device_overflows)
        self.state = state
        self.window.set_state(state)
        self.tray.set_state(state)
        self.overlay.set_activity(state)
        if state is not PipelineState.RUNNING:
            self._tentatives.clear()
            self.overlay.set_tentative("")

    def _on_input_failed(self, text: str, source: str = "") -> None:
        self._opening.discard(source)
        if not self._opening:
            self._input_requested = self._captioning_requested = False  # nothing is open: Start opens it again
        if source:
            text = f"{source}: {text}"
        log.warning("Audio input failed: %s", text)
        self.window.show_message(text, 0)
        if not self.window.isVisible():
            self.tray.notify("Captioner: no audio", text)
        if self.quit_when_done and self.input_file is not None:  # nothing will ever finish: say why and leave
            print(f"captioner: {text}", file=sys.stderr)
            self.quit(exit_code=1)

    def _on_input_finished(self, problem: str = "", source: str = "") -> None:
        self._captioning_requested = False
        if problem:
            log.warning("The file stopped early: %s", problem)
            self.window.show_message(problem, 0)
            print(f"captioner: {problem}", file=sys.stderr)
        else:
            name = self.input_file.name if self.input_file else "the file"
            log.info("Finished captioning %s", name)
            self.window.show_message(f"Finished captioning {name}.")
        self._close_session()
        self.sessionFinished.emit()
        if self.quit_when_done:
            self.quit(exit_code=1 if problem else 0)

    # -- captions ----------------------------------------------------------------------------------
    def _on_segment(self, segment: Segment) -> None:
        # What was said: DEBUG only (--debug), never in a log made without the user asking for it.
        log.debug("Caption %.2f-%.2f s%s: %s", segment.start_s, segment.end_s,
                  f" [{segment.source}]" if segment.source else "", segment.text)
        segment = self._apply_text_rules(segment)
        self.caption_page.committed(segment)
        self.window.transcript.add_segment(segment)
        if segment.gap:
            self.overlay.mark_gap()
        else:
            self.overlay.add_committed(segment.text, segment.source)
        if self.session is not None:
            self.session.add(segment)

    def _apply_text_rules(self, segment: Segment) -> Segment:
        """The user's word replacements and profanity mask; the recognised words stay in ``heard`` (JSON)."""
        if segment.gap or not self.text_rules.active:
            return segment
        shown = self.text_rules.apply(segment.text)
        return segment if shown == segment.text else dataclasses.replace(segment, text=shown, heard=segment.text)

    def _text_rules(self) -> TextRules:
        try:
            rules = parse_rules(self.settings.word_rules)
        except RulesFormatError as exc:  # a hand-edited settings file: keep the rules that read, say why
            self.window.show_message(f"Some word replacements were ignored: {exc}", 0)
            rules = ()
        return TextRules(rules, self.settings.mask_profanity)

    def _on_tentative(self, text: str, source: str = "") -> None:
        if self.text_rules.active:
            text = self.text_rules.apply(text)
        self.caption_page.tentative(text, source)
        self._tentatives.pop(source, None)
        if text:
            self._tentatives[source] = text  # the newest last
        shown = "   ".join(f"{label}: {words}" if label else words for label, words in self._tentatives.items())
        self.window.transcript.set_tentative(shown)
        newest_source, newest = next(reversed(self._tentatives.items()), ("", ""))
        self.overlay.set_tentative(newest, newest_source)
        if self.session is not None:
            self.session.tentative(text, source)

    def _on_level(self, dbfs: float, source: str = "") -> None:
        now = time.monotonic()
        self._levels[source] = (dbfs, now)
        self.window.meter.set_level(max(db for db, at in self._levels.values() if now - at <= LEVEL_HOLD_S))

    def _on_stats(self, stats: Stats) -> None:
        self._last_stats = stats
        self.window.set_stats(stats)

    def _on_status(self, text: str) -> None:
        """A line from the caption thread (a device lost or back, an internal error) for the user and the log."""
        log.info("Caption thread: %s", text)
        self.window.show_message(text, 0)

    # -- overlay -----------------------------------------------------------------------------------
    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay.setVisible(visible)
        self.settings.overlay_visible = visible
        w = self.window.overlay_btn
        w.blockSignals(True)
        w.setChecked(visible)
        w.blockSignals(False)
        self.tray.set_overlay(visible, self.overlay.click_through)
        self._save()

    def set_click_through(self, on: bool) -> None:
        if on and not self.overlay.isVisible():
            self.set_overlay_visible(True)
        self.overlay.set_click_through(on)
        self.tray.set_overlay(self.overlay.isVisible(), on)
        if on:
            where = "" if self.hotkey is not None else f" ({self.hotkey_note})"
            self.tray.notify("Click-through on", f"Press {LEAVE_CLICK_THROUGH} or use this menu to leave it{where}.")

    def step_overlay_font(self, step: int) -> None:
        """The overlay menu's Larger / Smaller text: a new font size, kept like one set in Settings."""
        low, high = FONT_RANGE
        size = max(low, min(high, self.settings.overlay.font_size + step))
        self.settings.overlay = dataclasses.replace(self.settings.overlay, font_size=size)
        self.overlay.apply_style(self.settings.overlay)
        self._on_overlay_moved(self.overlay.geometry())  # its height follows the font

    def set_overlay_idle_mode(self, mode: str) -> None:
        """What the overlay shows while nothing is captioned (its menu, or Settings)."""
        self.overlay.set_idle_mode(mode)
        self.settings.overlay_idle_mode = self.overlay.idle_mode
        self._save()

    def _on_overlay_moved(self, rect: QRect) -> None:
        if self.overlay.docked:  # the strip is not the user's place for the overlay: keep that one
            return
        self.settings.overlay_geometry = (rect.x(), rect.y(), rect.width(), rect.height())
        self._save()

    def apply_overlay_style(self, style: OverlayStyle) -> None:
        self.overlay.apply_style(style)

    # -- theme ---------------------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.settings.app_theme)

    def _colour_scheme_changed(self) -> None:
        """The desktop went light or dark: follow it when the theme is the desktop's."""
        if self.settings.app_theme is AppTheme.SYSTEM:
            self._apply_theme()

    # -- caption page ------------------------------------------------------------------------------
    def _apply_caption_page(self) -> None:
        """Start, restyle or stop the local caption page as Settings say (a first start makes its token)."""
        s = self.settings
        if s.caption_page_enabled and not s.caption_page_token:
            s.caption_page_token = new_token()
            self._save()
        message = self.caption_page.apply(s)
        if message:
            self.window.show_message(message, 0)

    # -- settings ----------------------------------------------------------------------------------
    def open_settings(self) -> SettingsDialog:
        """Show the dialog (non-modal so tests and screenshots can drive it); applied on accept."""
        dialog = SettingsDialog(self.settings, self.sources, self.model_info, self.window)
        dialog.overlayPreview.connect(self.apply_overlay_style)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def apply_settings(self, new: AppSettings) -> None:
        old = self.settings
        model_changed = (new.model_dir, new.decoder, new.lookahead_ms, new.provider, new.language) != (
            old.model_dir, old.decoder, old.lookahead_ms, old.provider, old.language)
        source_changed = (new.source_key, new.second_source_key, new.microphone_label, new.system_audio_label,
                          new.echo) != (old.source_key, old.second_source_key, old.microphone_label,
                                        old.system_audio_label, old.echo)
        self.settings = dataclasses.replace(new, overlay_geometry=old.overlay_geometry,
                                            overlay_visible=old.overlay_visible)
        self.overlay.apply_style(self.settings.overlay)
        self.overlay.set_idle_mode(self.settings.overlay_idle_mode)
        self._save()
        self._apply_caption_page()
        self.text_rules = self._text_rules()
        if new.app_theme != old.app_theme:
            self._apply_theme()
        if model_changed:
            self.reload_model()
        if source_changed and self.input_file is None:
            self._show_sources()
            self._open_selected_source()

    def _save(self) -> None:
        save_settings(self.settings, self.qsettings)

    # -- export ------------------------------------------------------------------------------------
    def export(self, fmt: TranscriptFormat | str) -> Path | None:
        fmt = TranscriptFormat(fmt)
        segments = self.window.transcript.segments()
        if not segments:
            self.window.show_message("Nothing to export yet: the transcript is empty.")
            return None
        stem = datetime.now().strftime("captions-%Y-%m-%d_%H-%M")
        docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        try:
            path = ask_and_export(self.window, segments, fmt, Path(docs or Path.home()) / stem,
                                  self.model_info.name if self.model_info else None)
        except TranscriptExportError as exc:
            log.warning("Export as %s failed: %s", fmt.value, exc)
            self.window.show_message(str(exc), 0)
            return None
        if path is not None:
            log.info("Exported %d caption lines as %s", len(segments), fmt.value)
            self.window.show_message(f"Saved {path}")
        return path

    # -- window and quitting -----------------------------------------------------------------------
    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        if self.input_file is None and not self._input_requested:
            self._open_selected_source()  # the level meter is back with the window

    def _window_close(self) -> None:
        if self.tray.available and not self._quitting:
            self.window.hide()
            if self._release_idle_input():
                self.tray.notify("Captioner is in the tray", "The microphone is off until you start captioning.")
            elif self._captioning_requested:
                self.tray.notify("Captioner is still running", "Captions continue; use the tray icon to quit.")
            else:
                self.tray.notify("Captioner is in the tray", "Use the tray icon to open it again or to quit.")
        else:
            self.quit()

    def _release_idle_input(self) -> bool:
        """Close a device that only feeds the level meter while nobody can see the meter; True if it did.

        Why: an open microphone lights the system's "microphone in use" indicator; a captioning app
        sitting in the tray must not look like it is listening when it is not.
        """
        if self.input_file is not None or self._captioning_requested or not self._input_requested:
            return False
        self.worker.close_input()
        self._input_requested = False
        return True

    def quit(self, exit_code: int = 0) -> None:
        """Commit open text, stop the worker, save settings and leave (with ``exit_code``)."""
        if self._quitting:
            return
        self._quitting = True
        self.shutdown()
        QApplication.exit(exit_code)

    def shutdown(self) -> None:
        """Safe to call again (``main`` does after the event loop ends): a worker that had not
        stopped the first time gets another wait, and only then is the session log closed."""
        self.settings.window_geometry = bytes(self.window.saveGeometry().data())
        self._save()
        if self.worker.isRunning():
            log.info("Shutting down")
        stopped = self.worker.shutdown(SHUTDOWN_WAIT_MS)
        QApplication.sendPostedEvents()  # deliver the last committed segments before closing the log
        QApplication.processEvents()
        if stopped:
            self._close_session()
        elif self.session is not None:
            # Its last lines are still to come (through queued signals): keep the log open for them,
            # and put what it has on disk now in case the process ends first.
            self.session.sync()
        for hotkey in (self.hotkey, self.start_hotkey):
            if hotkey is not None:
                hotkey.stop()
        self.caption_page.stop()
        self.tray.icon.hide()
        self.overlay.close()
        self.window.hide()
