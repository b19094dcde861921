"""The shot generators travel in the training checkpoint (issue 24, item 4), so a run resumed
with --resume draws the shots an uninterrupted run draws and ends with the same weights.

Before, last.pt held torch's generator but not the quantum modules' own shot generators: a
resumed run drew its second epoch's shots from a freshly seeded generator (the first epoch's
shots again). The generators stay out of the model's state_dict, which ideal and noisy models
share (``models/base.py``).
"""

from __future__ import annotations

import torch
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

TINY = ["--backend", "aer-noisy-fez", "--shots", "16", "--width", "4", "--depth", "2",
        "--patch-px", "64", "--patches-per-epoch", "4", "--batch-size", "2",
        "--aer-check-samples", "0", "--device", "cpu"]  # fmt: skip


def train(*args: str) -> None:
    result = CliRunner().invoke(cli, ["train", *args])
    assert result.exit_code == 0, result.output


def last(run) -> dict:
    return torch.load(run / "last.pt", map_location="cpu", weights_only=True)


def test_a_resumed_run_draws_the_shots_of_an_uninterrupted_one(tmp_path, tiny_loveda):
    whole, part = tmp_path / "whole", tmp_path / "part"
    data = ["--data", str(tiny_loveda(tmp_path / "data"))]  # one train, one val tile
    train(*TINY, *data, "--epochs", "2", "--out", str(whole))
    train(*TINY, *data, "--epochs", "1", "--out", str(part))
    first = last(part)
    assert list(first["shot_rng"]) == ["bottleneck.core"]  # the noisy block's generator
    assert not any("generator" in key or "rng" in key for key in first["model"])
    train("--resume", str(part), "--epochs", "2")
    resumed, uninterrupted = last(part), last(whole)
    for key, value in uninterrupted["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, atol=0, rtol=0, msg=key)
    assert torch.equal(
        resumed["shot_rng"]["bottleneck.core"], uninterrupted["shot_rng"]["bottleneck.core"]
    )
