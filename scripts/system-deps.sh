#!/usr/bin/env bash
# System libraries Captioner needs on Debian/Ubuntu. $1 = "run" (the app) or "test" (the test suite too).
set -euo pipefail
purpose=${1:-run}
packages=(libportaudio2 libsndfile1 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
          libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
          libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0 libglib2.0-0 fonts-dejavu-core)
if [ "$purpose" = test ]; then
  packages+=(xvfb xauth xdotool pulseaudio pulseaudio-utils espeak-ng sox strace chromium)
  # tests/packaging builds the installers: PyInstaller (binutils, a shared libpython), the .deb's library check
  # (Qt's Wayland plugin libraries), the AppDir image and the desktop-entry/AppStream validators.
  packages+=(binutils squashfs-tools desktop-file-utils appstream libwayland-client0 libwayland-cursor0 libwayland-egl1)
  pyver=$(${PYTHON:-python3} -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)
  # Debian's own python3 is linked statically; PyInstaller needs the shared library from libpython3.X.
  if [ -n "$pyver" ] && dpkg -S "$(readlink -f "$(command -v "${PYTHON:-python3}")")" >/dev/null 2>&1; then
    packages+=("libpython$pyver")
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get here; install the equivalents of: ${packages[*]}" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
