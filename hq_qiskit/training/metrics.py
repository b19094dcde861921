"""Segmentation scores from one confusion matrix: per-class IoU, mean IoU, overall accuracy.

torchmetrics accumulates the (K, K) confusion matrix (rows: truth, columns: prediction), pixels
labelled ``ignore_index`` left out; every score is then read off that one matrix, so mIoU, OA and
per-class IoU always agree with each other.

Rule for a class absent from both truth and prediction (its row and column are all zero): its
IoU is undefined, reported as None (NaN in tensors), and left out of the mean IoU. A class
present in the truth but never predicted (or predicted but absent from the truth) has IoU 0 and
counts in the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torchmetrics.classification import MulticlassConfusionMatrix


def iou_from_confusion(cm: Tensor) -> Tensor:
    """Per-class IoU = TP / (TP + FP + FN) from a (K, K) matrix; NaN where TP + FP + FN = 0."""
    cm = cm.double()
    tp = cm.diag()
    denom = cm.sum(0) + cm.sum(1) - tp
    return torch.where(denom > 0, tp / denom.clamp_min(1), torch.full_like(tp, float("nan")))


@dataclass(frozen=True)
class Scores:
    """Scores read off one confusion matrix.

    Attributes:
        miou: mean IoU over classes with a defined IoU, in [0, 1] (NaN if none).
        oa: overall accuracy, correct pixels / labelled pixels, in [0, 1].
        iou: per-class IoU, None where the class is absent from truth and prediction.
        confusion: (K, K) pixel counts, rows truth, columns prediction.
        pixels: labelled pixels counted (``ignore_index`` excluded).
    """

    miou: float
    oa: float
    iou: list[float | None]
    confusion: list[list[int]]
    pixels: int

    @classmethod
    def from_confusion(cls, cm: Tensor) -> Scores:
        """Compute the scores of a (K, K) confusion matrix of pixel counts."""
        cm = cm.detach().cpu().long()
        iou = iou_from_confusion(cm)
        defined = ~iou.isnan()
        total = int(cm.sum())
        return cls(
            miou=float(iou[defined].mean()) if defined.any() else float("nan"),
            oa=float(cm.diag().sum()) / total if total else float("nan"),
            iou=[None if bool(v.isnan()) else float(v) for v in iou],
            confusion=cm.tolist(),
            pixels=total,
        )

    def as_dict(self, class_names: list[str] | None = None) -> dict:
        """JSON-ready dict; per-class IoU keyed by class name when names are given."""
        names = class_names or [str(i) for i in range(len(self.iou))]
        return {
            "miou": self.miou,
            "oa": self.oa,
            "iou": dict(zip(names, self.iou, strict=True)),
            "pixels": self.pixels,
            "confusion": self.confusion,
        }

    def report(self, class_names: list[str] | None = None) -> str:
        """A few human-readable lines: mIoU, OA, then one line per class."""
        names = class_names or [str(i) for i in range(len(self.iou))]
        lines = [f"mIoU {self.miou:.4f}   OA {100 * self.oa:.2f} %   ({self.pixels} pixels)"]
        for name, v in zip(names, self.iou, strict=True):
            shown = "   n/a (absent from truth and prediction)" if v is None else f"{v:.4f}"
            lines.append(f"  IoU {name:<12} {shown}")
        return "\n".join(lines)


class SegmentationMetrics:
    """Accumulate a confusion matrix over batches and score it.

    Example:
        >>> m = SegmentationMetrics(num_classes=2)
        >>> m.update(torch.tensor([[0, 1]]), torch.tensor([[0, 0]]))
        >>> m.compute().oa
        0.5
    """

    def __init__(self, num_classes: int, ignore_index: int | None = 255) -> None:
        # summed over processes by the caller (training.loop.evaluate), on the right device
        self.confusion = MulticlassConfusionMatrix(
            num_classes, ignore_index=ignore_index, sync_on_compute=False
        )

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Add predicted labels (B, H, W) (or logits (B, K, H, W)) against truth (B, H, W)."""
        if pred.dim() == target.dim() + 1:
            pred = pred.argmax(1)
        self.confusion.update(pred.detach().cpu(), target.detach().cpu())

    def confusion_matrix(self) -> Tensor:
        """The (K, K) matrix of pixel counts so far (rows truth, columns prediction)."""
        return self.confusion.compute()

    def compute(self) -> Scores:
        return Scores.from_confusion(self.confusion.compute())

    def reset(self) -> None:
        self.confusion.reset()
