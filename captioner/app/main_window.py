"""The main window: controls, source picker with level meter, model status and the transcript.

A view only: it emits what the user asked for and shows what it is told; the controller wires it
to the worker, the overlay and the settings.
"""

# ruff: noqa: N802, N815

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from captioner.app.icons import app_icon, dot_icon, glyph_icon
from captioner.app.level_meter import LevelMeter
from captioner.app.qt_util import timer
from captioner.app.transcript import TranscriptView
from captioner.app.worker import Stats
from captioner.audio.devices import SourceInfo, is_system_audio
from captioner.formats import TranscriptFormat
from captioner.live.model_loading import ModelInfo

STATE_TEXT = {
    "idle": ("Stopped", "#e2e8f0", "#334155"),
    "monitoring": ("Ready", "#e0f2fe", "#075985"),
    "running": ("● Captioning", "#fee2e2", "#b91c1c"),
    "paused": ("❚❚ Paused", "#fef3c7", "#92400e"),
}
KEYS = {"start": "Ctrl+R", "pause": "Ctrl+P", "stop": "Ctrl+Shift+S", "settings": "Ctrl+,"}
"""Window-wide shortcuts: they live on the window, not on the buttons, so a button's changing text
(Start / Resume, each with its own mnemonic) can never take them away."""
GLOBAL_KEYS = {"click_through": "Ctrl+Shift+L", "start_pause": "Ctrl+Alt+Space"}
"""Shortcuts meant to work from any window (system-wide on X11, see global_hotkey.py; elsewhere
while a Captioner window has the focus). The controller grabs them; the window names them.

Ctrl+Alt+Space starts and pauses: Space is play/pause everywhere, and meeting apps leave it alone
(Teams raises a hand with Ctrl+Shift+K and mutes with Ctrl+Shift+M, Slack toggles a huddle's
microphone with Ctrl+Shift+Space, Zoom uses Alt+letter, Meet Ctrl+D/E), as do browsers (their
consoles are Ctrl+Shift+J/K), terminals and the GNOME, KDE and Xfce defaults. Some editors use it
(Emacs marks an expression with it); while Captioner runs on X11, the key is Captioner's."""
EXPORT_FORMATS = (("Text (.txt)", TranscriptFormat.TEXT), ("Text with times (.txt)", TranscriptFormat.TIMED_TEXT),
                  ("SubRip subtitles (.srt)", TranscriptFormat.SRT), ("WebVTT (.vtt)", TranscriptFormat.VTT),
                  ("JSON (.json)", TranscriptFormat.JSON))


class NoticeBar(QFrame):
    """A coloured bar above the transcript: a sentence and its buttons; hidden until needed."""

    def __init__(self, parent: QWidget, name: str, colours: tuple[str, str, str]) -> None:
        super().__init__(parent)
        background, border, ink = colours
        self.setObjectName(name)
        self.setStyleSheet(f"QFrame#{name} {{ background: {background}; border: 1px solid {border}; "
                           f"border-radius: 8px; }} QFrame#{name} QLabel {{ color: {ink}; }}")
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(10, 8, 10, 8)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self._row.addWidget(self.text, 1)
        self.hide()

    def button(self, label: str, action: Callable[[], None], accessible_name: str | None = None) -> QPushButton:
        button = QPushButton(label, self)
        button.clicked.connect(lambda: action())
        if accessible_name:
            button.setAccessibleName(accessible_name)
        self._row.addWidget(button)
        return button


class MainWindow(QMainWindow):
    startRequested = Signal()
    pauseRequested = Signal()
    stopRequested = Signal()
    sourceChosen = Signal(str)
    secondSourceChosen = Signal(str)  # "": caption one source
    settingsRequested = Signal()
    exportRequested = Signal(str)
    overlayToggled = Signal(bool)
    clickThroughToggled = Signal(bool)
    closeRequested = Signal()
    realModelsRequested = Signal()
    demoNoticeDismissed = Signal()
    recoveredOpenRequested = Signal()
    recoveredDismissed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle("Captioner")
        self.setWindowIcon(app_icon())
        self.resize(860, 600)
        self._state = "idle"
        self._has_model = False
        self._start_pause_key: str | None = None

        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(14, 12, 14, 8)
        outer.setSpacing(10)
        outer.addWidget(self._controls_card())
        self.banner = QLabel(central)
        self.banner.setObjectName("Banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel#Banner { background: #fffbeb; color: #78350f; border: 1px solid "
                                  "#fcd34d; border-radius: 8px; padding: 8px 10px; }")
        self.banner.hide()
        self._banner_timer = timer(self, 10_000, self.banner.hide)
        outer.addWidget(self.banner)
        outer.addWidget(self._demo_notice(central))
        outer.addWidget(self._recovery_notice(central))
        self.transcript = TranscriptView(central)
        outer.addWidget(self.transcript, 1)
        self.setCentralWidget(central)
        self._status_bar()
        self._shortcuts()
        self.set_global_keys(None, False)  # sets the state too

    # -- building ----------------------------------------------------------------------------------
    def _controls_card(self) -> QFrame:
        card = QFrame(self)
        card.setObjectName("Card")
        grid = QVBoxLayout(card)
        grid.setContentsMargins(12, 10, 12, 10)
        grid.setSpacing(8)

        row = QHBoxLayout()
        row.setSpacing(6)
        self.start_btn = QPushButton(glyph_icon("record", "#ffffff"), "&Start", card)
        self.start_btn.setObjectName("StartButton")
        self.start_btn.setToolTip(f"Start captioning ({KEYS['start']})")
        self.start_btn.clicked.connect(lambda: self.startRequested.emit())
        self.pause_btn = QPushButton(glyph_icon("pause", "#334155"), "&Pause", card)
        self.pause_btn.clicked.connect(lambda: self.pauseRequested.emit())
        self.stop_btn = QPushButton(glyph_icon("stop", "#334155"), "S&top", card)
        self.stop_btn.setToolTip(f"Stop and finish this session ({KEYS['stop']})")
        self.stop_btn.clicked.connect(lambda: self.stopRequested.emit())
        for b in (self.start_btn, self.pause_btn, self.stop_btn):
            row.addWidget(b)
        row.addSpacing(14)
        src_label = QLabel("Source", card)
        src_label.setObjectName("Muted")
        row.addWidget(src_label)
        self.source = QComboBox(card)
        self.source.setMinimumWidth(260)
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(24)
        self.source.activated.connect(lambda i: self.sourceChosen.emit(str(self.source.itemData(i))))
        row.addWidget(self.source, 1)
        self.meter = LevelMeter(card)
        self.meter.setFixedWidth(130)
        row.addWidget(self.meter)
        grid.addLayout(row)

        also = QHBoxLayout()
        also.setSpacing(6)
        also_label = QLabel("Also &caption", card)
        also_label.setObjectName("Muted")
        self.second_source = QComboBox(card)
        self.second_source.setAccessibleName("Also caption")
        self.second_source.setToolTip("A second source captioned at the same time: the other people in a call "
                                      "(system audio) beside your microphone, or the other way round")
        self.second_source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.second_source.setMinimumContentsLength(24)
        self.second_source.activated.connect(
            lambda i: self.secondSourceChosen.emit(str(self.second_source.itemData(i) or "")))
        also_label.setBuddy(self.second_source)
        self.labels_hint = QLabel("", card)
        self.labels_hint.setObjectName("Muted")
        also.addWidget(also_label)
        also.addWidget(self.second_source, 1)
        also.addWidget(self.labels_hint)
        self._also_row = [also_label, self.second_source, self.labels_hint]
        grid.addLayout(also)

        row2 = QHBoxLayout()
        row2.setSpacing(8)
        self.model_dot = QLabel(card)
        self.model_name = QLabel("No model loaded", card)
        self.model_name.setObjectName("ModelName")
        self.model_detail = QLabel("Open Settings to choose a model folder.", card)
        self.model_detail.setObjectName("ModelDetail")
        self.model_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row2.addWidget(self.model_dot)
        row2.addWidget(self.model_name)
        row2.addWidget(self.model_detail, 1)
        self.overlay_btn = QPushButton("Overlay", card)
        self.overlay_btn.setCheckable(True)
        self.overlay_btn.setToolTip("Show or hide the caption overlay")
        self.overlay_btn.toggled.connect(lambda on: self.overlayToggled.emit(bool(on)))
        # Click-through needs a way in and out on every desktop, tray or not (GNOME shows none by default).
        self.click_through_btn = QPushButton("Cl&ick-through", card)
        self.click_through_btn.setCheckable(True)
        self.click_through_btn.toggled.connect(lambda on: self.clickThroughToggled.emit(bool(on)))
        self.export_btn = QToolButton(card)
        self.export_btn.setText("Export")
        self.export_btn.setToolTip("Save the transcript as text, subtitles or JSON")
        self.export_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_btn)
        for label, fmt in EXPORT_FORMATS:
            act = QAction(label, menu)
            act.triggered.connect(lambda _=False, f=fmt: self.exportRequested.emit(f.value))
            menu.addAction(act)
        self.export_btn.setMenu(menu)
        settings_btn = QPushButton("Settin&gs…", card)
        settings_btn.setToolTip(f"Model, audio source and caption style ({KEYS['settings']})")
        settings_btn.clicked.connect(lambda: self.settingsRequested.emit())
        self.settings_btn = settings_btn
        row2.addWidget(self.overlay_btn)
        row2.addWidget(self.click_through_btn)
        row2.addWidget(self.export_btn)
        row2.addWidget(settings_btn)
        grid.addLayout(row2)
        self._set_model_dot("#94a3b8")
        return card

    def _demo_notice(self, parent: QWidget) -> QFrame:
        """Shown while the bundled demo model is active: what it is for, and the way to a real model."""
        self.demo_notice = notice = NoticeBar(parent, "DemoNotice", ("#eff6ff", "#93c5fd", "#1e3a8a"))
        self.demo_text = notice.text
        self.demo_text.setText(
            "This is the small demo model that comes with Captioner: it understands clear, synthetic-sounding "
            "English and little else. For real meetings, download one of NVIDIA's models (free, two clicks).")
        self.real_models_btn = notice.button("Get a real model…", self.realModelsRequested.emit)
        self.dismiss_demo_btn = notice.button("Don't show again", self.demoNoticeDismissed.emit,
                                              "Don't show the demo model notice again")
        return notice

    def _recovery_notice(self, parent: QWidget) -> QFrame:
        """Shown at start when the last session did not end cleanly: its transcript is safe, one click away."""
        self.recovery_notice = notice = NoticeBar(parent, "RecoveryNotice", ("#fffbeb", "#fcd34d", "#78350f"))
        self.recovery_text = notice.text
        self.recovery_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_recovered_btn = notice.button("Open transcript", self.recoveredOpenRequested.emit)
        self.dismiss_recovered_btn = notice.button("Dismiss", self.recoveredDismissed.emit,
                                                   "Dismiss the interrupted session notice")
        return notice

    def show_recovery_notice(self, text: str | None) -> None:
        if text:
            self.recovery_text.setText(text)
        self.recovery_notice.setVisible(bool(text))

    def show_demo_notice(self, visible: bool) -> None:
        self.demo_notice.setVisible(visible)

    def _shortcuts(self) -> None:
        for key, button in (("start", self.start_btn), ("pause", self.pause_btn), ("stop", self.stop_btn),
                            ("settings", self.settings_btn)):
            shortcut = QShortcut(QKeySequence(KEYS[key]), self)
            shortcut.activated.connect(lambda b=button: b.click() if b.isEnabled() else None)
        preferences = QKeySequence(QKeySequence.StandardKey.Preferences)
        if not preferences.isEmpty() and preferences != QKeySequence(KEYS["settings"]):
            QShortcut(preferences, self).activated.connect(self.settings_btn.click)

    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.state_pill = QLabel(self)
        self.state_pill.setObjectName("StatePill")
        self.stats_label = QLabel("", self)
        self.stats_label.setObjectName("Muted")
        self.autosave_label = QLabel("", self)
        self.autosave_label.setObjectName("Muted")
        bar.addWidget(self.state_pill)
        bar.addWidget(self.stats_label, 1)
        bar.addPermanentWidget(self.autosave_label)

    def _set_model_dot(self, colour: str) -> None:
        self.model_dot.setPixmap(dot_icon(colour, 10).pixmap(10, 10))

    # -- updates from the controller -----------------------------------------------------------------
    def set_sources(self, sources: list[SourceInfo], selected: str, file_label: str | None = None,
                    second: str = "", labels: tuple[str, str] = ("You", "Others")) -> None:
        """Fill the pickers; the second lists the sources of the other kind than ``selected`` (a microphone
        beside system audio), and ``labels`` are what captions of a microphone and of system audio are called."""
        self.source.clear()
        self.second_source.clear()
        for widget in self._also_row:
            widget.setVisible(not file_label)
        if file_label:
            self.source.addItem(file_label, "file")
            self.source.setEnabled(False)
            return
        self._fill_second(sources, selected, second, labels)
        for s in sources:
            self.source.addItem(s.label, s.key)
        index = self.source.findData(selected)
        if index < 0 and selected:
            self.source.addItem(f"{selected} (not connected)", selected)
            index = self.source.count() - 1
        self.source.setCurrentIndex(max(0, index))
        self.source.setEnabled(True)

    def _fill_second(self, sources: list[SourceInfo], selected: str, second: str, labels: tuple[str, str]) -> None:
        want_system = not is_system_audio(selected)
        self.second_source.addItem("Nothing else", "")
        for s in sources:
            if is_system_audio(s.key) == want_system:
                self.second_source.addItem(s.label, s.key)
        index = self.second_source.findData(second) if second else 0
        if index < 0 and is_system_audio(second) == want_system:
            self.second_source.addItem(f"{second.partition(':')[2] or second} (not connected)", second)
            index = self.second_source.count() - 1
        self.second_source.setCurrentIndex(max(0, index))
        self.second_source.setEnabled(self.second_source.count() > 1)
        if self.second_source.count() == 1:
            self.second_source.setItemText(0, "Nothing else (no system audio found)" if want_system
                                           else "Nothing else (no microphone found)")
        mic, system = labels
        both = self.second_source.currentData()
        self.labels_hint.setText(f"Captions are labelled “{mic}” (microphone) and “{system}” (system audio)"
                                 if both else "")

    def set_global_keys(self, start_pause: str | None, click_through_system_wide: bool) -> None:
        """Name the shortcuts that work from other windows in the tooltips (``start_pause`` None: none does)."""
        self._start_pause_key = start_pause
        key = GLOBAL_KEYS["click_through"]
        where = "from any window" if click_through_system_wide else "while a Captioner window has the focus"
        self.click_through_btn.setToolTip(f"Let clicks pass through the caption overlay to the window below "
                                          f"({key} turns it on and off {where})")
        anywhere = f"; {start_pause} from any window" if start_pause else ""
        self.pause_btn.setToolTip(f"Pause: audio is ignored until you resume ({KEYS['pause']}{anywhere})")
        self.set_state(self._state)

    def set_click_through(self, on: bool) -> None:
        """Show the overlay's click-through state without asking for it again."""
        self.click_through_btn.blockSignals(True)
        self.click_through_btn.setChecked(on)
        self.click_through_btn.blockSignals(False)

    def set_state(self, state: str) -> None:
        self._state = state
        text, bg, fg = STATE_TEXT.get(state, STATE_TEXT["idle"])
        self.state_pill.setText(text)
        self.state_pill.setStyleSheet(f"QLabel#StatePill {{ background: {bg}; color: {fg}; }}")
        running = state == "running"
        paused = state == "paused"
        self.start_btn.setText("&Resume" if paused else "&Start")
        anywhere = f"; {self._start_pause_key} from any window" if self._start_pause_key else ""
        self.start_btn.setToolTip(f"{'Resume' if paused else 'Start'} captioning ({KEYS['start']}{anywhere})")
        self.start_btn.setEnabled(self._has_model and not running)
        self.pause_btn.setEnabled(running)
        self.stop_btn.setEnabled(running or paused)
        if state in ("idle",):
            self.meter.reset()
        if not running:
            self.transcript.set_tentative("")

    def set_model(self, info: ModelInfo | None, loading: str | None = None) -> None:
        if loading:
            self.model_name.setText("Loading model…")
            self.model_detail.setText(loading)
            self._set_model_dot("#f59e0b")
            return
        self._has_model = info is not None
        if info is None:
            self.model_name.setText("No model loaded")
            self.model_detail.setText("Open Settings to choose a model folder.")
            self._set_model_dot("#ef4444")
        else:
            self.model_name.setText(info.name)
            provider = info.provider.removesuffix("ExecutionProvider")
            self.model_detail.setText(f"{info.lookahead_ms} ms lookahead  ·  {info.decoder.upper()}  ·  {provider}")
            self.model_detail.setToolTip(info.path)
            self._set_model_dot("#22c55e")
        self.set_state(self._state)

    def set_stats(self, stats: Stats) -> None:
        parts = [f"RTF {stats.rtf:.2f}"]
        if stats.latency_s is not None:
            parts.append(f"latency {stats.latency_s:.2f} s")
        parts.append(f"dropped {stats.dropped_s:.1f} s")
        if stats.behind_s >= 0.5:
            parts.append(f"behind {stats.behind_s:.1f} s")
        self.stats_label.setText("   ·   ".join(parts))

    def set_autosave_path(self, path: str | None) -> None:
        self.autosave_label.setText(f"Autosaving to {path}" if path else "")
        self.autosave_label.setToolTip(path or "")

    def show_message(self, text: str, timeout_ms: int = 10_000) -> None:
        """A banner above the transcript; ``timeout_ms=0`` keeps it until the next message."""
        self.banner.setText(text)
        self.banner.show()
        if timeout_ms:
            self._banner_timer.start(timeout_ms)
        else:
            self._banner_timer.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        self.closeRequested.emit()
