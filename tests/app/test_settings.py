"""Settings: typed round-trip through QSettings, version key, migration, and bad stored values."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from captioner.app.settings import (
    SETTINGS_VERSION,
    AppSettings,
    EchoHandling,
    OverlayStyle,
    load_settings,
    save_settings,
)
from captioner.asr.choices import Decoder, Provider


def _qs(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_defaults_when_empty(tmp_path: Path) -> None:
    s = load_settings(_qs(tmp_path / "s.ini"))
    assert s == AppSettings()


def test_round_trip_every_field(tmp_path: Path) -> None:
    s = AppSettings(
        model_dir="/models/x", lookahead_ms=480, decoder=Decoder.CTC, provider=Provider.CPU,
        source_key="system:a.monitor", second_source_key="input:USB mic", microphone_label="Me",
        system_audio_label="Team", echo=EchoHandling.KEEP_BOTH, word_rules="a p i => API\n", mask_profanity=True,
        caption_page_enabled=True, caption_page_port=9000, caption_page_transparent=True,
        caption_page_token="t" * 32,
        overlay=OverlayStyle(lines=3, font_family="DejaVu Serif", font_size=40, bold=False, text_color="#ffee00",
                             tentative_color="#aabbcc", tentative_italic=False, background_color="#112233",
                             background_opacity=0.35, outline=False, outline_color="#445566", outline_width=1.5,
                             docked=True),
        overlay_visible=False, overlay_geometry=(10, 20, 800, 120), window_geometry=b"\x01\x02geom",
        autosave=False,
    )
    path = tmp_path / "s.ini"
    save_settings(s, _qs(path))
    loaded = load_settings(_qs(path))  # a fresh QSettings reads the file back
    assert loaded == s
    assert _qs(path).value("version") in (SETTINGS_VERSION, str(SETTINGS_VERSION))


def test_unknown_choices_fall_back_to_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    qs = _qs(path)
    qs.setValue("model/decoder", "tdt")
    qs.setValue("model/provider", "rocm")
    qs.setValue("audio/echo", "sometimes")
    qs.sync()
    s = load_settings(_qs(path))
    assert (s.decoder, s.provider, s.echo) == (Decoder.RNNT, Provider.AUTO, EchoHandling.KEEP_SYSTEM_AUDIO)


def test_default_lookahead_stays_none(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    save_settings(AppSettings(lookahead_ms=None), _qs(path))
    assert load_settings(_qs(path)).lookahead_ms is None


def test_migrates_unversioned_keys(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    old = _qs(path)
    old.setValue("model_dir", "/old/model")
    old.setValue("source", "input:USB Mic")
    old.sync()
    s = load_settings(_qs(path))
    assert (s.model_dir, s.source_key) == ("/old/model", "input:USB Mic")
    assert int(_qs(path).value("version")) == SETTINGS_VERSION


def test_garbage_values_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    qs = _qs(path)
    qs.setValue("model/decoder", "beam")
    qs.setValue("model/provider", "tpu")
    qs.setValue("overlay/lines", "many")
    qs.setValue("overlay/background_opacity", "7")
    qs.setValue("overlay/geometry", "1,2,x")
    qs.sync()
    s = load_settings(_qs(path))
    assert (s.decoder, s.provider, s.overlay.lines) == ("rnnt", "auto", OverlayStyle().lines)
    assert s.overlay.background_opacity == 1.0
    assert s.overlay_geometry is None
