"""On the GPU machine: send ``checkpoint.pt`` back in parts that fit what a call may return.

    python3 -m tools.demo_model.remote.pack RUN_DIR OUT_DIR

A call returns at most 8 files of 16 MiB, 64 MiB in all: the checkpoint of the 7.25 M-parameter model
with fp32 Adam moments is 88 MB, so the moments travel as bf16 (same exponent range; a resumed Adam
loses only their low mantissa bits) and the whole in parts of 15 MiB. Should it still exceed
``MAX_BYTES``, the optimizer state is left out (``train --resume`` then starts a fresh Adam).
``unpack.py`` joins the parts.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path
from typing import Any

PART_BYTES = 15 * 2**20
MAX_BYTES = 60 * 2**20


def compact(ck: dict[str, Any]) -> bytes:
    import torch

    if ck.get("optimizer"):
        for state in ck["optimizer"]["state"].values():
            for key in ("exp_avg", "exp_avg_sq"):
                state[key] = state[key].to(torch.bfloat16)
    buf = io.BytesIO()
    torch.save(ck, buf)
    if buf.tell() > MAX_BYTES and ck.get("optimizer"):
        ck["optimizer"] = None
        return compact(ck)
    return buf.getvalue()


def main(run: Path, out: Path) -> int:
    import torch

    for name in ("train.json", "model_config.yaml"):
        if (run / name).exists():
            shutil.copy(run / name, out / name)
    data = compact(torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False))
    for k in range(0, len(data), PART_BYTES):
        (out / f"ckpt.part{k // PART_BYTES}").write_bytes(data[k: k + PART_BYTES])
    print(f"packed {len(data)} bytes in {-(-len(data) // PART_BYTES)} parts")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
