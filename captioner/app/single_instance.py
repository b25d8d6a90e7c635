"""One Captioner per user profile: a second launch brings the first one's window forward and exits.

Two instances would caption the same meeting twice, fight over the microphone and (before session files
were created exclusively) interleave their transcripts. The first instance listens on a local socket named
after the user and the settings file; a later one connects, asks it to show its window, and leaves. A
socket left by a crashed instance answers nobody and is replaced.
"""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

CONNECT_TIMEOUT_MS = 1000
SHOW_REQUEST = b"show\n"


def server_name(settings_file: str) -> str:
    """Per user and per settings file (``--settings`` makes a separate profile, as tests and demos use)."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{settings_file}".encode()).hexdigest()[:16]
    return f"captioner-{digest}"


def ask_running_instance_to_show(name: str) -> bool:
    """True when another instance answered (and was asked to show its window)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
        return False
    socket.write(SHOW_REQUEST)
    socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches; ``showRequested`` when one asks."""

    showRequested = Signal()  # noqa: N815 - Qt signal naming

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self._server.listen(name):
            QLocalServer.removeServer(name)  # left behind by an instance that crashed
            self._server.listen(name)
        self._server.newConnection.connect(self._accept)

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(SHOW_REQUEST.strip()):
            self.showRequested.emit()

    def close(self) -> None:
        self._server.close()
