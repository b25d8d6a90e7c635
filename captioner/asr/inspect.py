"""The old name of :mod:`captioner.asr.model_report`, kept while ``captioner/app/settings_dialog.py`` imports it."""

from __future__ import annotations

from captioner.asr.model_report import InspectReport, inspect_model_folder

__all__ = ["InspectReport", "inspect_model_folder"]
