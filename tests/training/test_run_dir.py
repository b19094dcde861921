"""Run folders: default names, refusing to overwrite, metrics lines."""

from __future__ import annotations

import pytest

from hq_qiskit.errors import ConfigError
from hq_qiskit.training.run_dir import create_run_dir, next_run_path, open_run_dir


def test_next_run_path_counts_up(tmp_path):
    assert next_run_path(tmp_path, "hq-unet", "aer").name == "hq-unet-aer-0"
    (tmp_path / "hq-unet-aer-0").mkdir()
    (tmp_path / "hq-unet-aer-7").mkdir()
    (tmp_path / "hq-unet-aer-noisy-3").mkdir()  # another backend's run
    assert next_run_path(tmp_path, "hq-unet", "aer").name == "hq-unet-aer-8"


def test_existing_folders_are_never_cleared_by_accident(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.tex").write_text("keep me")
    with pytest.raises(ConfigError, match="--out .*not empty.*--overwrite"):
        create_run_dir(mine)
    with pytest.raises(ConfigError, match="not a run folder"):
        create_run_dir(mine, overwrite=True)
    assert (mine / "thesis.tex").read_text() == "keep me"

    run = create_run_dir(tmp_path / "run")
    run.write_json("config.json", {"model": "hq-unet"})
    run.write_metrics([{"epoch": 1}, {"epoch": 2}])
    assert run.metrics.read_text().count("\n") == 2
    assert open_run_dir(run.path).read_metrics()[1]["epoch"] == 2
    again = create_run_dir(run.path, overwrite=True)
    assert list(again.path.iterdir()) == []


def test_open_run_dir_needs_config(tmp_path):
    with pytest.raises(ConfigError, match="no config.json"):
        open_run_dir(tmp_path)
