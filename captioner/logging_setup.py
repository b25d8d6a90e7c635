"""Captioner's own log: a private rotating file a user can attach to a bug report, and stderr.

Why a file: the app has no console, so when something goes wrong (a model that will not load, a device
that vanishes, a crash in a thread) the log file is the only record of it. Why private: it sits with the
user's other Captioner files, 0600 in a 0700 folder (see ``private_files``).

Privacy rule for every ``captioner.*`` logger: a log attached to a bug report must not say what was said.
Nothing is logged at INFO or above that carries caption text or audio; caption text may be logged at
DEBUG only, which the user turns on with ``--debug`` (the README says so). Qt-free, so the command line
uses it too.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import platform
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from captioner.paths import user_log_dir
from captioner.private_files import FILE_MODE, make_private, private_folder

LOGGER_NAME = "captioner"
APP_LOG = "captioner.log"
"""The desktop app's log file."""
CLI_LOG = "captioner-cli.log"
"""The commands' log file: a command run beside the app never rotates the app's file under it."""
MAX_BYTES = 2_000_000
BACKUP_COUNT = 3  # captioner.log.1 ... .3: the last few runs, 8 MB at most
FILE_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"
STDERR_FORMAT = "captioner: %(levelname)s: %(message)s"
FILE_ONLY = {"captioner_file_only": True}
"""``extra=FILE_ONLY``: a record for the file alone, e.g. a traceback whose one-line summary stderr already shows."""

log = logging.getLogger(__name__)

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]
ThreadingExceptHook = Callable[[threading.ExceptHookArgs], Any]


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that is 0600 (the default would be world-readable) and never written through a
    symlink planted in its place."""

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.baseFilename, flags, FILE_MODE)
        make_private(Path(self.baseFilename))  # left by an older run with a wider mode
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # closed by the handler


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, "captioner_file_only", False)


@dataclass
class _Installed:
    """What ``setup_logging`` changed, so that ``teardown_logging`` can put it back."""

    excepthook: ExceptHook
    threading_excepthook: ThreadingExceptHook
    level: int
    handlers: list[tuple[logging.Logger, logging.Handler]] = field(default_factory=list)


_installed: _Installed | None = None


def log_file_path(file_name: str = APP_LOG, log_dir: Path | None = None) -> Path:
    """Where ``setup_logging(file_name=...)`` writes: in ``log_dir``, by default the user's log folder."""
    return (log_dir or user_log_dir()) / file_name


def setup_logging(debug: bool = False, *, file_name: str = APP_LOG, log_dir: Path | None = None,
                  stderr: TextIO | None = None) -> Path | None:
    """Send the ``captioner`` loggers to the log file (INFO; DEBUG with ``debug``) and to stderr (WARNING;
    DEBUG with ``debug``), with Python warnings and uncaught exceptions (any thread) in the file too.

    Returns the log file, or None when it cannot be written (say, a read-only home folder): logging then
    goes to stderr alone, and the app starts anyway. Calling it again replaces the earlier setup.
    """
    global _installed
    teardown_logging()
    logger = logging.getLogger(LOGGER_NAME)
    installed = _Installed(sys.excepthook, threading.excepthook, logger.level)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)

    console = logging.StreamHandler(stderr if stderr is not None else sys.stderr)
    console.setLevel(logging.DEBUG if debug else logging.WARNING)
    console.setFormatter(logging.Formatter(STDERR_FORMAT))
    console.addFilter(_not_file_only)
    handlers: list[logging.Handler] = [console]

    path = log_file_path(file_name, log_dir)
    problem: OSError | None = None
    try:
        private_folder(path.parent)
        file_handler = PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT,
                                                  encoding="utf-8")
    except OSError as exc:
        problem = exc
    else:
        file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
        handlers.append(file_handler)

    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.setLevel(logging.WARNING)  # its own level: whatever the root logger's, warnings reach the file
    for handler in handlers:
        for target in (logger, warnings_logger):
            target.addHandler(handler)
            installed.handlers.append((target, handler))
    # captureWarnings(True) does nothing while it believes it is on already; a setup that was never torn down (or
    # a host that swapped warnings.showwarning since) would leave warnings out of the file: switch it off first.
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    sys.excepthook = _excepthook
    threading.excepthook = _threading_excepthook
    _installed = installed

    if problem is not None:
        log.warning("No log file: %s", problem)
    log.info("Captioner %s, Python %s, %s%s", _version(), platform.python_version(), platform.platform(),
             " (debug log: caption text included)" if debug else "")
    return None if problem is not None else path


def teardown_logging() -> None:
    """Undo ``setup_logging``: handlers closed and removed, hooks and warnings back as they were."""
    global _installed
    installed, _installed = _installed, None
    if installed is None:
        return
    for target, handler in installed.handlers:
        target.removeHandler(handler)
        handler.close()
    logging.getLogger(LOGGER_NAME).setLevel(installed.level)
    logging.getLogger("py.warnings").setLevel(logging.NOTSET)
    logging.captureWarnings(False)
    if sys.excepthook is _excepthook:
        sys.excepthook = installed.excepthook
    if threading.excepthook is _threading_excepthook:
        threading.excepthook = installed.threading_excepthook


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An exception nobody caught (the main thread, or a Qt slot or thread, which PySide reports here)
    goes to the file; stderr gets the usual traceback from the hook that was there before."""
    if not issubclass(exc_type, KeyboardInterrupt):
        logging.getLogger(LOGGER_NAME).critical("Uncaught exception", exc_info=(exc_type, exc, tb), extra=FILE_ONLY)
    previous = _installed.excepthook if _installed is not None else sys.__excepthook__
    previous(exc_type, exc, tb)


def _threading_excepthook(args: threading.ExceptHookArgs) -> None:
    """The same for a ``threading.Thread`` whose target raised."""
    if args.exc_value is not None and not issubclass(args.exc_type, SystemExit):
        name = args.thread.name if args.thread is not None else "?"
        logging.getLogger(LOGGER_NAME).critical(
            "Uncaught exception in thread %s", name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback), extra=FILE_ONLY)
    previous = _installed.threading_excepthook if _installed is not None else threading.__excepthook__
    previous(args)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("captioner")
    except Exception:  # a frozen bundle may carry no package metadata
        return "(version unknown)"
