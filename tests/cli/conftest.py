"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.datasets import builtin_data_dir


@pytest.fixture(scope="session")
def train_two_tiles(tmp_path_factory) -> Callable[[str, list[str]], Path]:
    """``train(name, flags)``: a run folder trained by ``hq-qiskit train flags`` on two built-in
    tiles (1_2 for training, 6_2 for validation and test), in a fresh folder named ``name``."""

    def train(name: str, flags: list[str]) -> Path:
        base = tmp_path_factory.mktemp(name)
        data, src = base / "data", builtin_data_dir()
        for sub in ("images_png", "masks_png"):
            (data / sub).mkdir(parents=True)
            for tile in ("1_2", "6_2"):
                shutil.copy(src / sub / f"{tile}.png", data / sub / f"{tile}.png")
        for split, tile in (("train", "1_2"), ("val", "6_2"), ("test", "6_2")):
            (data / f"{split}.txt").write_text(f"{tile}\n")
        args = ["train", *flags, "--data", str(data), "--out", str(base / "run")]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return base / "run"

    return train
