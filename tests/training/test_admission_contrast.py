"""bench/admission_contrast.py: one design's mIoU loss under a core replacement minus
another's, paired by seed, with statistics.interval's t over seeds + image bootstrap."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hq_qiskit.errors import ConfigError
from hq_qiskit.training.admission import RunScores
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.statistics import scores

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("contrast", ROOT / "bench/admission_contrast.py")
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)

SEEDS, TILES, K = 5, 12, 3
GROUPS = np.repeat(np.arange(6), 2)  # 6 images of 2 tiles


def _counts(rng: np.random.Generator, right: float) -> np.ndarray:
    """(S, T, K, K) counts whose diagonal holds about ``right`` of each row's pixels."""
    cm = rng.integers(5, 40, size=(SEEDS, TILES, K, K)).astype(float)
    diag = np.einsum("stkk->stk", cm)
    diag += right * cm.sum(-1) / (1 - right)
    return cm


def test_a_design_against_itself_is_zero():
    base = _counts(np.random.default_rng(0), 0.6)
    cut = _counts(np.random.default_rng(1), 0.4)
    out = bench.contrast((cut, base), (cut, base), GROUPS, n_boot=300)
    assert out["estimate"] == 0 and out["low"] == out["high"] == 0
    assert out["per_seed"] == [0.0] * SEEDS and out["images"] == 6 and out["df"] == 4


def test_the_estimate_is_the_mean_of_the_seeds_paired_losses():
    rng = np.random.default_rng(2)
    base_a, base_b = _counts(rng, 0.6), _counts(rng, 0.6)
    cut_a, cut_b = _counts(rng, 0.3), _counts(rng, 0.55)  # A loses more than B
    out = bench.contrast((cut_a, base_a), (cut_b, base_b), GROUPS, n_boot=500)
    loss = [scores(c.sum(1))["miou"] - scores(b.sum(1))["miou"] for c, b in
            ((cut_a, base_a), (cut_b, base_b))]  # fmt: skip
    assert out["per_seed"] == pytest.approx(list(loss[0] - loss[1]))
    assert out["estimate"] == pytest.approx(float(np.mean(loss[0] - loss[1])))
    assert out["low"] < out["estimate"] < out["high"] < 0  # clearly more loss in A
    assert out["se"] > 0 and out["method"] == "t over seeds + images"


def _run(seed: int, tiles: list[str]) -> RunScores:
    base = np.eye(K)[None].repeat(len(tiles), 0)
    return RunScores(
        run=Path(f"s{seed}"), config=TrainConfig(seed=seed), tiles=tiles,
        images=[t.split("_")[0] for t in tiles], baseline=base,
        confusions={"bottleneck.core": {"mean": base}}, moved={}, quantum={},
    )  # fmt: skip


def test_runs_that_are_not_paired_are_refused():
    tiles = ["1_0", "1_1", "2_0", "2_1"]
    a = [_run(s, tiles) for s in (0, 1)]
    a_stack, _, groups = bench.paired(a, a, "bottleneck.core", "mean")
    assert a_stack[0].shape == (2, 4, K, K) and list(groups) == [0, 0, 1, 1]
    with pytest.raises(ConfigError, match=r"--a seeds \[0, 1\] and --b seeds \[1, 0\]"):
        bench.paired(a, a[::-1], "bottleneck.core", "mean")
    other = [dataclasses.replace(r, tiles=["3_0", "3_1", "4_0", "4_1"]) for r in a]
    with pytest.raises(ConfigError, match="other tiles"):
        bench.paired(a, other, "bottleneck.core", "mean")
    with pytest.raises(ConfigError, match="no site 'qskip'"):
        bench.paired(a, a, "qskip", "mean")


def test_a_folder_that_is_not_a_run_is_one_line_before_any_scoring(tmp_path, capsys):
    assert (
        bench.main(["--a", str(tmp_path), "--b", str(tmp_path), "--out", str(tmp_path / "c")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a run folder (no config.json)" in err[0]
    assert not (tmp_path / "c").exists()
