"""The desktop app (PySide6): main window, caption overlay, settings, and the inference thread."""

from captioner.app import pyside_fix

pyside_fix.apply()  # before any signal is emitted; see the module for the PySide6 bug it guards against
