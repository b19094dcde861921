"""``hq-qiskit ablation --resume``: an ablation stopped in the middle of a run finishes with the
runs it had (not trained again), the stopped run continued from its last.pt, and the table
equals that of an ablation that never stopped. Without --resume, or with other settings, the
stopped folder is refused and left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.errors import ConfigError
from hq_qiskit.training.ablation import run_ablation
from hq_qiskit.training.ablation_plan import evaluation_sets
from hq_qiskit.training.config import TrainSettings

OPTIONS = {"width": 2, "depth": 2, "patch_px": 64}
SETTINGS = {"epochs": 2, "patches_per_epoch": 8, "batch_size": 4, "aer_check_samples": 0}
CLI = ["ablation", "--model", "hq-unet", "--width", "2", "--depth", "2", "--patch-px", "64",
       "--epochs", "2", "--patches-per-epoch", "8", "--batch-size", "4",
       "--aer-check-samples", "0", "--device", "cpu", "--variants", "quantum,classical",
       "--seeds", "0"]  # fmt: skip


class Stop(Exception):
    """Stands for Ctrl-C or a killed job."""


def ablate(out: Path, data: str, echo=lambda line: None, **kw) -> dict:
    """The ablation ``CLI`` runs on ``data``, through ``run_ablation`` so that ``echo`` can
    stop it."""
    base = TrainSettings(
        model="hq-unet", model_options=dict(OPTIONS), device="cpu", data=data, **SETTINGS
    )
    return run_ablation(
        "hq-unet",
        base,
        out,
        variants=["quantum", "classical"],
        seeds=[0],
        backends=["aer"],
        evaluation=evaluation_sets(data, "val", [], "test"),
        echo=echo,
        **kw,
    )


def stop_in_second_run(line: str, seen: list[str]) -> None:
    """Raise after the first epoch of the second run (classical), once its files landed."""
    seen.append(line)
    if line.startswith("epoch 1/2") and sum(x.lstrip().startswith("===") for x in seen) == 2:
        raise Stop


def folder_bytes(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_resume_finishes_a_stopped_ablation_as_one_that_never_stopped(tmp_path, small_data):
    data, cli_args = small_data[1], [*CLI, *small_data]
    whole = ablate(tmp_path / "whole", data)
    out, seen = tmp_path / "stopped", []
    with pytest.raises(Stop):
        ablate(out, data, echo=lambda line: stop_in_second_run(line, seen))
    finished, stopped = out / "aer" / "quantum" / "seed0", out / "aer" / "classical" / "seed0"
    assert (finished / "report.json").exists() and not (stopped / "report.json").exists()

    before = folder_bytes(out)
    with pytest.raises(ConfigError, match="holds no ablation.json"):
        ablate(out, data)  # without --resume the folder is refused
    result = CliRunner().invoke(cli, [*cli_args, "--lr", "0.5", "--out", str(out), "--resume"])
    assert result.exit_code == 2
    assert "seed0/config.json differs from this command in ['lr']" in result.output
    result = CliRunner().invoke(cli, [*cli_args, "--out", str(out), "--resume", "--overwrite"])
    assert result.exit_code == 2 and "give one" in result.output
    result = CliRunner().invoke(cli, [*cli_args, "--resume"])
    assert result.exit_code == 2 and "give the --out of the ablation" in result.output
    result = CliRunner().invoke(cli, [*cli_args, "--out", str(tmp_path / "nowhere"), "--resume"])
    assert result.exit_code == 2 and "does not exist; drop --resume" in result.output
    assert folder_bytes(out) == before  # nothing refused touched the runs

    lines: list[str] = []
    resumed = ablate(out, data, echo=lines.append, resume=True)
    assert any(f"resuming {stopped} after epoch 1 of 2" in line for line in lines)
    assert not any(line.startswith("epoch 1/2") for line in lines)  # nothing started again
    assert (finished / "last.pt").read_bytes() == before["aer/quantum/seed0/last.pt"]
    for variant in ("quantum", "classical"):
        a = resumed["runs"]["aer"][variant]["0"]["scores"]["val"]["confusion"]
        b = whole["runs"]["aer"][variant]["0"]["scores"]["val"]["confusion"]
        assert a == b, variant  # the resumed run trained the same network
    # as JSON: one seed's std is NaN, which compares unequal to itself
    assert json.dumps(resumed["summary"]) == json.dumps(whole["summary"])
