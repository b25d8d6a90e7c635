"""Build the Captioner ``.deb`` from the PyInstaller onedir bundle with ``dpkg-deb``.

    python3 packaging/linux/make_deb.py build/dist/captioner build/dist --version 0.1.0

Layout: the bundle under ``/opt/captioner``, ``/usr/bin/captioner`` (a relative symlink, so the package also
runs from a ``dpkg -x`` root), the desktop entry, hicolor icons and AppStream metainfo.

Why the package differs from the onedir bundle: the bundle carries copies of the build host's X11/xcb, fontconfig,
D-Bus, GLib and PortAudio libraries so it runs anywhere (AppImage, tarball). A Debian package should use the
system's instead (security updates, and the same libraries the desktop's GL driver was built against), so their
bundled copies are removed here and their packages become ``Depends``. ``Depends`` is then computed, not
hand-written: every library any ELF file in the package needs from outside it, resolved with ``ldd`` and mapped to
its package with ``dpkg -S``; a library that resolves nowhere fails the build.
"""

from __future__ import annotations

import argparse
import datetime
import filecmp
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
APPSTREAM_ID = "io.github.captioner.Captioner"
ICON_SIZES = (32, 64, 256)

# Bundled libraries whose Debian packages provide them; the .deb takes these from the system. PortAudio is
# loaded with ctypes (no ELF file names it), so it is listed explicitly even though ldd never sees it; its own
# dependencies (ALSA, JACK) come with libportaudio2.
SYSTEM_LIBRARY_PREFIXES = (
    "libportaudio.so",
    "libX11.so", "libX11-xcb.so", "libXau.so", "libXdmcp.so", "libXext.so", "libXrender.so",
    "libxcb-", "libxkbcommon.so", "libxkbcommon-x11.so",
    "libfontconfig.so", "libfreetype.so", "libdbus-1.so", "libglib-2.0.so", "libgobject-2.0.so",
    "libgio-2.0.so", "libgmodule-2.0.so", "libgthread-2.0.so",
)


def run(*cmd: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def is_elf(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


STANDARD_LIB_DIRS = ("/lib/", "/usr/lib/", "/lib64/", "/usr/lib64/")


@functools.cache
def dpkg_index() -> dict[str, tuple[str, str]]:
    """Library file name -> (package, path) for every library dpkg knows (``dpkg -S`` rereads everything per call).

    A file name several packages ship (a private copy in an application's own folder, say) maps to the one
    in a standard library folder, where the dynamic loader finds it.
    """
    index: dict[str, tuple[str, str]] = {}
    for listing in sorted(Path("/var/lib/dpkg/info").glob("*.list")):
        package = listing.stem.split(":")[0]
        for line in listing.read_text(errors="replace").splitlines():
            if "/lib" in line and ".so" in line:
                name = os.path.basename(line)
                if name not in index or (_is_standard(line) and not _is_standard(index[name][1])):
                    index[name] = (package, line)
    return index


def _is_standard(path: str) -> bool:
    return os.path.dirname(path).count("/") <= 4 and path.startswith(STANDARD_LIB_DIRS)


@functools.cache
def dpkg_paths() -> dict[str, str]:
    """Full path -> package for every library dpkg knows."""
    return {path: package for package, path in dpkg_index().values()} | {
        line: listing.stem.split(":")[0]
        for listing in Path("/var/lib/dpkg/info").glob("*.list")
        for line in listing.read_text(errors="replace").splitlines() if "/lib" in line and ".so" in line}


def owning_package(library: str) -> str | None:
    """The Debian package that owns ``library`` (a path or a bare soname) on this machine, if any.

    A path is looked up as it is, resolved, and with or without the ``/usr`` prefix (merged-/usr systems
    register either); a bare name falls back to the library of that name in a standard folder.
    """
    if os.sep in library:
        paths = dpkg_paths()
        for candidate in (library, os.path.realpath(library)):
            for variant in (candidate, candidate.removeprefix("/usr"), "/usr" + candidate):
                if variant in paths:
                    return paths[variant]
    index = dpkg_index()
    for name in (os.path.basename(library), os.path.basename(os.path.realpath(library))):
        if name in index:
            return index[name][0]
    return None


def copied_from_package(lib: Path) -> bool:
    """True when the bundled ``lib`` is byte for byte the file a Debian package installed on the build host.

    A library of the same name from elsewhere (pyenv's libpython, a wheel's) is not the package's and stays.
    """
    entry = dpkg_index().get(lib.name)
    if entry is None or not os.path.exists(entry[1]):
        return False
    return filecmp.cmp(lib, os.path.realpath(entry[1]), shallow=False)


@functools.cache
def needed(path: Path) -> tuple[str, ...]:
    """DT_NEEDED entries of an ELF file."""
    out = run("readelf", "-d", "-W", str(path))
    return tuple(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))


def take_from_system(internal: Path) -> set[str]:
    """Delete bundled copies of system libraries (and bundled libraries only they needed); return their packages."""
    packages: set[str] = set()
    for lib in sorted(internal.iterdir()):
        if lib.name.startswith(SYSTEM_LIBRARY_PREFIXES):
            package = owning_package(lib.name)
            if package is None:
                raise SystemExit(f"make_deb: no Debian package on this machine provides {lib.name}; install it")
            packages.add(package)
            lib.unlink()
    # Bundled libraries that only the removed ones needed are now dead weight that would shadow the system's.
    # Only copies of this machine's Debian packages are candidates: wheels' and Python's own (libpython is loaded
    # by the bootloader, so nothing names it) never are.
    while True:
        wanted = {name for f in internal.parent.rglob("*") if is_elf(f) for name in needed(f)}
        orphans = [lib for lib in internal.glob("lib*.so*")
                   if lib.name not in wanted and is_elf(lib) and copied_from_package(lib)]
        if not orphans:
            return packages
        for lib in orphans:
            lib.unlink()


def external_packages(app: Path) -> tuple[set[str], str]:
    """Packages of the libraries the package's ELF files load from the system, and the newest glibc symbol used.

    Only libraries an ELF file names itself count; what those libraries need in turn is their packages' business.
    """
    env = {**os.environ, "LD_LIBRARY_PATH": str(app / "_internal")}
    packages: set[str] = set()
    missing: list[str] = []
    glibc = "2.17"
    for f in sorted(p for p in app.rglob("*") if is_elf(p)):
        out = subprocess.run(["ldd", str(f)], capture_output=True, text=True, env=env, check=False).stdout
        for line in out.splitlines():
            m = re.match(r"\s*(\S+) => (.+?) \(0x", line)
            if "not found" in line:
                missing.append(f"{line.split()[0]} (needed by {f.relative_to(app)})")
            elif m and m.group(1) in needed(f) and not m.group(2).startswith(str(app)):
                package = owning_package(m.group(2))
                if package is None:
                    raise SystemExit(f"make_deb: {m.group(2)} (needed by {f.relative_to(app)}) is in no Debian package")
                packages.add(package)
        for version in re.findall(r"GLIBC_(\d+\.\d+)", run("objdump", "-T", str(f))):
            if tuple(map(int, version.split("."))) > tuple(map(int, glibc.split("."))):
                glibc = version
    if missing:
        raise SystemExit("make_deb: libraries not found on this machine:\n  " + "\n  ".join(sorted(set(missing))))
    return packages, glibc


def build(bundle: Path, out_dir: Path, version: str) -> Path:
    arch = run("dpkg", "--print-architecture").strip()
    stage = ROOT / "build" / "deb" / f"captioner_{version}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    app = stage / "opt" / "captioner"
    shutil.copytree(bundle, app, symlinks=True)
    packages = take_from_system(app / "_internal")
    ldd_packages, glibc = external_packages(app)
    packages |= ldd_packages
    packages.discard("libc6")
    depends = [f"libc6 (>= {glibc})", *sorted(packages)]

    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / "captioner").symlink_to("../../opt/captioner/captioner")
    share = stage / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy(HERE / "captioner.desktop", share / "applications" / "captioner.desktop")
    (share / "metainfo").mkdir()
    (share / "metainfo" / f"{APPSTREAM_ID}.metainfo.xml").write_text(metainfo(version))
    for size in ICON_SIZES:
        icon_dir = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        icon_dir.mkdir(parents=True)
        shutil.copy(ROOT / "resources" / f"captioner-{size}.png", icon_dir / "captioner.png")
    (share / "doc" / "captioner").mkdir(parents=True)
    (share / "doc" / "captioner" / "copyright").write_text(
        "Captioner\nLicense: Apache-2.0\nSee /usr/share/common-licenses/Apache-2.0.\n"
        "Bundled third-party components (Python, Qt/PySide6, ONNX Runtime, NumPy, ...) keep their own licences.\n")

    installed_kb = sum(p.lstat().st_size for p in stage.rglob("*") if not p.is_dir()) // 1024
    (stage / "DEBIAN").mkdir()
    (stage / "DEBIAN" / "control").write_text(
        f"Package: captioner\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: Captioner developers <captioner@users.noreply.github.com>\n"
        f"Installed-Size: {installed_kb}\nDepends: {', '.join(depends)}\n"
        "Section: sound\nPriority: optional\nHomepage: https://github.com/captioner/captioner\n"
        "Description: live, private meeting captions computed on this machine\n"
        " Captioner shows live captions of a meeting from the microphone or the system audio,\n"
        " computed locally by a streaming FastConformer speech model on ONNX Runtime.\n"
        " No audio and no text leave the machine.\n"
        + (" Includes an English demo model.\n" if any(stage.glob("opt/captioner/_internal/models/*/")) else
           " Export a model with `captioner export` and choose its folder in Settings.\n"))
    for path in stage.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)

    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"captioner_{version}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb)], check=True,
                   stdout=subprocess.DEVNULL)
    return deb


def metainfo(version: str) -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        git = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True,
                             check=False)
        epoch = git.stdout.strip() or None
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch else datetime.datetime.now(
        datetime.timezone.utc)
    template = (HERE / f"{APPSTREAM_ID}.metainfo.xml").read_text()
    return template.replace("@VERSION@", version).replace("@DATE@", when.strftime("%Y-%m-%d"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the PyInstaller onedir folder (build/dist/captioner)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--version", required=True)
    args = parser.parse_args()
    deb = build(args.bundle.resolve(), args.out_dir.resolve(), args.version)
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
