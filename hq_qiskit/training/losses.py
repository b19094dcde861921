"""Soft Dice loss, added to cross-entropy with ``--dice`` (``TrainConfig.dice``).

Cross-entropy weighs every pixel alike, so classes that cover a few per cent of a tile
(buildings, roads) contribute little to it; the Dice term weighs every class alike, as mIoU does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def soft_dice_loss(
    logits: Tensor,
    target: Tensor,
    ignore_index: int,
    smooth: float = 1.0,
    reduce: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """1 - mean over classes of the soft Dice coefficient on the batch's valid pixels.

    Args:
        logits: (B, K, P, P) unnormalised class scores.
        target: (B, P, P) class indices in 0..K-1, or ``ignore_index`` (excluded).
        ignore_index: label of pixels that count for nothing.
        smooth: added to numerator and denominator, in pixels; a class absent from the batch
            and not predicted scores 1 instead of 0/0.
        reduce: sums a (2K,) tensor of per-class pixel sums over the training processes
            (``Dist.sum_differentiable``), so that Dice is that of the global batch; None:
            this batch alone.

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
    if reduce is not None:
        overlap, total = reduce(torch.cat([overlap, total])).split(k)
    return 1 - ((2 * overlap + smooth) / (total + smooth)).mean()


class CrossEntropyDice(nn.Module):
    """Cross-entropy + ``dice`` x ``soft_dice_loss``: (B, K, P, P), (B, P, P) -> scalar.

    The training loop takes the cross-entropy part through ``global_mean_loss`` and the Dice
    part through ``dice_term`` with the processes' sum, so under torchrun both are the losses of
    the global batch; validation calls the module, so train and val losses are the same
    function.

    Attributes:
        ce: the cross-entropy (class weights, ignore index, label smoothing).
        dice: weight of the Dice term (0: cross-entropy alone).
    """

    def __init__(self, ce: nn.CrossEntropyLoss, dice: float) -> None:
        super().__init__()
        self.ce = ce
        self.dice = dice

    def dice_term(
        self, logits: Tensor, target: Tensor, reduce: Callable[[Tensor], Tensor] | None = None
    ) -> Tensor:
        """``dice`` x the soft Dice loss of the batch (0 when ``dice`` is 0); ``reduce`` as in
        ``soft_dice_loss``."""
        if self.dice == 0:
            return logits.new_zeros(())
        return self.dice * soft_dice_loss(logits, target, self.ce.ignore_index, reduce=reduce)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return self.ce(logits, target) + self.dice_term(logits, target)
