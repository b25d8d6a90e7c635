"""Named access to a NeMo state dict, with one clear error for a missing or misshapen tensor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from captioner.nemo_import.architecture import NemoImportError


class StateDict:
    """Tensors by their NeMo names (``encoder.layers.0.self_attn.linear_q.weight``), as float32 when floating."""

    def __init__(self, tensors: Mapping[str, npt.NDArray[Any]]) -> None:
        self._tensors = tensors

    def __contains__(self, name: str) -> bool:
        return name in self._tensors

    def get(self, name: str, shape: tuple[int, ...] | None = None) -> npt.NDArray[np.float32]:
        if name not in self._tensors:
            raise NemoImportError(
                f"The checkpoint has no tensor {name!r}, which this model's config implies: the weights and "
                "the config do not belong together, or the model has a layout Captioner does not know."
            )
        value = np.asarray(self._tensors[name])
        if shape is not None and tuple(value.shape) != shape:
            raise NemoImportError(
                f"The checkpoint's {name} has shape {tuple(value.shape)}; the config implies {shape}. The weights "
                "and the config do not belong together."
            )
        if value.dtype.kind == "f" and value.dtype != np.float32:
            return value.astype(np.float32)
        return value

    def names(self, prefix: str) -> list[str]:
        return [n for n in self._tensors if n.startswith(prefix)]
