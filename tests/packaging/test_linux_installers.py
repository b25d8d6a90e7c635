"""The Linux installers as a user gets them: build the CPU bundle and the .deb, install, run the installed binary.

Every line the installed app writes to stderr must be one we expect (ALLOWED_STDERR); anything else, a Qt plugin
that does not load, a missing library, a Python warning, fails the test.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, LinuxBuild, app_env

# Qt's offscreen platform (no window system) says so for every top-level window; harmless, and only offscreen.
ALLOWED_STDERR = {
    "offscreen": [re.compile(r"^This plugin does not support propagateSizeHints\(\)$")],
    "xcb": [],
}
SPEECH = ROOT / "tests" / "fixtures" / "audio" / "speech_8s.wav"
DEFAULT_MODEL = ROOT / "models" / "captioner-demo-en"
# The installed app runs on its bundled demo model; a checkout without one gives it the test model instead.
BUNDLES_A_MODEL = (DEFAULT_MODEL / "captioner-model.json").is_file()
TEST_MODEL = ROOT / "tests" / "fixtures" / "models" / "tiny-a"
MODEL_ARGS = () if BUNDLES_A_MODEL else ("--model", str(TEST_MODEL))
LEFT_OUT = ("tkinter", "librosa", "numba", "llvmlite", "scipy", "torch", "nemo")


def unexpected_stderr(stderr: str, platform: str) -> list[str]:
    allowed = ALLOWED_STDERR[platform]
    return [line for line in stderr.splitlines() if line.strip() and not any(p.match(line) for p in allowed)]


def smoke(exe: Path, env: dict[str, str], platform: str, wrapper: tuple[str, ...] = ()) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([*wrapper, str(exe), "--smoke-test", "--settings", f"{tmp}/s.ini", *MODEL_ARGS], env=env,
                              capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert unexpected_stderr(proc.stderr, platform) == []
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def check_report(report: dict[str, Any], app_dir: Path, platform: str) -> None:
    assert report["ok"] and report["errors"] == []
    assert report["qt"]["platform"] == platform and report["window"]["built"]
    model = report["model"]
    assert model["loaded"] and model["provider"] == "CPUExecutionProvider"
    if BUNDLES_A_MODEL:  # the installer's own default model
        assert model["name"] == "captioner-demo-en"
        assert Path(model["path"]) == app_dir / "_internal" / "models" / "captioner-demo-en"
    else:
        assert Path(model["path"]) == TEST_MODEL
    opened = report["audio"]["opened"]
    assert "error" not in opened and opened["frames"] > 0 and opened["listening_at_unix"] is not None


def test_build_prints_sizes_and_start_up(linux_build: LinuxBuild) -> None:
    for label in ("onedir bundle", ".deb", "AppDir squashfs", "launch->listening"):
        assert label in linux_build.output
    figures = linux_build.figures
    assert 0 < figures["onedir_mb"] <= 300, figures
    assert 0 < figures["deb_mb"] <= 100, figures
    assert figures["listening_s"] > 0  # timings are reported, never asserted (see benchmarks/README.md)


def test_bundle_leaves_out_what_the_live_path_does_not_need(linux_build: LinuxBuild) -> None:
    internal = linux_build.bundle / "_internal"
    names = {p.name.split(".")[0] for p in internal.iterdir()}
    toc = (ROOT / "build" / "pyi-cpu" / "captioner" / "PYZ-00.toc").read_text()
    for module in LEFT_OUT:
        assert module not in names and not list(internal.glob(f"**/_{module}*.so"))
        assert f"('{module}'" not in toc and f"('{module}." not in toc, module
    # Never the GPU libraries in the CPU bundle; the default model exactly when the checkout has one.
    assert not (internal / "nvidia").exists()
    assert (internal / "models" / "captioner-demo-en" / "captioner-model.json").is_file() == BUNDLES_A_MODEL
    assert not list(internal.glob("PySide6/Qt/plugins/platformthemes/libqgtk3.so"))


def test_deb_metadata_and_files(linux_build: LinuxBuild, deb_root: Path) -> None:
    def field(name: str) -> str:
        return subprocess.run(["dpkg-deb", "-f", str(linux_build.deb), name], capture_output=True, text=True,
                              check=True).stdout.strip()

    assert field("Package") == "captioner"
    assert field("Version") == importlib.metadata.version("captioner")
    depends = [d.strip() for d in field("Depends").split(",")]
    names = {d.split()[0] for d in depends}
    assert {"libportaudio2", "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libfontconfig1"} <= names
    assert any(re.fullmatch(r"libc6 \(>= 2\.\d+\)", d) for d in depends)

    usr_bin = deb_root / "usr" / "bin" / "captioner"
    assert usr_bin.is_symlink() and usr_bin.resolve() == (deb_root / "opt" / "captioner" / "captioner").resolve()
    desktop = deb_root / "usr" / "share" / "applications" / "captioner.desktop"
    metainfo = deb_root / "usr" / "share" / "metainfo" / "io.github.captioner.Captioner.metainfo.xml"
    for size in (32, 64, 256):
        assert (deb_root / f"usr/share/icons/hicolor/{size}x{size}/apps/captioner.png").is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True, check=False)
        assert check.returncode == 0 and check.stdout == "", check.stdout
    if shutil.which("appstreamcli"):
        check = subprocess.run(["appstreamcli", "validate", "--no-net", str(metainfo)], capture_output=True,
                               text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    # The system's copies replace the bundled ones in the .deb (they are Depends now).
    internal = deb_root / "opt" / "captioner" / "_internal"
    assert not list(internal.glob("libportaudio.so*")) and not list(internal.glob("libxcb-cursor.so*"))


def test_deb_depends_cover_every_library(linux_build: LinuxBuild, deb_root: Path) -> None:
    """Each library an installed ELF file needs is in the package or comes from a package in the Depends closure."""
    depends = subprocess.run(["dpkg-deb", "-f", str(linux_build.deb), "Depends"], capture_output=True, text=True,
                             check=True).stdout
    wanted = [d.split()[0] for d in depends.split(",")]
    tree = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                           "--no-breaks", "--no-replaces", "--no-enhances", "--installed", *wanted],
                          capture_output=True, text=True, check=True).stdout
    closure = {line.strip().split(":")[0] for line in tree.splitlines() if line and not line.startswith(" ")}
    app = deb_root / "opt" / "captioner"
    env = {"LD_LIBRARY_PATH": str(app / "_internal"), "PATH": "/usr/bin:/bin"}
    outside: set[str] = set()
    for path in app.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.read_bytes()[:4] != b"\x7fELF":
            continue
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env, check=False).stdout
        assert "not found" not in out, f"{path}:\n{out}"
        outside |= {m for m in re.findall(r"=> (/\S+)", out) if not m.startswith(str(deb_root))}
    # Ask dpkg about each full path (with and without /usr: merged-/usr systems register either).
    variants = {p: {p, str(Path(p).resolve()), "/usr" + p if p.startswith("/lib") else p.removeprefix("/usr")}
                for p in outside}
    owners = subprocess.run(["dpkg", "-S", *sorted(set().union(*variants.values()))], capture_output=True,
                            text=True, check=False).stdout
    owned = {line.split(": ", 1)[1]: line.split(":")[0] for line in owners.splitlines() if ": /" in line}
    unowned = [p for p, names in variants.items() if not names & owned.keys()]
    assert unowned == [], unowned
    packages = {owned[name] for names in variants.values() for name in names if name in owned}
    assert packages and packages <= closure, sorted(packages - closure)


def test_deb_installs_on_an_empty_system(linux_build: LinuxBuild, tmp_path: Path) -> None:
    """apt can satisfy Depends from the archive for a system with nothing installed (a simulated install)."""
    policy = subprocess.run(["apt-cache", "policy", "libportaudio2"], capture_output=True, text=True, check=False)
    if "Candidate: (none)" in policy.stdout or "Candidate:" not in policy.stdout:
        pytest.skip("apt has no package lists here (run apt-get update)")
    status = tmp_path / "status"
    status.write_text("")
    proc = subprocess.run(["apt-get", "install", "--simulate", "-o", f"Dir::State::status={status}",
                           str(linux_build.deb)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert re.search(r"^Inst captioner ", proc.stdout, re.M)
    for package in ("libportaudio2", "libxcb-cursor0"):
        assert re.search(rf"^Inst {package} ", proc.stdout, re.M), package


def test_installed_app_offscreen(deb_root: Path, microphone: dict[str, str], tmp_path: Path) -> None:
    report = smoke(deb_root / "usr" / "bin" / "captioner",
                   app_env(tmp_path, QT_QPA_PLATFORM="offscreen", **microphone), "offscreen")
    check_report(report, deb_root / "opt" / "captioner", "offscreen")
    # The .deb uses the system's PortAudio (Depends: libportaudio2), not a bundled copy.
    assert not report["audio"]["library"].startswith(str(deb_root)), report["audio"]["library"]


def test_installed_app_under_xvfb(deb_root: Path, microphone: dict[str, str], tmp_path: Path) -> None:
    if not shutil.which("xvfb-run"):
        pytest.skip("xvfb-run not installed")
    report = smoke(deb_root / "usr" / "bin" / "captioner", app_env(tmp_path, QT_QPA_PLATFORM="xcb", **microphone),
                   "xcb", wrapper=("xvfb-run", "-a", "-s", "-screen 0 1280x800x24"))
    check_report(report, deb_root / "opt" / "captioner", "xcb")


def test_onedir_bundle_finds_its_own_portaudio(linux_build: LinuxBuild, microphone: dict[str, str],
                                                tmp_path: Path) -> None:
    """The runtime hook points sounddevice at the bundled PortAudio (PyInstaller would leave it to the system)."""
    report = smoke(linux_build.bundle / "captioner", app_env(tmp_path, QT_QPA_PLATFORM="offscreen", **microphone),
                   "offscreen")
    check_report(report, linux_build.bundle, "offscreen")
    assert report["audio"]["library"] == str(linux_build.bundle / "_internal" / "libportaudio.so.2")


def test_installed_binary_transcribes_like_the_source(deb_root: Path, tmp_path: Path) -> None:
    proc = subprocess.run([str(deb_root / "usr" / "bin" / "captioner"), "transcribe", str(SPEECH), *MODEL_ARGS],
                          env=app_env(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    source = subprocess.run([sys.executable, "-m", "captioner", "transcribe", str(SPEECH), *MODEL_ARGS], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=True)
    assert len(proc.stdout.split()) >= 5
    assert proc.stdout == source.stdout


def test_installed_binary_imports_a_nemo_and_transcribes(deb_root: Path, tmp_path: Path) -> None:
    """The installed app converts a .nemo itself (the bundle has neither NeMo nor torch) and captions with it."""
    nemo = ROOT / "tests" / "fixtures" / "seed" / "tiny-a" / "tiny-a.nemo"
    imported = tmp_path / "imported"
    exe = str(deb_root / "usr" / "bin" / "captioner")
    proc = subprocess.run([exe, "import", str(nemo), str(imported), "--quiet"], env=app_env(tmp_path),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "Imported tiny-a" in proc.stdout
    installed = subprocess.run([exe, "transcribe", str(SPEECH), "--model", str(imported), "--format", "json"],
                               env=app_env(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr
    exported = subprocess.run([sys.executable, "-m", "captioner", "transcribe", str(SPEECH), "--model",
                               str(TEST_MODEL), "--format", "json"], cwd=ROOT, capture_output=True, text=True,
                              timeout=300, check=True)
    ids = json.loads(installed.stdout)["token_ids"]
    assert ids and ids == json.loads(exported.stdout)["token_ids"]  # import == NeMo's export, token for token
