"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli


@pytest.fixture(scope="session")
def train_two_tiles(tmp_path_factory, tiny_loveda) -> Callable[[str, list[str]], Path]:
    """``train(name, flags)``: a run folder trained by ``hq-qiskit train flags`` on two built-in
    tiles (1_2 for training, 6_2 for validation and test), in a fresh folder named ``name``."""

    def train(name: str, flags: list[str]) -> Path:
        base = tmp_path_factory.mktemp(name)
        data = tiny_loveda(base / "data")
        args = ["train", *flags, "--data", str(data), "--out", str(base / "run")]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return base / "run"

    return train
