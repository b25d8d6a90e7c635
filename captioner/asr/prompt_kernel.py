"""NeMo's language prompt applied outside the encoder graph, for hand-made exports of prompt models.

NeMo's own ``model.export`` leaves ``prompt_kernel`` out of both graphs of an
``EncDecRNNTBPEModelWithPrompt``, so its encoder outputs the frames *before* the prompt. With the ``.nemo``
beside the graphs, the kernel's four tensors are read from its checkpoint (with the restricted reader)
and applied here between encoder and decoder, as ``conformer_stream_step`` does:
``Linear(relu(Linear(concat(frame, one_hot(locale)))))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from captioner.asr.errors import ModelFolderError

KERNEL_TENSORS = ("prompt_kernel.0.weight", "prompt_kernel.0.bias", "prompt_kernel.2.weight", "prompt_kernel.2.bias")


@dataclass(frozen=True)
class PromptKernel:
    """The two layers of ``prompt_kernel``, with the one-hot part of the first folded per locale."""

    w1: npt.NDArray[np.float32]
    b1: npt.NDArray[np.float32]
    w2: npt.NDArray[np.float32]
    b2: npt.NDArray[np.float32]

    @property
    def num_prompts(self) -> int:
        return int(self.w1.shape[1] - self.w2.shape[0])

    def apply(self, frames: npt.NDArray[np.float32], prompt_index: int) -> npt.NDArray[np.float32]:
        """``frames [D, T]`` -> the prompted ``[D, T]`` the decoder sees."""
        d = self.w2.shape[0]
        one_hot = np.zeros((frames.shape[1], self.num_prompts), np.float32)
        one_hot[:, prompt_index] = 1.0
        joined = np.concatenate([frames.T, one_hot], axis=1)  # [T, D + P]
        hidden = np.maximum(joined @ self.w1.T + self.b1, 0.0)
        out: npt.NDArray[np.float32] = (hidden @ self.w2.T + self.b2).astype(np.float32)
        assert out.shape[1] == d
        return np.ascontiguousarray(out.T)


def read_prompt_kernel(nemo: Path) -> PromptKernel:
    """The kernel's tensors from ``nemo``'s checkpoint; every other tensor is left unread in the file."""
    from captioner.asr.nemo_archive import NemoArchive
    from captioner.asr.torch_checkpoint import read_state_dict

    with NemoArchive(nemo) as archive:
        state = read_state_dict(archive, only=KERNEL_TENSORS)
    missing = [name for name in KERNEL_TENSORS if name not in state]
    if missing:
        raise ModelFolderError(f"{nemo} describes a language-prompt model but its checkpoint has no "
                               f"{', '.join(missing)}.", "Use the model's original .nemo file.")
    w1, b1, w2, b2 = (np.asarray(state[name], np.float32) for name in KERNEL_TENSORS)
    if w1.ndim != 2 or w2.ndim != 2 or w1.shape[0] != w2.shape[1] or w1.shape[1] <= w2.shape[0]:
        raise ModelFolderError(f"{nemo}: prompt_kernel has unexpected shapes {w1.shape} / {w2.shape}.",
                               "Use the model's original .nemo file.")
    return PromptKernel(w1, b1, w2, b2)
