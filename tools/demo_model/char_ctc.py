"""Training-only aids against CTC's blank plateau (``train --char-ctc``, opt-in).

The encoder learns characters long before it learns BPE pieces (README, *Why the code is as it is*), so:

* an auxiliary character CTC head on the encoder output, each 80 ms frame upsampled to three
  character slots (a fast talker says ~15 characters a second, more than one per frame): a dense,
  easy target meant to teach the encoder the sounds, so that the BPE CTC and RNNT heads have
  something to read. It is not part of the exported model;
* input normalisation ``(mel - mean) / std`` trained as a reparameterisation of the first
  subsampling convolution, so that the exported model needs no new input stage: the weights are
  folded back (``folded_state_dict``) and the app still feeds raw log-mel features.
"""

from __future__ import annotations

from typing import Any

ALPHABET = " abcdefghijklmnopqrstuvwxyz'"
"""Index 0 of the head is CTC's blank; character ``ALPHABET[k]`` is class ``k + 1``."""
FIRST_CONV = "encoder.pre_encode.conv.0"


def char_ids(text: str) -> list[int]:
    """Class ids of the characters of ``text`` the alphabet knows (the corpus has no others)."""
    return [ALPHABET.index(c) + 1 for c in text if c in ALPHABET]


def make_head(d_model: int, upsample: int) -> Any:
    """A linear layer from each encoder frame to ``upsample`` character distributions."""
    import torch

    return torch.nn.Linear(d_model, upsample * (len(ALPHABET) + 1))


def char_ctc_loss(head: Any, encoded: Any, encoded_len: Any, targets: list[list[int]], upsample: int) -> Any:
    """Character CTC over the upsampled frames, summed per utterance and averaged over the batch
    (NeMo's ``mean_batch``, the scale of the other two losses). Clips with more characters than
    slots contribute nothing (``zero_infinity``)."""
    import torch

    b, _, t = encoded.shape
    log_probs = head(encoded.transpose(1, 2).float()).reshape(b, t * upsample, -1).log_softmax(-1)
    flat = torch.tensor([c for y in targets for c in y], dtype=torch.long, device=encoded.device)
    lengths = torch.tensor([len(y) for y in targets], dtype=torch.long, device=encoded.device)
    loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), flat, encoded_len * upsample, lengths,
                                        blank=0, reduction="sum", zero_infinity=True)
    return loss / b


def normalize_first_conv(model: Any, mean: float, std: float) -> None:
    """Train the first subsampling convolution as if its input were ``(mel - mean) / std``.

    The convolution computes ``conv(x, W / std) + b - mean / std * sum(W)``; its zero padding is the
    raw features' zero, so this is exactly a convolution with folded weights (``folded_state_dict``).
    """
    import torch

    conv = _first_conv(model)
    base = torch.nn.Conv2d._conv_forward

    def forward(x: Any, weight: Any, bias: Any) -> Any:
        return base(conv, x, weight / std, bias - (mean / std) * weight.sum(dim=(1, 2, 3)))

    conv._conv_forward = forward


def folded_state_dict(model: Any, mean: float, std: float) -> dict[str, Any]:
    """The model's weights with the normalisation folded into the first convolution: what a plain
    NeMo model (and ``captioner export``) loads to compute the same function."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    w, b = state[f"{FIRST_CONV}.weight"], state[f"{FIRST_CONV}.bias"]
    state[f"{FIRST_CONV}.bias"] = b - (mean / std) * w.sum(dim=(1, 2, 3))
    state[f"{FIRST_CONV}.weight"] = w / std
    return state


def _first_conv(model: Any) -> Any:
    import torch

    conv = model.encoder.pre_encode.conv[0]
    assert isinstance(conv, torch.nn.Conv2d) and conv.in_channels == 1, conv
    return conv
