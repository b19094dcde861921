"""``hq-qiskit admit``: five tiny fold runs of one design, scored on their held-out fold as they
are and with the quantum block's output replaced; the rule's verdict, its refusals (other
settings, a repeated seed, too few seeds) and a block the map depends on being admitted."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.errors import ConfigError
from hq_qiskit.training.admission import admission, score_run
from hq_qiskit.training.admission_report import table

# the 12 first-release PNG tiles of the built-in sample: 11 LoveDA images
PNG_TILES = ["11_3", "13_2", "16_0", "17_2", "18_0", "19_2", "1_2", "22_1", "22_3", "3_2",
             "6_2", "9_3"]  # fmt: skip
TINY = ["--width", "2", "--depth", "2", "--patch-px", "128", "--epochs", "1",
        "--patches-per-epoch", "8", "--batch-size", "8", "--aer-check-samples", "0",
        "--device", "cpu", "--folds", "2", "--fold", "0"]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_loveda) -> list[Path]:
    """Five fold runs (seeds 0-4) of tiny HQ-UNet, fold 0 of 2 over 11 images."""
    base = tmp_path_factory.mktemp("admit")
    data = tiny_loveda(base / "data", {"train": PNG_TILES}, lists=False)
    out = []
    for seed in range(5):
        run = base / f"s{seed}"
        args = ["train", *TINY, "--data", str(data), "--seed", str(seed), "--out", str(run)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        out.append(run)
    return out


@pytest.fixture(scope="module")
def scored(runs):
    return [score_run(r, data=None, split="val", checkpoint="last.pt", device="cpu") for r in runs]


def test_five_seeds_on_their_fold_get_a_verdict_table_json_and_figure(runs):
    result = CliRunner().invoke(cli, ["admit", *map(str, runs), "--n-boot", "200"])
    assert result.exit_code == 0, result.output
    report = json.loads((runs[0].parent / "admission.json").read_text())
    assert report["seeds"] == [0, 1, 2, 3, 4] and report["checkpoint"] == "last.pt"
    assert report["folds"] == 2 and report["fold"] == 0 and report["images"] >= 4
    (site,) = report["sites"]
    assert site["name"] == "bottleneck.core" and site["kind"] == "quantum"
    mean = site["interventions"]["mean"]
    assert len(mean["per_seed"]) == 5 and mean["low"] <= mean["delta"] <= mean["high"]
    assert site["verdict"].startswith(("admitted", "not admitted"))
    assert site["verdict"] in result.output and "rule: over >= 5 seeds" in result.output
    assert (runs[0].parent / "admission.png").read_bytes()[:4] == b"\x89PNG"


def _perfect(cm: np.ndarray) -> np.ndarray:
    """(T, K, K) with every pixel right: the truth counts on the diagonal."""
    return np.stack([np.diag(c.sum(1)) for c in cm])


def _load_bearing(runs):
    """The runs' scores as if the map were perfect and replacing the block by its mean gave
    the tiny model's real map (mIoU about 0.1): a block the map depends on."""
    out = []
    for r in runs:
        conf = {s: dict(k) for s, k in r.confusions.items()}
        conf["bottleneck.core"]["mean"] = r.baseline
        out.append(dataclasses.replace(r, baseline=_perfect(r.baseline), confusions=conf))
    return out


def _ignored(runs):
    """The runs' scores with the mean replacement changing no pixel."""
    out = []
    for r in runs:
        conf = {s: {k: r.baseline.copy() for k in kinds} for s, kinds in r.confusions.items()}
        out.append(dataclasses.replace(r, confusions=conf))
    return out


def test_a_block_the_map_depends_on_is_admitted_and_one_it_ignores_is_not(scored):
    (site,) = admission(_load_bearing(scored), n_boot=200)["sites"]
    assert site["verdict"].startswith("admitted"), site
    assert site["interventions"]["mean"]["high"] < -0.05
    (site,) = admission(_ignored(scored), n_boot=200)["sites"]
    assert site["verdict"].startswith("not admitted: the interval"), site


def test_fewer_than_five_seeds_give_no_verdict(scored):
    (site,) = admission(_load_bearing(scored[:3]), n_boot=200)["sites"]
    assert site["verdict"].startswith("no verdict: 3 seeds"), site


def test_a_repeated_seed_or_other_settings_are_refused(scored, runs, tiny_loveda, tmp_path):
    with pytest.raises(ConfigError, match="seed 0 is also"):
        admission([scored[0], scored[0]])
    data = runs[0].parent / "data"
    other = tmp_path / "lr"
    args = ["train", *TINY, "--data", str(data), "--seed", "5", "--lr", "0.5", "--out", str(other)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    out = tmp_path / "a.json"
    result = CliRunner().invoke(cli, ["admit", str(runs[0]), str(other), "--out", str(out)])
    assert result.exit_code == 2 and "settings ['lr'] differ" in result.output
    assert not out.exists()


def test_a_folder_that_is_not_a_run_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["admit", str(tmp_path)])
    assert result.exit_code == 2 and "no config.json; give run folders" in result.output


def test_the_table_gives_each_cores_move_in_its_own_unit(scored):
    """A circuit's angles move in radians; a classical twin's core in weight units."""
    report = {**admission(scored, n_boot=200), "checkpoint": "last.pt", "split": "val"}
    (row,) = [line for line in table(report).splitlines() if line.startswith("bottleneck.core")]
    assert "quantum" in row and " rad " in row and "(weights)" not in row
    report["sites"][0]["kind"] = "classical"  # as admit reports HQ-UNet's classical twin
    (row,) = [line for line in table(report).splitlines() if line.startswith("bottleneck.core")]
    assert "classical" in row and "(weights)" in row and " rad " not in row
