"""``captioner export`` and ``captioner quantize`` without what they need: the message names the command and
the exact install command for this Python, never another command's task."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "models" / "tiny-a"


def run_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``captioner ARGS`` in a fresh interpreter where importing ``module`` fails as if it were not installed."""
    code = (f"import sys; sys.modules[{module!r}] = None; from captioner.cli.main import main; "
            f"sys.exit(main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          check=False)


def test_export_without_pytorch_names_the_export_extra(tmp_path: Path) -> None:
    result = run_without("torch", "export", str(MODEL / "missing.nemo"), str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = result.stderr
    assert message.startswith("captioner: error: `captioner export` needs PyTorch"), message
    install = f"{shlex.quote(sys.executable)} -m pip install -e {shlex.quote(f'{ROOT}[export]')}"
    assert install in message and "captioner[export]" in message, message
    assert "Exporting a .nemo model" not in message


def test_quantize_without_onnx_blames_quantize_and_says_how_to_repair(tmp_path: Path) -> None:
    """``quantize`` needs onnx, one of Captioner's own dependencies: the fix is reinstalling Captioner, not the
    several-GB export extra."""
    result = run_without("onnx", "quantize", str(MODEL), str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    message = result.stderr
    assert message.startswith("captioner: error: `captioner quantize` needs onnx, which could not be imported")
    assert f"{shlex.quote(sys.executable)} -m pip install -e {shlex.quote(str(ROOT))}" in message, message
    assert "export" not in message.replace("captioner quantize", ""), message
    assert not (tmp_path / "out").exists()
