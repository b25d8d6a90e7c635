#!/usr/bin/env bash
# Builds the Linux installers and prints their sizes and the start-up time.
#
#   packaging/linux/build.sh            # CPU bundle build/dist/captioner, .deb, AppDir squashfs, figures
#   packaging/linux/build.sh --no-appdir
#   packaging/linux/build.sh --gpu      # GPU bundle build/dist-gpu/captioner (downloads several GB; not CI)
#
# The bundle venv (build/bundle-venv[-gpu]) gets plain onnxruntime for the CPU variant (pyproject.toml asks for
# onnxruntime-gpu on x86-64 Linux), the other runtime dependencies pinned in packaging/requirements-*.txt, and
# captioner itself with --no-deps. Never librosa/numba/scipy. PYTHON picks the base interpreter; it must have a
# shared libpython (Debian: the libpython3.X package).
set -euo pipefail
cd "$(dirname "$0")/../.."
variant=cpu; appdir=1
for arg in "$@"; do
  case $arg in
    --gpu) variant=gpu ;;
    --no-appdir) appdir=0 ;;
    *) echo "usage: $0 [--gpu] [--no-appdir]" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-python3}
if [ "$variant" = gpu ]; then venv=build/bundle-venv-gpu; reqs=packaging/requirements-gpu.txt; dist=build/dist-gpu
else venv=build/bundle-venv; reqs=packaging/requirements-bundle.txt; dist=build/dist; fi
export PIP_DISABLE_PIP_VERSION_CHECK=1

started=$(date +%s)
if [ ! -x "$venv/bin/python" ]; then
  "$PYTHON" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q -r "$reqs"
"$venv/bin/python" -m pip install -q --no-deps -e .
for banned in librosa numba llvmlite scipy; do
  if "$venv/bin/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$banned') is None)"; then
    echo "build: $banned is installed in $venv; the bundle must not carry it" >&2; exit 1
  fi
done
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("captioner"))')

log=build/pyinstaller-$variant.log
pyi_env=()
if [ "$variant" = gpu ]; then
  # Let PyInstaller resolve the CUDA provider's libraries inside the NVIDIA wheels, so it keeps their
  # nvidia/<pkg>/lib layout instead of reporting them missing.
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  nvidia_libs=$(find "$site/nvidia" -maxdepth 2 -type d -name lib | paste -sd: -)
  pyi_env=(LD_LIBRARY_PATH="$nvidia_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
echo "build: PyInstaller ($variant, captioner $version) -> $dist/captioner, log $log"
if ! env "${pyi_env[@]}" CAPTIONER_BUNDLE_VARIANT=$variant "$venv/bin/pyinstaller" --noconfirm --clean \
    --distpath "$dist" --workpath "build/pyi-$variant" packaging/captioner.spec >"$log" 2>&1; then
  tail -30 "$log" >&2; exit 1
fi
# A library PyInstaller cannot find is a plugin that will not load on users' machines. The only exception is the
# NVIDIA driver (libcuda.so.1) in the GPU variant: it must come from the user's system, never from the bundle.
if grep "Library not found" "$log" | grep -v "could not resolve 'libcuda.so.1'" >&2; then
  echo "build: PyInstaller could not find the libraries above; install them on the build host" >&2; exit 1
fi

if [ "$variant" = gpu ]; then
  "$venv/bin/python" packaging/linux/check_gpu_bundle.py "$dist/captioner"
  echo "build: GPU bundle $(du -sh "$dist/captioner" | cut -f1) in $(( $(date +%s) - started )) s"
  exit 0
fi

deb=$(python3 packaging/linux/make_deb.py "$dist/captioner" "$dist" --version "$version")
figures=(--bundle "$dist/captioner" --deb "$deb" --json "$dist/figures.json")
if [ ! -f models/captioner-demo-en/captioner-model.json ]; then
  # A checkout without the demo model: time the start-up on the small test model (a real one loads for longer).
  echo "build: no default model in models/ to bundle; the start-up is timed on tests/fixtures/models/tiny-a"
  figures+=(--model tests/fixtures/models/tiny-a)
fi
if [ "$appdir" = 1 ]; then
  squashfs=$(packaging/linux/make_appdir.sh "$dist/captioner" "$dist" "$version")
  figures+=(--squashfs "$squashfs")
fi
echo "build: $deb"
python3 packaging/linux/report.py "${figures[@]}"
echo "build: done in $(( $(date +%s) - started )) s"
