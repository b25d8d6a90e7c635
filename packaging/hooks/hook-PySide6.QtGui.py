"""Replaces PyInstaller's QtGui hook to leave out the GTK 3 platform theme plugin.

``libqgtk3.so`` links GTK 3; bundling it would either fail ("Library not found: libgtk-3.so.0") or copy GTK,
Pango and Cairo into the bundle. The app draws its own theme and uses Qt's file dialogs, so it is not needed.
"""

import os

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [entry for entry in binaries if os.path.basename(entry[0]) != "libqgtk3.so"]
