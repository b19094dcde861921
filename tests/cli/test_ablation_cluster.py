"""``hq-qiskit ablation --workers 2``: the variants x seeds train as Dask tasks on a local cluster
of 2 worker processes (started by spawn, fresh interpreters), each into its own run folder with
its own log, and the table is gathered at the end; a run trains exactly as it does in a
sequential ablation. Bad --workers / --scheduler: one line before any training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

TINY = ["--model", "hq-unet", "--width", "2", "--depth", "2", "--patch-px", "128",
        "--epochs", "1", "--patches-per-epoch", "8", "--batch-size", "8",
        "--aer-check-samples", "0", "--device", "cpu"]  # fmt: skip


def weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "best.pt", map_location="cpu", weights_only=False)["model"]


def test_a_sweep_on_two_workers_matches_the_sequential_runs(tmp_path, small_data):
    out = tmp_path / "parallel"
    args = ["ablation", *TINY, *small_data, "--variants", "quantum,classical", "--seeds", "1",
            "--workers", "2", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "2 runs on a local cluster, 2 worker processes" in lines
    ended = {line.split("] ", 1)[1] for line in lines if line.startswith("[")}
    assert ended == {f"aer/{v}/seed{s}: done" for v in ("quantum", "classical") for s in (1,)}
    table = json.loads((out / "ablation.json").read_text())
    runs = table["runs"]["aer"]
    assert list(runs) == ["quantum", "classical"] and list(runs["quantum"]) == ["1"]
    assert table["classes"] == ["background", "building", "woodland", "water", "road"]
    for variant, seeds in runs.items():
        for seed, row in seeds.items():
            run = out / "aer" / variant / f"seed{seed}"
            assert Path(row["run"]) == run and (run / "best.pt").is_file()
            log = (out / "logs" / f"aer-{variant}-seed{seed}.log").read_text()
            assert "epoch 1" in log.lower(), log  # the run's own lines, not the terminal's
    assert runs["quantum"]["1"]["params_quantum"] == 8
    assert "| quantum | 1 |" in (out / "ablation.md").read_text()

    # the same run trained sequentially, in this process: same weights, same scores. Torch gets
    # the thread count a worker of the 2-process cluster gets (cpu_count // 2): sums split over
    # another number of threads round differently (running means differed by ~1e-4 with 2 vs 1)
    alone = tmp_path / "sequential"
    args = ["ablation", *TINY, *small_data, "--variants", "quantum", "--seeds", "1",
            "--out", str(alone)]  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // 2))
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    assert "runs on a" not in result.output  # one worker: no cluster
    a, b = weights(out / "aer" / "quantum" / "seed1"), weights(alone / "aer" / "quantum" / "seed1")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    seq = json.loads((alone / "ablation.json").read_text())["runs"]["aer"]["quantum"]["1"]
    cm_par = np.array(runs["quantum"]["1"]["scores"]["val"]["confusion"])
    cm_seq = np.array(seq["scores"]["val"]["confusion"])
    assert cm_par.sum() > 0 and np.abs(cm_par - cm_seq).sum() <= 0.001 * cm_seq.sum()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "0"], "Error: --workers 0: give at least 1 worker process"),
        (["--workers", "-2"], "Error: --workers -2: give at least 1 worker process"),
        (["--scheduler", "tcp://127.0.0.1:9"], "Error: --scheduler tcp://127.0.0.1:9: no Dask "),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "Error: --workers and "),
        (["--loader-workers", "-1"], "Error: --loader-workers must be >= 0 (got -1)"),
    ],
)
def test_bad_cluster_input_is_one_line_before_any_training(tmp_path, extra, message):
    out = tmp_path / "abl"
    result = CliRunner().invoke(cli, ["ablation", *TINY, "--out", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


def test_help_says_which_workers_are_which():
    text = CliRunner().invoke(cli, ["ablation", "--help"]).output
    assert "--loader-workers" in text and "Dask worker processes" in text
    train = CliRunner().invoke(cli, ["train", "--help"]).output
    # train's old --workers still works (tests/cli/test_help.py) but is no longer advertised
    assert "--loader-workers" in train and " --workers" not in train
