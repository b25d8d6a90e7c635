"""Settings → Overlay: presets, font, colours, box, outline and docking, with a preview and contrast warnings.

Every change is sent out at once (``styleChanged``) so the real overlay previews it; the dialog puts the old
style back on Cancel. The contrast check follows ``captioner.contrast``: each caption colour
against the box at its opacity over any backdrop, an outline counting when it is wide and contrasting enough.
"""

# ruff: noqa: N815

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFontComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSystemTrayIcon,
    QWidget,
)

from captioner import contrast
from captioner.app.platform_notes import overlay_limitations
from captioner.app.settings import AppSettings, AppTheme, OverlayStyle
from captioner.app.settings_pages.overlay_preview import CaptionPreview
from captioner.app.settings_pages.presets import PRESETS, apply_preset, matching_preset, preset
from captioner.app.settings_pages.widgets import ColorButton, FittingFrame, FittingLabel, check, hint_label, spin

CUSTOM = "custom"
TEXT_ROLE, TENTATIVE_ROLE = "Text", "Tentative words"
WARNING_STYLE = ("QFrame#ContrastWarning { background: #fffbeb; border: 1px solid #d97706; border-radius: 6px; }"
                 " QLabel { color: #78350f; }")


class OverlayPage(QWidget):
    """Built from the overlay style; ``overlay_style()`` is what the controls show now."""

    styleChanged = Signal(OverlayStyle)

    def __init__(self, style: OverlayStyle, parent: QWidget | None = None,
                 app_theme: AppTheme = AppTheme.SYSTEM) -> None:
        super().__init__(parent)
        self._loading = True  # controls being set together: one change afterwards, not one per control
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.preview = CaptionPreview(style, self)
        form.addRow(self.preview)

        self.preset = QComboBox(self)
        self.preset.setAccessibleName("Overlay preset")
        self.preset.setToolTip("A ready-made look: colours, box, outline and lines. Your font and size stay; "
                               "everything can still be changed below.")
        for p in PRESETS:
            self.preset.addItem(p.name, p.key)
            self.preset.setItemData(self.preset.count() - 1, p.description, Qt.ItemDataRole.ToolTipRole)
        self.preset.addItem("Custom", CUSTOM)
        self.preset.setItemData(self.preset.count() - 1, "Your own style: no preset matches it",
                                Qt.ItemDataRole.ToolTipRole)
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        form.addRow("Preset", self.preset)

        changed = self._changed
        self.lines = spin(1, 8, style.lines, changed)
        self.lines.setMaximumWidth(80)
        self.lines.setAccessibleName("Caption lines")
        form.addRow("Lines", self.lines)
        self.font_family = QFontComboBox(self)
        self.font_family.setAccessibleName("Font")
        self.font_family.currentFontChanged.connect(lambda _: changed())
        self.font_size = spin(10, 96, style.font_size, changed)
        self.font_size.setSuffix(" px")
        self.font_size.setAccessibleName("Font size")
        self.bold = check("Bold", style.bold, changed)
        row = QHBoxLayout()
        row.addWidget(self.font_family, 1)
        row.addWidget(self.font_size)
        row.addWidget(self.bold)
        form.addRow("Font", row)
        self.text_color = ColorButton(style.text_color, self, "Text colour")
        self.text_color.changed.connect(lambda _: changed())
        form.addRow("Text colour", self.text_color)
        self.tentative_color = ColorButton(style.tentative_color, self, "Colour of words still being recognised")
        self.tentative_color.changed.connect(lambda _: changed())
        self.tentative_italic = check("Italic", style.tentative_italic, changed)
        row = QHBoxLayout()
        row.addWidget(self.tentative_color)
        row.addWidget(self.tentative_italic)
        row.addStretch(1)
        form.addRow("Tentative words", row)
        self.bg_color = ColorButton(style.background_color, self, "Background colour")
        self.bg_color.changed.connect(lambda _: changed())
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setAccessibleName("Background opacity")
        self.opacity.setAccessibleDescription("How much of the meeting shows through the caption background")
        self.opacity.setRange(0, 100)
        self.opacity_label = QLabel(self)
        self.opacity.valueChanged.connect(self._opacity_changed)
        row = QHBoxLayout()
        row.addWidget(self.bg_color)
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)
        form.addRow("Background", row)
        self.outline = check("Outline", style.outline, changed)
        self.outline_color = ColorButton(style.outline_color, self, "Outline colour")
        self.outline_color.changed.connect(lambda _: changed())
        self.outline_width = QDoubleSpinBox(self)
        self.outline_width.setRange(0.5, 8.0)
        self.outline_width.setSingleStep(0.5)
        self.outline_width.setSuffix(" px")
        self.outline_width.setAccessibleName("Outline width")
        self.outline_width.valueChanged.connect(lambda _: changed())
        row = QHBoxLayout()
        row.addWidget(self.outline)
        row.addWidget(self.outline_color)
        row.addWidget(self.outline_width)
        row.addStretch(1)
        form.addRow("Text outline", row)

        self.contrast_note = FittingLabel(self)
        self.contrast_note.setAccessibleName("Contrast")
        self.contrast_note.setStyleSheet("color: #64748b;")
        form.addRow("Contrast", self.contrast_note)
        self.contrast_warning = FittingFrame(self)
        self.contrast_warning.setObjectName("ContrastWarning")
        self.contrast_warning.setStyleSheet(WARNING_STYLE)
        self.contrast_message = FittingLabel(self.contrast_warning)
        self.contrast_message.setAccessibleName("Contrast warning")
        self.fix_button = QPushButton("Fix", self.contrast_warning)
        self.fix_button.setAccessibleName("Fix the contrast")
        self.fix_button.clicked.connect(self.fix_contrast)
        row = QHBoxLayout(self.contrast_warning)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.contrast_message, 1)
        row.addWidget(self.fix_button, 0, Qt.AlignmentFlag.AlignVCenter)
        form.addRow("", self.contrast_warning)

        self.docked = check("Dock as a full-width strip along the bottom of the screen", style.docked, changed)
        self.dock_top = check("… along the top instead", style.dock_top, changed)
        self.docked.toggled.connect(self.dock_top.setEnabled)
        self.dock_top.setEnabled(style.docked)
        form.addRow("Position", self.docked)
        form.addRow("", self.dock_top)
        form.addRow("", hint_label("Changes preview here and on the overlay right away; Cancel puts them back.",
                                   self))
        self.app_theme = QComboBox(self)
        self.app_theme.setAccessibleName("Windows' theme")
        for theme, label in ((AppTheme.SYSTEM, "As the desktop (light or dark)"), (AppTheme.LIGHT, "Light"),
                             (AppTheme.DARK, "Dark"), (AppTheme.HIGH_CONTRAST, "High contrast")):
            self.app_theme.addItem(label, theme.value)
        self.app_theme.setCurrentIndex(max(0, self.app_theme.findData(app_theme.value)))
        form.addRow("Windows' theme", self.app_theme)
        note = overlay_limitations(QSystemTrayIcon.isSystemTrayAvailable())
        if note:
            form.addRow("", hint_label(note, self, "color: #b45309;"))
        self.set_overlay_style(style)

    # -- the style ---------------------------------------------------------------------------------------------
    def overlay_style(self) -> OverlayStyle:
        return OverlayStyle(
            lines=self.lines.value(), font_family=self.font_family.currentFont().family(),
            font_size=self.font_size.value(), bold=self.bold.isChecked(), text_color=self.text_color.color(),
            tentative_color=self.tentative_color.color(), tentative_italic=self.tentative_italic.isChecked(),
            background_color=self.bg_color.color(), background_opacity=self.opacity.value() / 100,
            outline=self.outline.isChecked(), outline_color=self.outline_color.color(),
            outline_width=self.outline_width.value(), docked=self.docked.isChecked(),
            dock_top=self.dock_top.isChecked(),
        )

    def set_overlay_style(self, style: OverlayStyle) -> None:
        """Shows ``style`` in every control, then reports it once (preview, contrast, preset name, overlay)."""
        self._loading = True
        try:
            self.lines.setValue(style.lines)
            if style.font_family:
                self.font_family.setCurrentFont(QFont(style.font_family))
            self.font_size.setValue(style.font_size)
            self.bold.setChecked(style.bold)
            self.text_color.set_color(style.text_color)
            self.tentative_color.set_color(style.tentative_color)
            self.tentative_italic.setChecked(style.tentative_italic)
            self.bg_color.set_color(style.background_color)
            self.opacity.setValue(round(style.background_opacity * 100))
            self.opacity_label.setText(f"{self.opacity.value()} %")
            self.outline.setChecked(style.outline)
            self.outline_color.set_color(style.outline_color)
            self.outline_width.setValue(style.outline_width)
            self.docked.setChecked(style.docked)
            self.dock_top.setChecked(style.dock_top)
        finally:
            self._loading = False
        self._changed()

    def apply(self, settings: AppSettings) -> None:
        settings.overlay = self.overlay_style()
        settings.app_theme = AppTheme(str(self.app_theme.currentData()))

    def _opacity_changed(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        self._changed()

    def _changed(self) -> None:
        if self._loading:
            return
        style = self.overlay_style()
        self.preview.set_overlay_style(style)
        self._show_preset(style)
        self._show_contrast(style)
        self.styleChanged.emit(style)

    # -- presets -----------------------------------------------------------------------------------------------
    def choose_preset(self, key: str) -> None:
        """The preset's look, the font kept; the controls stay editable."""
        self.set_overlay_style(apply_preset(self.overlay_style(), preset(key)))

    def _preset_chosen(self, index: int) -> None:
        key = str(self.preset.itemData(index))
        if not self._loading and key != CUSTOM:
            self.choose_preset(key)

    def _show_preset(self, style: OverlayStyle) -> None:
        match = matching_preset(style)
        blocked = self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findData(match.key if match else CUSTOM))
        self.preset.blockSignals(blocked)

    # -- contrast ----------------------------------------------------------------------------------------------
    def contrast_checks(self, style: OverlayStyle | None = None) -> list[contrast.ColourCheck]:
        st = style or self.overlay_style()
        return contrast.check_colours({TEXT_ROLE: st.text_color, TENTATIVE_ROLE: st.tentative_color},
                                      st.background_color, st.background_opacity, st.outline, st.outline_color,
                                      st.outline_width)

    def _show_contrast(self, style: OverlayStyle) -> None:
        checks = self.contrast_checks(style)
        parts = []
        for c in checks:
            part = f"{c.role.lower()} {contrast.format_ratio(c.ratio)}"
            if c.ratio < contrast.AA_NORMAL and c.outline_rescues:
                part += " (the outline keeps it readable)"
            parts.append(part)
        self.contrast_note.setText("Against the caption box over any background: " + ", ".join(parts) + ".")
        failing = [c for c in checks if not c.readable]
        if failing:
            names = " and ".join(f"{c.role.lower()} reach only {contrast.format_ratio(c.ratio)}" for c in failing)
            self.contrast_message.setText(
                f"⚠ Hard to read over some backgrounds: {names}; captions need at least "
                f"{contrast.AA_NORMAL:g}:1 (WCAG AA). Fix picks a readable colour"
                + (", or an outline can keep the text readable." if not style.outline else "."))
            text, tentative, opacity = self._fixed_colours(style)
            fixes = [f"{role.lower()} {new}" for role, old, new in
                     ((TEXT_ROLE, style.text_color, text), (TENTATIVE_ROLE, style.tentative_color, tentative))
                     if new != old]
            if opacity != style.background_opacity:
                fixes.append(f"box {round(opacity * 100)} % opaque")
            self.fix_button.setAccessibleDescription("Sets " + ", ".join(fixes))
            self.fix_button.setToolTip("Sets " + ", ".join(fixes))
        self.contrast_warning.setVisible(bool(failing))

    def _fixed_colours(self, style: OverlayStyle) -> tuple[str, str, float]:
        """Text colour, tentative colour and box opacity that pass; unchanged where they already did."""
        failing = {c.role for c in self.contrast_checks(style) if not c.readable}
        colours = {TEXT_ROLE: style.text_color, TENTATIVE_ROLE: style.tentative_color}
        opacity = style.background_opacity
        for role in failing:  # the box first: a thicker box only raises the other colour's worst case
            opacity = max(opacity, contrast.readable_colour(colours[role], style.background_color, opacity)[1])
        for role in failing:
            colours[role] = contrast.readable_colour(colours[role], style.background_color, opacity)[0]
        return colours[TEXT_ROLE], colours[TENTATIVE_ROLE], opacity

    def fix_contrast(self) -> None:
        """Nearest readable colours (mixed towards white or black), the box thickened only when it must be."""
        style = self.overlay_style()
        text, tentative, opacity = self._fixed_colours(style)
        self.set_overlay_style(dataclasses.replace(style, text_color=text, tentative_color=tentative,
                                                   background_opacity=opacity))
