"""--class-map FILE: masks whose raw values the layout does not map are refused with the option
that fixes it; with the option the run trains, stores the map and evaluates with it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from hq_qiskit.cli.main import cli
from hq_qiskit.datasets.classes import read_class_map
from hq_qiskit.errors import DataError

from .test_train import TINY


def _recode(root):
    """Rewrite every mask to raw values 20 (even LoveDA value) and 21 (odd): no layout maps them."""
    for path in (root / "masks_png").glob("*.png"):
        mask = np.asarray(Image.open(path))
        Image.fromarray((20 + mask % 2).astype(np.uint8)).save(path)


def test_unmapped_masks_point_to_class_map_and_it_trains_and_evaluates(tmp_path, tiny_loveda):
    data = tiny_loveda(tmp_path / "data")
    _recode(data)
    run = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", *TINY, "--data", str(data), "--out", str(run)])
    assert result.exit_code == 2
    assert "mask values [20, 21]" in result.output and "--class-map FILE" in result.output
    assert not run.exists()

    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"20": 0, "21": 2}))
    args = ["train", *TINY, "--data", str(data), "--out", str(run), "--class-map", str(mapping)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["class_map"] == {"20": 0, "21": 2}
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    confusion = np.array(record["val_confusion"])
    assert confusion.sum(axis=1)[[1, 3, 4]].sum() == 0  # only classes 0 and 2 in the truth
    assert confusion.sum(axis=1)[[0, 2]].min() > 0

    result = CliRunner().invoke(cli, ["evaluate", str(run), "--device", "cpu"])
    assert result.exit_code == 0, result.output  # the run's own map, without the flag
    scores = json.loads((run / "evaluation.json").read_text())
    assert np.array_equal(np.array(scores["confusion"]), confusion)


def test_bad_class_map_files_name_the_file(tmp_path):
    path = tmp_path / "map.json"
    with pytest.raises(DataError, match="map.json: no such file"):
        read_class_map(path)
    path.write_text("{20: 0}")
    with pytest.raises(DataError, match="map.json: not JSON"):
        read_class_map(path)
    path.write_text('{"a": 0}')
    with pytest.raises(DataError, match="keys and values must be integers"):
        read_class_map(path)
    path.write_text('{"20": 0, "21": 2}')
    assert read_class_map(path) == {20: 0, 21: 2}
