"""The pages of Settings, one class each; ``captioner.app.settings_dialog`` composes them.

Each page is built from the settings (and whatever else it shows), edits its own controls only, and
writes its fields into a copy of the settings with ``apply(settings)`` when the dialog is accepted.
Nothing is imported here, so the Qt-free helpers (``contrast``) load without the widgets.
"""
