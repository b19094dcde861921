"""Training options refused where they are read (issue 29): each bad value gets exit status 2,
the exact one line naming the option, its value and a value that works, and no run folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

CASES = [
    (  # before: "fewer than the 1 training processes ... or start fewer processes"
        ["--patches-per-epoch", "0"],
        "--patches-per-epoch must be >= 1 (got 0); the random training patches drawn each "
        "epoch; e.g. --patches-per-epoch 384",
    ),
    (  # before: trained, logging "global batch 4096" with 4 patches
        ["--batch-size", "4096", "--patches-per-epoch", "4"],
        "--batch-size 4096 is more than the 4 patches per epoch: no step could hold a full "
        "batch; give --batch-size 4 or fewer, or --patches-per-epoch 4096 or more",
    ),
    (
        ["--loader-workers", "-1"],
        "--loader-workers must be >= 0 (got -1); the DataLoader worker processes (0: none); "
        "e.g. --loader-workers 0",
    ),
    (
        ["--seed", "-1"],
        "--seed must be >= 0 (got -1); seeds are non-negative integers; e.g. --seed 0",
    ),
    (
        ["--val-stride-px", "0"],
        "--val-stride-px must be >= 1 (got 0); the pixels between validation patches",
    ),
    (
        ["--min-lr-ratio", "2"],
        "--min-lr-ratio 2: choose 0 to 1 (a fraction of --lr), e.g. --min-lr-ratio 0.01",
    ),
    (["--lr", "0"], "--lr must be > 0 (got 0); e.g. --lr 0.003"),
    (["--lr", "-1"], "--lr must be > 0 (got -1); e.g. --lr 0.003"),
    (
        ["--weight-decay", "-1"],
        "--weight-decay -1: choose 0 (off) or more, e.g. --weight-decay 0.0001",
    ),
    (
        ["--class-weights", "1,nan,1,1,1"],
        "--class-weights '1,nan,1,1,1': give 'none', 'balanced' or one finite number >= 0 per "
        "class, comma-separated (e.g. 1,2,1,1,3)",
    ),
    (
        ["--dice", "inf"],
        "--dice inf: not a finite number; give a finite value, e.g. --dice 5",
    ),
]


@pytest.mark.parametrize(("args", "line"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_training_numbers_out_of_range_are_one_line_before_any_folder(tmp_path, args, line):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", *args, "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output == f"Error: {line}\n"
    assert not out.exists()


def test_library_settings_refuse_non_finite_numbers():
    """TrainSettings.check (the library's way in, and --resume's) refuses NaN as the CLI does."""
    from hq_qiskit.errors import ConfigError
    from hq_qiskit.training.config import TrainSettings

    with pytest.raises(ConfigError, match=r"^--jitter nan: not a finite number; give a finite"):
        TrainSettings(jitter=float("nan")).check()


def test_ablation_resume_refuses_a_folder_that_holds_no_ablation(tmp_path):
    """Before: --resume started every run inside any existing folder."""
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"not an ablation")
    args = ["ablation", "--resume", "--out", str(out), "--device", "cpu", "--seeds", "0"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"Error: --resume: --out {out} holds no ablation (no ablation.json, no "
        "<backend>/<variant>/seed<N> runs); give the --out an ablation was started in\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["holiday.jpg"]


def test_ablation_refuses_a_batch_larger_than_the_patches(tmp_path):
    out = tmp_path / "abl"
    args = ["ablation", "--batch-size", "64", "--patches-per-epoch", "8", "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--device", "cpu", "--seeds", "0"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: --batch-size 64 is more than the 8 patches per epoch: no step could hold a full "
        "batch; give --batch-size 8 or fewer, or --patches-per-epoch 64 or more\n"
    )
    assert not Path(out).exists()
