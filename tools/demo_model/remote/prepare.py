#!/usr/bin/env python
"""Prepare a training run on a borrowed GPU machine that has PyTorch but no network.

What travels to such a machine is the repository plus a few ignored folders, at most ``--budget``
bytes per call together with the tracked files (64 MiB on the project's machine). NeMo's wheels and
the 113 MB of Opus shards do not fit one call, so this splits them over several carries:

* ``.whl/``: the wheels of ``wheels.txt`` (cp312, manylinux), downloaded here;
* ``.d1/``: the tokenizer, the gzipped manifest and as many shards as fit beside the wheels;
* ``.d2/``, ``.d3/``, ...: the remaining shards, as many as fit per call;
* with ``--resume RUN``: that run's checkpoint in parts (``ckpt.part*``, placed before any shard) and
  ``ckpt.list`` (the number of parts and the SHA-256 of the whole), to continue it there.

The machine's ``setup.sh`` installs the wheels, gathers every carried shard into ``/tmp/data`` and joins the
checkpoint's parts into ``/tmp/run/checkpoint.pt`` once all have arrived;
``train.py`` trains on whichever shards arrived. ``pack.py`` sends the checkpoint back in parts,
``unpack.py`` joins them here. tools/demo_model/README.md, *Training on a borrowed GPU machine*, has the calls.

    python -m tools.demo_model.remote.prepare [--data work-tmp/demo-model/data] [--carries 3] [--resume RUN]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
             "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"]


def plan_carries(sizes: dict[str, int], first_room: int, room: int, carries: int,
                 required: dict[str, int] | None = None) -> list[list[str]]:
    """Files into calls, each into the first call with room for it: the first call has ``first_room``
    bytes (the wheels and the tokenizer travel with it), the others ``room``. ``required`` files (the
    parts of a checkpoint to continue, the dev shard) go first, in name order, and must all fit; then
    the other shards, in name order. Shards that fit no call are left out (``train.py`` trains on the
    shards that arrive)."""
    plan: list[list[str]] = [[] for _ in range(carries)]
    free = [first_room] + [room] * (carries - 1)
    for must, group in ((True, required or {}), (False, sizes)):
        for name in sorted(group, key=_natural):
            k = next((k for k in range(carries) if group[name] <= free[k]), None)
            if k is None and must:
                raise ValueError(f"{name} ({group[name]} bytes) fits none of the {carries} calls: use more --carries")
            if k is not None:
                plan[k].append(name)
                free[k] -= group[name]
    return plan


def _natural(name: str) -> tuple[str, int]:
    """``ckpt.part10`` after ``ckpt.part9``."""
    stem = name.rstrip("0123456789")
    return stem, int(name[len(stem):] or -1)


def checkpoint_parts(run: Path) -> tuple[list[bytes], str]:
    """``run/checkpoint.pt`` as ``pack.py`` sends it (bf16 Adam moments, which ``train --resume`` loads
    back into fp32: PyTorch's optimizer casts its state to the parameters' dtype), cut into parts,
    and the SHA-256 of the whole that ``setup.sh`` checks after joining them."""
    import hashlib

    import torch

    from .pack import PART_BYTES, compact

    data = compact(torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False))
    return [data[k: k + PART_BYTES] for k in range(0, len(data), PART_BYTES)], hashlib.sha256(data).hexdigest()


def tracked_bytes() -> int:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return sum((ROOT / f).stat().st_size for f in files.decode().split("\0") if f and (ROOT / f).is_file())


def download_wheels(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)  # two versions of one package would both be installed there
    dest.mkdir()
    pins = [ln.strip() for ln in (HERE / "wheels.txt").read_text().splitlines() if ln.strip() and ln[0] != "#"]
    pip = [sys.executable, "-m", "pip"]
    for pin in pins:
        if pin.startswith("antlr4-python3-runtime"):  # sdist only: a pure-Python wheel built here
            subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(dest), pin], check=True)
            continue
        plat = [a for p in PLATFORMS for a in ("--platform", p)]
        subprocess.run([*pip, "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
                        "--implementation", "cp", *plat, "-d", str(dest), pin], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "work-tmp" / "demo-model" / "data")
    ap.add_argument("--budget", type=int, default=64 * 2**20, help="bytes one call may carry, tracked files included")
    ap.add_argument("--carries", type=int, default=3)
    ap.add_argument("--resume", type=Path, default=None, metavar="RUN",
                    help="also carry RUN/checkpoint.pt, to continue that run there (train --resume)")
    args = ap.parse_args()

    exclude = ROOT / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    names = ["/.whl/", *(f"/.d{k + 1}/" for k in range(args.carries))]
    have = exclude.read_text().split() if exclude.exists() else []
    with exclude.open("a") as f:
        f.writelines(n + "\n" for n in names if n not in have)
    download_wheels(ROOT / ".whl")
    for k in range(args.carries):
        shutil.rmtree(ROOT / f".d{k + 1}", ignore_errors=True)
        (ROOT / f".d{k + 1}").mkdir()
    d1 = ROOT / ".d1"
    shutil.copytree(args.data / "tokenizer", d1 / "tokenizer")
    with (args.data / "train" / "manifest.jsonl").open("rb") as src, gzip.open(d1 / "manifest.jsonl.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)

    def size(p: Path) -> int:
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())

    room = args.budget - tracked_bytes() - 2**20  # a MiB for the scripts and untracked files
    first_room = room - size(ROOT / ".whl") - size(d1)
    sizes = {p.name: p.stat().st_size for p in (args.data / "train").glob("*.ogg")}
    parts, digest = checkpoint_parts(args.resume) if args.resume else ([], "")
    part_names = {f"ckpt.part{k}": len(p) for k, p in enumerate(parts)}
    # the shard of the manifest's last utterances, the dev set: train.py refuses to train without it
    with (args.data / "train" / "manifest.jsonl").open("rb") as f:
        dev_shard = json.loads(f.readlines()[-1])["shard"]
    required = {**part_names, dev_shard: sizes.pop(dev_shard)}
    listing = f"{len(parts)} {digest}\n"
    room -= len(listing)  # ckpt.list may travel in every call
    first_room -= len(listing)
    try:
        plan = plan_carries(sizes, first_room, room, args.carries, required)
    except ValueError as exc:
        raise SystemExit(f"the checkpoint or the dev shard does not fit: {exc}") from None
    for k, names in enumerate(plan):
        carry = ROOT / f".d{k + 1}"
        for name in names:
            if name in part_names:
                (carry / name).write_bytes(parts[int(name.removeprefix("ckpt.part"))])
                (carry / "ckpt.list").write_text(listing)
                continue
            try:
                os.link(args.data / "train" / name, carry / name)
            except OSError:  # another file system
                shutil.copy2(args.data / "train" / name, carry / name)
    shards = [len([n for n in p if n not in part_names]) for p in plan]
    n_shards = len(sizes) + 1  # the dev shard was taken out of sizes
    later = [f".d{k + 1}" for k in range(1, args.carries)]
    ckpt = (f"; checkpoint of {args.resume} in {len(parts)} parts, {sum(part_names.values()) / 1e6:.1f} MB"
            if parts else "")
    print(f"wheels {size(ROOT / '.whl') / 1e6:.1f} MB; shards per carry {shards}, "
          f"{n_shards - sum(shards)} of {n_shards} left out{ckpt}; "
          f"carry ['.whl', '.d1'], then {later}, one per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
