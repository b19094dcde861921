"""The soft Dice loss: its values at the extremes, its ignore handling, and --dice in a run."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.losses import CrossEntropyDice, soft_dice_loss

TINY = ["train", "--width", "2", "--depth", "2", "--patch-px", "64", "--epochs", "1",
        "--patches-per-epoch", "8", "--batch-size", "4", "--aer-check-samples", "0",
        "--device", "cpu"]  # fmt: skip


def confident(target: torch.Tensor, k: int, scale: float = 60.0) -> torch.Tensor:
    """Logits (B, K, P, P) that put almost all probability on ``target``'s classes."""
    return torch.nn.functional.one_hot(target.clamp(max=k - 1), k).permute(0, 3, 1, 2) * scale


def test_dice_is_zero_for_a_perfect_prediction_and_large_for_a_wrong_one():
    y = torch.randint(0, 4, (2, 16, 16))
    assert soft_dice_loss(confident(y, 4).float(), y, 255) == pytest.approx(0, abs=1e-6)
    wrong = confident((y + 1) % 4, 4).float()
    assert soft_dice_loss(wrong, y, 255) > 0.95


def test_dice_weighs_a_rare_class_like_a_common_one():
    y = torch.zeros(1, 32, 32, dtype=torch.long)
    y[0, :2, :2] = 1  # 4 of 1024 pixels
    missed = confident(torch.zeros_like(y), 2).float()  # predicts class 0 everywhere
    # cross-entropy hardly notices the 4 pixels, Dice loses about half (class 1's score)
    ce = torch.nn.functional.cross_entropy(missed / 10, y)
    assert soft_dice_loss(missed, y, 255) > 0.3 > ce


def test_dice_ignores_ignored_pixels():
    y = torch.randint(0, 3, (2, 8, 8))
    logits = torch.randn(2, 3, 8, 8)
    y_ignored, garbage = y.clone(), logits.clone()
    y_ignored[:, :4] = 255
    garbage[:, :, :4] = torch.randn(2, 3, 4, 8) * 100  # anything where pixels are ignored
    assert soft_dice_loss(logits, y_ignored, 255) == pytest.approx(
        float(soft_dice_loss(garbage, y_ignored, 255)), abs=1e-6
    )


def test_dice_option_reaches_the_run_and_changes_the_loss(tmp_path):
    runs = {}
    for name, extra in (("plain", ["--dice", "0"]), ("dice", ["--dice", "1"])):
        out = tmp_path / name
        result = CliRunner().invoke(cli, [*TINY, "--jitter", "0", "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        runs[name] = (
            json.loads((out / "config.json").read_text()),
            json.loads((out / "metrics.jsonl").read_text().splitlines()[0]),
        )
    assert runs["plain"][0]["dice"] == 0 and runs["dice"][0]["dice"] == 1
    assert TrainConfig().dice == 5  # the default (docs/science.md, fourth search)
    assert runs["dice"][1]["train_loss"] > runs["plain"][1]["train_loss"]
    # validation is scored with the same loss as training (cross-entropy + Dice)
    assert runs["dice"][1]["val_loss"] != runs["plain"][1]["val_loss"]


def test_cross_entropy_dice_adds_the_weighted_dice_term():
    y = torch.randint(0, 3, (2, 8, 8))
    y[0, 0] = 255
    logits = torch.randn(2, 3, 8, 8)
    ce = torch.nn.CrossEntropyLoss(ignore_index=255)
    both = CrossEntropyDice(ce, 0.5)
    expected = ce(logits, y) + 0.5 * soft_dice_loss(logits, y, 255)
    assert float(both(logits, y)) == pytest.approx(float(expected), rel=1e-6)
    assert float(CrossEntropyDice(ce, 0.0)(logits, y)) == pytest.approx(float(ce(logits, y)))


def test_negative_dice_is_refused(tmp_path):
    result = CliRunner().invoke(cli, [*TINY, "--out", str(tmp_path / "r"), "--dice", "-1"])
    assert result.exit_code != 0
    assert "--dice -1.0: choose 0" in result.output


def test_a_run_saved_before_the_option_keeps_cross_entropy_alone():
    """An older config.json has no "dice": that run trained without Dice, whatever today's
    default, so resuming it (or comparing it in ablation --resume) must not switch it on."""
    saved = TrainConfig().to_dict()
    del saved["dice"], saved["jitter"]
    old = TrainConfig.from_dict(saved)
    assert old.dice == 0 and old.jitter == 0
    assert TrainConfig.from_dict(TrainConfig().to_dict()).dice == 5
