"""Here: join the parts ``pack.py`` sent back into a checkpoint ``train --resume`` continues.

    python -m tools.demo_model.remote.unpack FILES_DIR RUN_DIR

The bf16 Adam moments become fp32 again; ``train.json`` and ``model_config.yaml`` are copied along.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path
from typing import Any


def restore(data: bytes) -> dict[str, Any]:
    import torch

    ck = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    if ck.get("optimizer"):
        for state in ck["optimizer"]["state"].values():
            for key in ("exp_avg", "exp_avg_sq"):
                state[key] = state[key].float()
    return ck


def main(files: Path, run: Path) -> int:
    import torch

    parts = sorted(files.glob("ckpt.part*"), key=lambda p: int(p.name.removeprefix("ckpt.part")))
    if not parts:
        raise SystemExit(f"no ckpt.part* files in {files}")
    ck = restore(b"".join(p.read_bytes() for p in parts))
    run.mkdir(parents=True, exist_ok=True)
    for name in ("train.json", "model_config.yaml"):
        if (files / name).exists():
            shutil.copy(files / name, run / name)
    torch.save(ck, run / "checkpoint.pt")
    print(f"{run / 'checkpoint.pt'}: step {ck['step']}, optimizer {'kept' if ck.get('optimizer') else 'left out'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
