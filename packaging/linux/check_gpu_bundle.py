"""Check the GPU bundle: every library its ELF files need resolves, except the NVIDIA driver (libcuda.so.1).

    build/bundle-venv-gpu/bin/python packaging/linux/check_gpu_bundle.py build/dist-gpu/captioner

The driver is the one library a GPU installer must not ship (it has to match the kernel module), so on a machine
without an NVIDIA GPU exactly that one must be missing and nothing else. Libraries are resolved the way the app
resolves them: the bundle folder first, then the NVIDIA wheels' ``nvidia/<pkg>/lib`` folders that
``onnxruntime.preload_dlls()`` loads from, then the system. Also checks that the layout preload_dlls expects exists.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DRIVER = "libcuda.so.1"


def main() -> int:
    bundle = Path(sys.argv[1]).resolve()
    internal = bundle / "_internal"
    lib_dirs = sorted(str(p) for p in (internal / "nvidia").glob("*/lib"))
    if not lib_dirs:
        print(f"check_gpu_bundle: no nvidia/<pkg>/lib folders in {internal}", file=sys.stderr)
        return 1
    expected = ["libcublasLt.so", "libcublas.so", "libcudart.so", "libcurand.so", "libcufft.so", "libcudnn.so"]
    present = {f.name for d in lib_dirs for f in Path(d).iterdir()}
    absent = [name for name in expected if not any(p.startswith(name) for p in present)]
    env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join([str(internal), *lib_dirs])}
    missing: dict[str, set[str]] = {}
    files = 0
    for path in sorted(p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()):
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        files += 1
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env, check=False).stdout
        for lib in re.findall(r"^\s*(\S+) => not found", out, re.M):
            missing.setdefault(lib, set()).add(str(path.relative_to(bundle)))
    print(f"check_gpu_bundle: {files} ELF files; nvidia folders: "
          + ", ".join(str(Path(d).relative_to(internal)) for d in lib_dirs))
    for lib, users in sorted(missing.items()):
        print(f"  not found: {lib} (needed by {len(users)} files, e.g. {sorted(users)[0]})")
    problems = [lib for lib in missing if lib != DRIVER]
    if absent:
        print(f"check_gpu_bundle: CUDA/cuDNN libraries missing from the bundle: {absent}", file=sys.stderr)
    if problems:
        print(f"check_gpu_bundle: unresolved libraries other than {DRIVER}: {problems}", file=sys.stderr)
    if absent or problems:
        return 1
    print(f"check_gpu_bundle: OK, only {DRIVER} (the NVIDIA driver) is missing" if missing
          else "check_gpu_bundle: OK, every library resolves (this machine has the NVIDIA driver)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
