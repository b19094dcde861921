"""mIoU, OA and per-class IoU from one confusion matrix, including the absent-class rule."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.classification import MulticlassJaccardIndex

from hq_qiskit.training.metrics import Scores, SegmentationMetrics, iou_from_confusion


def test_scores_by_hand_with_ignore_and_an_absent_class():
    truth = torch.tensor([[0, 0, 1, 1, 255, 255]])
    pred = torch.tensor([[0, 1, 1, 1, 2, 0]])  # the 255 pixels are left out whatever is predicted
    m = SegmentationMetrics(num_classes=4, ignore_index=255)
    m.update(pred, truth)
    s = m.compute()
    assert s.pixels == 4
    assert s.oa == pytest.approx(3 / 4)
    # class 0: TP 1, FN 1 -> 1/2; class 1: TP 2, FP 1 -> 2/3; class 2 predicted only on ignored
    # pixels and class 3 nowhere: both absent from truth and prediction -> undefined
    assert s.iou == [pytest.approx(0.5), pytest.approx(2 / 3), None, None]
    assert s.miou == pytest.approx((0.5 + 2 / 3) / 2)  # the mean leaves undefined classes out


def test_class_in_truth_never_predicted_counts_as_zero():
    s = Scores.from_confusion(torch.tensor([[5, 0], [3, 0]]))
    assert s.iou == [pytest.approx(5 / 8), 0.0]
    assert s.miou == pytest.approx(5 / 16)


def test_logits_are_accepted_and_batches_accumulate():
    m = SegmentationMetrics(num_classes=3)
    logits = torch.zeros(2, 3, 4, 4)
    logits[:, 2] = 1.0  # predicts class 2 everywhere
    m.update(logits, torch.full((2, 4, 4), 2))
    m.update(torch.zeros(1, 4, 4, dtype=torch.long), torch.full((1, 4, 4), 2))
    s = m.compute()
    assert s.pixels == 48
    assert s.oa == pytest.approx(32 / 48)
    assert s.confusion[2] == [16, 0, 32]


def test_agrees_with_torchmetrics_jaccard_on_random_maps():
    g = torch.Generator().manual_seed(0)
    truth = torch.randint(0, 5, (3, 16, 16), generator=g)
    truth[0, :4] = 255
    pred = torch.randint(0, 5, (3, 16, 16), generator=g)
    m = SegmentationMetrics(num_classes=5, ignore_index=255)
    m.update(pred, truth)
    ours = torch.tensor(m.compute().iou, dtype=torch.float64)
    ref = MulticlassJaccardIndex(5, average=None, ignore_index=255)(pred, truth)
    assert torch.allclose(ours, ref.double(), atol=1e-6)


def test_undefined_iou_is_nan_in_tensors():
    iou = iou_from_confusion(torch.tensor([[2, 0], [0, 0]]))
    assert iou[0] == 1.0 and math.isnan(iou[1])
    assert "n/a" in Scores.from_confusion(torch.tensor([[2, 0], [0, 0]])).report(["a", "b"])
