"""--label-smoothing and --jitter reach the run: the config records them and the loss changes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hq_qiskit.cli.main import cli

TINY = ["train", "--width", "2", "--depth", "2", "--patch-px", "64", "--epochs", "1",
        "--patches-per-epoch", "8", "--batch-size", "4", "--aer-check-samples", "0",
        "--device", "cpu"]  # fmt: skip


def first_epoch(out: Path, *extra: str) -> tuple[dict, dict]:
    result = CliRunner().invoke(cli, [*TINY, "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    return config, json.loads((out / "metrics.jsonl").read_text().splitlines()[0])


def test_label_smoothing_and_jitter_change_the_training_loss(tmp_path):
    plain_cfg, plain = first_epoch(tmp_path / "plain", "--jitter", "0")
    smooth_cfg, smooth = first_epoch(
        tmp_path / "smooth", "--jitter", "0", "--label-smoothing", "0.5"
    )
    jitter_cfg, jitter = first_epoch(tmp_path / "jitter", "--jitter", "0.5")
    default_cfg, _ = first_epoch(tmp_path / "default")
    assert default_cfg["jitter"] == 0.1  # on by default (docs/science.md, third search)
    assert plain_cfg["label_smoothing"] == 0 and plain_cfg["jitter"] == 0
    assert smooth_cfg["label_smoothing"] == 0.5 and jitter_cfg["jitter"] == 0.5
    # same seed, same patches and weights: only the loss (or the pixels) differ
    assert smooth["train_loss"] != plain["train_loss"]
    assert jitter["train_loss"] != plain["train_loss"]
    # validation is scored with the same (smoothed) loss function
    assert smooth["val_loss"] != plain["val_loss"]
