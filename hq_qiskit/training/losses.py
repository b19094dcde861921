"""Soft Dice loss, added to cross-entropy with ``--dice`` (``TrainConfig.dice``).

Cross-entropy weighs every pixel alike, so classes that cover a few per cent of a tile
(buildings, roads) contribute little to it; the Dice term weighs every class alike, as mIoU does.
"""

from __future__ import annotations

import torch
from torch import Tensor


def soft_dice_loss(
    logits: Tensor, target: Tensor, ignore_index: int, smooth: float = 1.0
) -> Tensor:
    """1 - mean over classes of the soft Dice coefficient on the batch's valid pixels.

    Args:
        logits: (B, K, P, P) unnormalised class scores.
        target: (B, P, P) class indices in 0..K-1, or ``ignore_index`` (excluded).
        ignore_index: label of pixels that count for nothing.
        smooth: added to numerator and denominator, in pixels; a class absent from the batch
            and not predicted scores 1 instead of 0/0.

    Returns:
        A scalar in [0, 1): 0 when the softmax puts probability 1 on every true class.
    """
    k = logits.shape[1]
    valid = (target != ignore_index).unsqueeze(1)  # (B, 1, P, P)
    prob = logits.float().softmax(1) * valid  # (B, K, P, P), 0 on ignored pixels
    onehot = torch.nn.functional.one_hot(target.masked_fill(~valid[:, 0], 0), k)
    onehot = onehot.permute(0, 3, 1, 2).to(prob.dtype) * valid  # (B, K, P, P)
    dims = (0, 2, 3)
    overlap = (prob * onehot).sum(dims)  # (K,) soft true-positive pixels
    total = prob.sum(dims) + onehot.sum(dims)  # (K,)
    return 1 - ((2 * overlap + smooth) / (total + smooth)).mean()
