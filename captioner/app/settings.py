"""Every persisted preference, typed, in one place, over ``QSettings``.

The rest of the app only sees the dataclasses below; keys, defaults, types and the version
migration live here so a renamed key cannot silently reset a user's choice somewhere else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from captioner.asr.choices import Decoder, Provider
from captioner.private_files import make_private, private_folder

SETTINGS_VERSION = 1


class EchoHandling(enum.Enum):
    """What to do with words heard on both sources (a microphone that hears the speakers)."""

    KEEP_SYSTEM_AUDIO = "keep-system-audio"
    """Show them once, as system audio's."""
    KEEP_BOTH = "keep-both"


class AppTheme(enum.StrEnum):
    """How the windows look (the overlay has its own style)."""

    SYSTEM = "system"
    """Light or dark as the desktop's colour scheme says."""
    LIGHT = "light"
    DARK = "dark"
    HIGH_CONTRAST = "high-contrast"


class IdleMode(enum.StrEnum):
    """What the overlay shows while no words are on it."""

    STATUS = "status"
    """A faint one-line status in a small pill ("Listening…"); clicks elsewhere pass through."""
    HIDDEN = "hidden"
    """Nothing: clicks pass through everywhere."""
    BOX = "box"
    """The empty caption box stays, the status line in it."""


@dataclass
class OverlayStyle:
    """How captions look; colours are ``#rrggbb``, opacity 0–1."""

    lines: int = 2
    font_family: str = ""  # empty: the platform's sans-serif
    font_size: int = 26
    bold: bool = True
    text_color: str = "#ffffff"
    tentative_color: str = "#c2cfdc"  # 4.6:1 over the box whatever is behind it, outline or not
    tentative_italic: bool = True
    background_color: str = "#101418"
    background_opacity: float = 0.72
    outline: bool = True
    outline_color: str = "#000000"
    outline_width: float = 2.5
    docked: bool = False
    dock_top: bool = False  # docked along the top of the screen rather than the bottom
    """A full-width strip along the bottom of the screen instead of a box where the user put it."""


@dataclass
class AppSettings:
    model_dir: str = ""
    lookahead_ms: int | None = None  # None: the app's live default, the closest to 480 ms
    decoder: Decoder = Decoder.RNNT
    provider: Provider = Provider.AUTO
    language: str = ""  # for language-prompt models; "": the model's own default (automatic when it has one)
    source_key: str = "default"
    second_source_key: str = ""  # "": caption one source; else a source of the other kind, captioned too
    microphone_label: str = "You"
    system_audio_label: str = "Others"
    echo: EchoHandling = EchoHandling.KEEP_SYSTEM_AUDIO
    overlay: OverlayStyle = field(default_factory=OverlayStyle)
    overlay_visible: bool = True
    overlay_idle_mode: IdleMode = IdleMode.STATUS
    app_theme: AppTheme = AppTheme.SYSTEM
    overlay_geometry: tuple[int, int, int, int] | None = None  # x, y, w, h
    window_geometry: bytes = b""
    autosave: bool = True
    word_rules: str = ""  # the user's replacements, one "heard => shown" per line (captioner.text_rules)
    mask_profanity: bool = False
    caption_page_enabled: bool = False
    caption_page_port: int = 8765
    caption_page_transparent: bool = False
    caption_page_token: str = ""  # made once when the page is first turned on, so links keep working
    demo_notice_dismissed: bool = False


def _read(qs: QSettings, key: str, default: Any) -> Any:
    """One value converted to the type of its default (INI files hand back strings)."""
    raw = qs.value(key)
    if raw is None:
        return default
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        return default


Choice = TypeVar("Choice", Decoder, Provider, IdleMode, AppTheme)


def _read_choice(qs: QSettings, key: str, default: Choice) -> Choice:
    """A stored word as its enum member; an unknown word (a newer or hand-edited file) gives the default."""
    try:
        return type(default)(str(_read(qs, key, default.value)))
    except ValueError:
        return default


def load_settings(qs: QSettings) -> AppSettings:
    """Read settings, migrating older versions and falling back to defaults for anything unreadable."""
    migrate(qs)
    s = AppSettings()
    s.model_dir = _read(qs, "model/dir", s.model_dir)
    lookahead = _read(qs, "model/lookahead_ms", -1)
    s.lookahead_ms = lookahead if lookahead >= 0 else None
    s.decoder = _read_choice(qs, "model/decoder", s.decoder)
    s.provider = _read_choice(qs, "model/provider", s.provider)
    s.language = _read(qs, "model/language", s.language)
    s.source_key = _read(qs, "audio/source", s.source_key)
    s.second_source_key = _read(qs, "audio/second_source", s.second_source_key)
    s.microphone_label = _read(qs, "audio/microphone_label", s.microphone_label).strip() or "You"
    s.system_audio_label = _read(qs, "audio/system_audio_label", s.system_audio_label).strip() or "Others"
    echo = _read(qs, "audio/echo", s.echo.value)
    s.echo = next((e for e in EchoHandling if e.value == echo), s.echo)
    s.autosave = _read(qs, "transcript/autosave", s.autosave)
    s.word_rules = _read(qs, "words/rules", s.word_rules)
    s.mask_profanity = _read(qs, "words/mask_profanity", s.mask_profanity)
    s.caption_page_enabled = _read(qs, "caption_page/enabled", s.caption_page_enabled)
    port = _read(qs, "caption_page/port", s.caption_page_port)
    s.caption_page_port = port if 0 <= port <= 65535 else AppSettings.caption_page_port
    s.caption_page_transparent = _read(qs, "caption_page/transparent", s.caption_page_transparent)
    s.caption_page_token = _read(qs, "caption_page/token", s.caption_page_token)
    s.demo_notice_dismissed = _read(qs, "ui/demo_notice_dismissed", s.demo_notice_dismissed)
    s.overlay_visible = _read(qs, "overlay/visible", s.overlay_visible)
    s.overlay_idle_mode = _read_choice(qs, "overlay/idle_mode", s.overlay_idle_mode)
    s.app_theme = _read_choice(qs, "ui/theme", s.app_theme)
    geom = _read(qs, "overlay/geometry", "")
    parts = [p for p in geom.split(",") if p.strip()]
    if len(parts) == 4:
        try:
            x, y, w, h = (int(p) for p in parts)
            s.overlay_geometry = (x, y, w, h)
        except ValueError:
            pass
    raw_geometry = qs.value("window/geometry")
    if isinstance(raw_geometry, QByteArray):
        s.window_geometry = bytes(raw_geometry.data())
    style = OverlayStyle()
    for f in fields(OverlayStyle):
        setattr(style, f.name, _read(qs, f"overlay/{f.name}", getattr(style, f.name)))
    style.lines = max(1, min(style.lines, 8))
    style.background_opacity = max(0.0, min(style.background_opacity, 1.0))
    s.overlay = style
    return s


def save_settings(s: AppSettings, qs: QSettings) -> None:
    qs.setValue("version", SETTINGS_VERSION)
    qs.setValue("model/dir", s.model_dir)
    qs.setValue("model/lookahead_ms", -1 if s.lookahead_ms is None else s.lookahead_ms)
    qs.setValue("model/decoder", str(s.decoder))
    qs.setValue("model/provider", str(s.provider))
    qs.setValue("model/language", s.language)
    qs.setValue("audio/source", s.source_key)
    qs.setValue("audio/second_source", s.second_source_key)
    qs.setValue("audio/microphone_label", s.microphone_label)
    qs.setValue("audio/system_audio_label", s.system_audio_label)
    qs.setValue("audio/echo", s.echo.value)
    qs.setValue("transcript/autosave", s.autosave)
    qs.setValue("words/rules", s.word_rules)
    qs.setValue("words/mask_profanity", s.mask_profanity)
    qs.setValue("caption_page/enabled", s.caption_page_enabled)
    qs.setValue("caption_page/port", s.caption_page_port)
    qs.setValue("caption_page/transparent", s.caption_page_transparent)
    qs.setValue("caption_page/token", s.caption_page_token)
    qs.setValue("ui/demo_notice_dismissed", s.demo_notice_dismissed)
    qs.setValue("overlay/visible", s.overlay_visible)
    qs.setValue("overlay/idle_mode", str(s.overlay_idle_mode))
    qs.setValue("ui/theme", str(s.app_theme))
    qs.setValue("overlay/geometry", ",".join(map(str, s.overlay_geometry)) if s.overlay_geometry else "")
    qs.setValue("window/geometry", QByteArray(s.window_geometry))
    for f in fields(OverlayStyle):
        qs.setValue(f"overlay/{f.name}", getattr(s.overlay, f.name))
    qs.sync()
    if qs.format() == QSettings.Format.IniFormat and qs.fileName():
        stored = Path(qs.fileName())
        private_folder(stored.parent)
        make_private(stored)


def migrate(qs: QSettings) -> None:
    """Bring stored keys up to ``SETTINGS_VERSION`` (version 0 means: written before versioning)."""
    version = _read(qs, "version", 0)
    if version > SETTINGS_VERSION:
        return  # written by a newer Captioner: read what we know, never rewrite it downwards
    if version < 1:
        for old, new in (("model_dir", "model/dir"), ("source", "audio/source")):
            if qs.contains(old) and not qs.contains(new):
                qs.setValue(new, qs.value(old))
                qs.remove(old)
    qs.setValue("version", SETTINGS_VERSION)


def open_qsettings() -> QSettings:
    """The user's settings store (an INI file under the platform's config directory)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "Captioner", "Captioner")
