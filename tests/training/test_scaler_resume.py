"""The "16-mixed" loss scaler's state is saved in every checkpoint and restored by --resume, so
a resumed run goes on with the scale and growth count an uninterrupted run has. On CPU (where
this runs) torch's GradScaler is enabled for float16 autocast, so the real save/restore path
is exercised; what a CPU cannot show is float16 overflow on a GPU making the scale drop.
A checkpoint without the key (written before it was saved) resumes with a fresh scale."""

from __future__ import annotations

import torch
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

# cross-entropy alone: with the default Dice term (5x a larger loss) the first float16 step
# overflows at the initial scale and resets the growth count this test follows
TINY = ["--width", "4", "--depth", "2", "--patch-px", "64", "--patches-per-epoch", "8",
        "--batch-size", "2", "--aer-check-samples", "0", "--device", "cpu",
        "--dice", "0"]  # fmt: skip


def train(*args: str):
    result = CliRunner().invoke(cli, ["train", *args])
    assert result.exit_code == 0, result.output
    return result


def last(run) -> dict:
    return torch.load(run / "last.pt", map_location="cpu", weights_only=True)


def test_resume_restores_the_16_mixed_scaler_state(tmp_path, tiny_loveda):
    whole, part = tmp_path / "whole", tmp_path / "part"
    data = ["--data", str(tiny_loveda(tmp_path / "data"))]  # one train, one val tile
    train(*TINY, *data, "--precision", "16-mixed", "--epochs", "2", "--out", str(whole))
    train(*TINY, *data, "--precision", "16-mixed", "--epochs", "1", "--out", str(part))
    first = last(part)["scaler"]
    assert first["scale"] > 0 and first["_growth_tracker"] > 0  # 4 steps without overflow
    train("--resume", str(part), "--epochs", "2")
    resumed, uninterrupted = last(part), last(whole)
    assert resumed["scaler"] == uninterrupted["scaler"]  # the tracker went on, not restarted
    assert resumed["scaler"]["_growth_tracker"] > first["_growth_tracker"]
    for key, value in uninterrupted["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, msg=key)

    # a checkpoint from before the scaler was saved resumes with a fresh scale
    state = last(part)
    del state["scaler"]
    torch.save(state, part / "last.pt")
    train("--resume", str(part), "--epochs", "3")
    assert last(part)["scaler"]["_growth_tracker"] == 4  # epoch 3's 4 steps only
