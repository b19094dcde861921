"""``hq-qiskit train --data A --data B``: several folders (LoveDA and Dubai, each through its
own layout's class map) trained on as one set, recorded as a list in config.json, and the run
evaluated from that record; a folder without a val split, or --class-map with several folders,
is one line before any run folder is made."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.datasets import open_labelled

DUBAI = Path(__file__).resolve().parents[1] / "data" / "dubai"
TINY = ["--width", "4", "--depth", "2", "--patch-px", "64", "--epochs", "1",
        "--patches-per-epoch", "8", "--batch-size", "4", "--aer-check-samples", "0",
        "--device", "cpu"]  # fmt: skip


def dubai_copy(root: Path, val: bool = True) -> Path:
    """The Dubai fixture with split lists: regions tile_1, tile_2 train; tile_3 val."""
    shutil.copytree(DUBAI, root, ignore=shutil.ignore_patterns("*.py", "*.md"))
    (root / "train.txt").write_text("tile_1\ntile_2\n")
    if val:
        (root / "val.txt").write_text("tile_3\n")
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_loveda) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("folders")
    return tiny_loveda(base / "loveda"), dubai_copy(base / "dubai")


def test_two_folders_train_as_one_set_and_the_run_evaluates(folders, tmp_path):
    loveda, dubai = folders
    run = tmp_path / "run"
    args = ["train", *TINY, "--data", str(loveda), "--data", str(dubai), "--out", str(run)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    n_train = len(open_labelled(loveda, "train")) + len(open_labelled(dubai, "train"))
    n_val = len(open_labelled(loveda, "val")) + len(open_labelled(dubai, "val"))
    assert (n_train, n_val) == (7, 2)  # LoveDA 1 + 1; Dubai tile_1 4 + tile_2 2, tile_3 1
    line = f"data: 2 folders ({loveda.resolve()}, {dubai.resolve()}): {n_train} train tiles, "
    assert f"{line}{n_val} val tiles" in result.output
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == [str(loveda.resolve()), str(dubai.resolve())]
    assert config["settings"]["data"] == [str(loveda), str(dubai)]
    done = CliRunner().invoke(cli, ["evaluate", str(run), "--device", "cpu"])
    assert done.exit_code == 0, done.output
    scored = json.loads((run / "evaluation.json").read_text())
    assert scored["tiles"] == n_val and scored["data"] == config["data"]
    looked = CliRunner().invoke(cli, ["diagnose", str(run), "--device", "cpu", "--n-boot", "100"])
    assert looked.exit_code == 0, looked.output
    assert f"{n_val} tiles" in looked.output  # config.json's two folders, their val splits
    more = CliRunner().invoke(cli, ["train", "--resume", str(run), "--epochs", "2"])
    assert more.exit_code == 0, more.output
    assert json.loads((run / "config.json").read_text())["data"] == config["data"]
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2


def test_one_folder_is_still_recorded_as_a_string(folders, tmp_path):
    """Old runs and evaluate read a single folder as a string: it stays one."""
    from hq_qiskit.training.config import TrainConfig

    loveda, _ = folders
    run = tmp_path / "run"
    args = ["train", *TINY, "--epochs", "1", "--data", str(loveda), "--out", str(run)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == str(loveda.resolve())
    assert TrainConfig.from_dict(config).data == str(loveda.resolve())


def test_a_folder_without_a_val_split_is_one_line_before_any_folder(tiny_loveda, tmp_path):
    loveda = tiny_loveda(tmp_path / "loveda")
    dubai = dubai_copy(tmp_path / "dubai", val=False)
    run = tmp_path / "run"
    args = ["train", *TINY, "--data", str(loveda), "--data", str(dubai), "--out", str(run)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        f"Error: --data {dubai.resolve()}: has no val split to train on several folders with; "
        f"list its val images (or regions) in {dubai.resolve() / 'val.txt'}, one per line, or "
        "leave this folder out"
    )
    assert not run.exists()


def test_class_map_with_several_folders_is_refused(folders, tmp_path):
    loveda, dubai = folders
    cmap = tmp_path / "map.json"
    cmap.write_text('{"0": 0}')
    run = tmp_path / "run"
    args = ["train", *TINY, "--data", str(loveda), "--data", str(dubai), "--out", str(run)]
    result = CliRunner().invoke(cli, [*args, "--class-map", str(cmap)])
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: --class-map: 2 --data folders each read their masks through their own "
        "layout's map; leave --class-map out, or train on one folder\n"
    )
    assert not run.exists()
