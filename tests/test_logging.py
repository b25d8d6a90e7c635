"""The log file a user attaches to a bug report: private, INFO unless asked for more, crashes in it, and
never what was said unless the user turned on ``--debug``."""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from captioner.logging_setup import APP_LOG, CLI_LOG, setup_logging, teardown_logging
from captioner.paths import user_log_dir
from tests.conftest import FIXTURES

MODEL = FIXTURES / "models" / "tiny-a"
SPEECH = FIXTURES / "audio" / "speech_3s.wav"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _undo_setup() -> Iterator[None]:
    yield
    teardown_logging()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_log_file_is_private_and_holds_info_not_debug(tmp_path: Path) -> None:
    err = io.StringIO()
    path = setup_logging(log_dir=tmp_path / "logs", stderr=err)
    assert path == tmp_path / "logs" / APP_LOG
    some = logging.getLogger("captioner.some.module")
    some.debug("debug detail")
    some.info("model loaded")
    some.warning("device lost")
    teardown_logging()  # closes the file
    assert _mode(path.parent) == 0o700 and _mode(path) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "model loaded" in text and "device lost" in text and "debug detail" not in text
    assert "captioner.some.module" in text, "each line names where it comes from"
    assert "device lost" in err.getvalue() and "model loaded" not in err.getvalue(), "stderr: warnings only"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_an_existing_wider_log_file_is_made_private_and_a_planted_link_is_not_followed(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    (folder / APP_LOG).write_text("an older run\n")
    (folder / APP_LOG).chmod(0o644)
    path = setup_logging(log_dir=folder, stderr=io.StringIO())
    assert path is not None and _mode(path) == 0o600 and _mode(folder) == 0o700
    teardown_logging()

    target = tmp_path / "elsewhere.txt"
    target.write_text("not a log\n")
    (folder / CLI_LOG).symlink_to(target)
    err = io.StringIO()
    assert setup_logging(file_name=CLI_LOG, log_dir=folder, stderr=err) is None, "no log file through a link"
    logging.getLogger("captioner").warning("still said on stderr")
    assert target.read_text() == "not a log\n"
    assert "No log file" in err.getvalue() and "still said on stderr" in err.getvalue()


def test_debug_goes_to_the_file_and_stderr(tmp_path: Path) -> None:
    err = io.StringIO()
    path = setup_logging(debug=True, log_dir=tmp_path, stderr=err)
    assert path is not None
    logging.getLogger("captioner.some.module").debug("debug detail")
    teardown_logging()
    assert "debug detail" in path.read_text(encoding="utf-8") and "debug detail" in err.getvalue()
    assert "caption text included" in path.read_text(encoding="utf-8"), "a debug log says what it holds"


def test_setting_up_again_replaces_the_first_setup(tmp_path: Path) -> None:
    logger = logging.getLogger("captioner")
    handlers, level = list(logger.handlers), logger.level
    err = io.StringIO()
    setup_logging(log_dir=tmp_path, stderr=err)
    path = setup_logging(log_dir=tmp_path, stderr=err)
    assert path is not None
    logger.warning("once")
    teardown_logging()
    assert path.read_text(encoding="utf-8").count("once") == 1 and err.getvalue().count("once") == 1
    assert (logger.handlers, logger.level) == (handlers, level), "teardown put everything back"


def test_an_uncaught_exception_in_a_thread_lands_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[str] = []  # the hook that was there before still runs (here: pytest's stand-in)
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.append(str(args.exc_value)))
    err = io.StringIO()
    path = setup_logging(log_dir=tmp_path, stderr=err)
    assert path is not None

    def crash() -> None:
        raise RuntimeError("the device thread broke")

    thread = threading.Thread(target=crash, name="audio-feeder")
    thread.start()
    thread.join()
    teardown_logging()
    text = path.read_text(encoding="utf-8")
    assert "Uncaught exception in thread audio-feeder" in text
    assert "Traceback" in text and "RuntimeError: the device thread broke" in text and "in crash" in text
    assert reported == ["the device thread broke"]
    assert "Traceback" not in err.getvalue(), "stderr gets it once, from the previous hook"


def test_an_uncaught_exception_and_a_warning_land_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before: list[type[BaseException]] = []

    def previous(exc_type: type[BaseException], exc: BaseException, tb: object) -> None:
        before.append(exc_type)

    monkeypatch.setattr(sys, "excepthook", previous)
    path = setup_logging(log_dir=tmp_path, stderr=io.StringIO())
    assert path is not None
    try:
        raise ValueError("a slot raised")
    except ValueError:
        sys.excepthook(*sys.exc_info())  # what the interpreter (or PySide, for a Qt slot) calls
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("an odd sample rate", UserWarning, stacklevel=1)
    teardown_logging()
    text = path.read_text(encoding="utf-8")
    assert "CRITICAL" in text and "Uncaught exception" in text and "ValueError: a slot raised" in text
    assert before == [ValueError]
    assert "UserWarning: an odd sample rate" in text
    assert sys.excepthook is previous and not logging.getLogger("py.warnings").handlers, "teardown undid it all"


def test_the_log_folder_is_per_platform_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setenv("CAPTIONER_LOG_DIR", str(tmp_path / "mine"))
    assert user_log_dir() == tmp_path / "mine"
    monkeypatch.delenv("CAPTIONER_LOG_DIR")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert user_log_dir() == tmp_path / "state" / "Captioner" / "log"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert user_log_dir() == tmp_path / "local" / "Captioner" / "Logs"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert user_log_dir() == Path.home() / "Library" / "Logs" / "Captioner"


# -- the real entry points, as a user runs them -------------------------------------------------------

def _run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CAPTIONER_LOG_DIR": str(home / "logs"), "XDG_DATA_HOME": str(home / "data"),
                   "XDG_CONFIG_HOME": str(home / "config"), "QT_QPA_PLATFORM": "offscreen", **env}
    return subprocess.run([sys.executable, "-m", "captioner", *args], capture_output=True, text=True,
                          timeout=180, cwd=ROOT, env=environment)


def _said(captions: str) -> set[str]:
    """The words of ``captions`` that would give away what was said: those no log line needs to contain."""
    return {w for w in re.findall(r"[^\W\d_]{6,}", captions)}


def test_said_words_finds_a_caption_in_a_log() -> None:
    """The check below can fail: a line carrying caption text is found."""
    captions = "wingisisisisisisisd the the aitisisisisisisisisisdd"
    log = "2026-01-01 INFO captioner.x [MainThread] Caption 0.00-1.00 s: the wingisisisisisisisd\n"
    assert _said(captions) & _said(log) == {"wingisisisisisisisd"}


def test_the_command_logs_at_info_without_caption_text_and_more_with_debug(tmp_path: Path) -> None:
    plain = _run(["transcribe", str(SPEECH), "--model", str(MODEL)], tmp_path)
    assert plain.returncode == 0, plain.stderr
    said = _said(plain.stdout)
    assert said, "the fixture model says something to look for"
    log = (tmp_path / "logs" / CLI_LOG).read_text(encoding="utf-8")
    assert " INFO " in log and "captioner transcribe" in log and " DEBUG " not in log
    assert not said & _said(log), "no caption text in an INFO log"
    assert plain.stderr == ""

    debug = _run(["transcribe", str(SPEECH), "--model", str(MODEL), "--debug"], tmp_path)  # after the command too
    assert debug.returncode == 0, debug.stderr
    log = (tmp_path / "logs" / CLI_LOG).read_text(encoding="utf-8")
    assert " DEBUG " in log and "Arguments: ['transcribe'" in log and "caption text included" in log
    assert "Arguments: ['transcribe'" in debug.stderr, "-v/--debug shows the details on stderr too"
    before = _run(["-v", "inspect", str(MODEL)], tmp_path)  # and before it
    assert before.returncode == 0 and "Arguments: ['-v', 'inspect'" in before.stderr


def test_errors_are_short_on_stderr_and_in_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"  # a user error: one paragraph on stderr, noted in the log
    result = _run(["transcribe", str(SPEECH), "--model", str(missing)], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    log = (tmp_path / "logs" / CLI_LOG).read_text(encoding="utf-8")
    assert "Stopped: " in log and str(missing) in log

    # A bug: one line on stderr, the traceback in the file for the bug report.
    code = ("import sys; import captioner.cli.inspect_cmd as c; from captioner.cli.main import main\n"
            "def run_inspect(args): raise KeyError('a bug')\n"
            "c.run_inspect = run_inspect; sys.exit(main(['inspect', 'x']))")
    env = {**os.environ, "CAPTIONER_LOG_DIR": str(tmp_path / "logs")}
    bug = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert bug.returncode == 3 and "Traceback" not in bug.stderr and "internal error: KeyError" in bug.stderr
    log = (tmp_path / "logs" / CLI_LOG).read_text(encoding="utf-8")
    assert "ERROR    captioner.cli.main [MainThread] Internal error" in log and "KeyError: 'a bug'" in log


def test_the_app_logs_a_session_without_caption_text_unless_asked(tmp_path: Path) -> None:
    """The app's own log (``captioner --input-file``): what happened, in order, and no caption text at
    INFO; with ``--debug`` the captions are there, which also shows the check would find them."""
    args = ["--input-file", str(SPEECH), "--model", str(MODEL), "--quit-when-done", "--speed", "4",
            "--settings", str(tmp_path / "settings.ini")]
    run = _run(args, tmp_path)
    assert run.returncode == 0, run.stderr
    [session] = (tmp_path / "data" / "Captioner" / "Captioner" / "sessions").glob("*.txt")
    said = _said(session.read_text(encoding="utf-8"))
    assert said, "the session has captions to look for"
    log = (tmp_path / "logs" / APP_LOG).read_text(encoding="utf-8")
    for event in ("Loading the model in", "Model loaded: ", "Session start: file", "Source opened: ",
                  "Captioning state: running", "Finished captioning speech_3s.wav", "Session end; ", "Shutting down"):
        assert event in log, (event, log)
    assert not said & _said(log), "no caption text in an INFO log"

    session.unlink()
    debug = _run([*args, "--debug"], tmp_path)
    assert debug.returncode == 0, debug.stderr
    [session] = (tmp_path / "data" / "Captioner" / "Captioner" / "sessions").glob("*.txt")
    log = (tmp_path / "logs" / APP_LOG).read_text(encoding="utf-8")
    assert _said(session.read_text(encoding="utf-8")) <= _said(log), "with --debug every caption is logged"


def test_warnings_reach_the_file_after_a_setup_that_was_never_torn_down(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen in a full run: an earlier in-process setup left warning capture "on" while the host (pytest) had put
    ``warnings.showwarning`` back, so ``captureWarnings(True)`` did nothing and warnings missed the file."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    logging.captureWarnings(True)
    warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
    path = setup_logging(log_dir=tmp_path, stderr=io.StringIO())
    assert path is not None
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a stale hook", UserWarning, stacklevel=1)
    teardown_logging()
    assert "UserWarning: a stale hook" in path.read_text(encoding="utf-8")


def test_warnings_reach_the_file_whatever_the_root_loggers_level(tmp_path: Path) -> None:
    """Seen in a full run: a library that raised the root logger to ERROR silenced captured warnings."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        path = setup_logging(log_dir=tmp_path, stderr=io.StringIO())
        assert path is not None
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("under a quiet root", UserWarning, stacklevel=1)
        teardown_logging()
    finally:
        root.setLevel(level)
    assert "UserWarning: under a quiet root" in path.read_text(encoding="utf-8")


def test_quantising_leaves_the_root_loggers_level_alone(tmp_path: Path) -> None:
    from captioner.export.quantize import quantize_folder
    from tests.conftest import FIXTURES

    before = logging.getLogger().level
    quantize_folder(FIXTURES / "models" / "tiny-a", tmp_path / "int8")
    assert logging.getLogger().level == before
