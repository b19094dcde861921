"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from hq_qiskit.cli.main import cli

# a tiny HQ-UNet: two epochs of 8 patches of 32 px, no Aer check, on the CPU
TINY_QUANTUM = [
    "--width", "4", "--depth", "2", "--patch-px", "32", "--epochs", "2",
    "--patches-per-epoch", "8", "--batch-size", "4", "--aer-check-samples", "0",
    "--device", "cpu",
]  # fmt: skip
# the same for one epoch of 4 patches
TINY_ONE_EPOCH = [
    "--width", "4", "--depth", "2", "--patch-px", "32", "--epochs", "1",
    "--patches-per-epoch", "4", "--batch-size", "4", "--aer-check-samples", "0",
    "--device", "cpu",
]  # fmt: skip


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


def _copy_run(run: Path, dest: Path) -> Path:
    """Copy ``train_two_tiles``' folder of ``run`` (the run and its two-tile data beside it,
    which tests read as ``run.parent / "data"``) to ``dest``; returns the copied run."""
    shutil.copytree(run.parent, dest)
    return dest / run.name


@pytest.fixture(scope="session")
def tiny_one_epoch_flags() -> list[str]:
    """``TINY_ONE_EPOCH``: train flags of a tiny HQ-UNet, one epoch of 4 patches of 32 px."""
    return list(TINY_ONE_EPOCH)


@pytest.fixture(scope="session")
def _tiny_one_epoch_run(train_two_tiles) -> Path:
    return train_two_tiles("tiny-one-epoch", TINY_ONE_EPOCH)


@pytest.fixture(scope="module")
def tiny_one_epoch_run(_tiny_one_epoch_run, tmp_path_factory) -> Path:
    """A copy, this test module's own, of one tiny quantum HQ-UNet run (``TINY_ONE_EPOCH``:
    one epoch of 4 patches of 32 px) trained once per session on two built-in tiles."""
    return _copy_run(_tiny_one_epoch_run, tmp_path_factory.mktemp("one-epoch") / "tiny")


@pytest.fixture
def tiny_flags() -> list[str]:
    """``hq-qiskit train`` flags of a tiny HQ-UNet (two epochs, 32-px patches, CPU); a fresh
    list, free to change."""
    return list(TINY_QUANTUM)


@pytest.fixture
def tiny_flags_one_epoch(tiny_flags) -> list[str]:
    """``tiny_flags`` with one epoch instead of two."""
    at = tiny_flags.index("--epochs") + 1
    tiny_flags[at] = "1"
    return tiny_flags


@pytest.fixture(scope="session")
def _tiny_quantum_run(train_two_tiles) -> Path:
    return train_two_tiles("tiny-quantum", TINY_QUANTUM)


@pytest.fixture
def tiny_quantum_run(_tiny_quantum_run, tmp_path) -> Path:
    """A copy, this test's own, of one tiny HQ-UNet run (``tiny_flags`` on two built-in tiles)
    trained once per session."""
    return _copy_run(_tiny_quantum_run, tmp_path / "tiny")


@pytest.fixture(scope="session")
def _tiny_classical_run(train_two_tiles) -> Path:
    flags = [*TINY_QUANTUM, "--bottleneck", "classical"]
    flags[flags.index("--epochs") + 1] = "1"
    return train_two_tiles("tiny-classical", flags)


@pytest.fixture
def tiny_classical_run(_tiny_classical_run, tmp_path) -> Path:
    """A copy, this test's own, of one tiny run with a classical bottleneck (``tiny_flags``
    with one epoch and ``--bottleneck classical``) trained once per session."""
    return _copy_run(_tiny_classical_run, tmp_path / "tiny-classical")


@pytest.fixture(scope="session")
def strict_json() -> Callable[[Path], dict]:
    """``strict_json(path)``: the JSON file's content; NaN or Infinity in it fails the test."""

    def read(path: Path) -> dict:
        def refuse(name: str):
            raise AssertionError(f"{path}: non-standard JSON constant {name}")

        return json.loads(path.read_text(), parse_constant=refuse)

    return read


@pytest.fixture(scope="session")
def vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-block, width-32, patch-16 DINOv3 with random weights, in Hugging Face format."""
    import torch
    from transformers import DINOv3ViTConfig, DINOv3ViTModel

    folder = tmp_path_factory.mktemp("dinov3")
    torch.manual_seed(0)
    DINOv3ViTModel(
        DINOv3ViTConfig(
            hidden_size=32,
            num_hidden_layers=4,
            num_attention_heads=2,
            intermediate_size=64,
            patch_size=16,
            num_register_tokens=4,
        )
    ).save_pretrained(folder)
    return folder


# two training and two validation tiles of the built-in sample, of four different images
SMALL_SPLITS = {"train": ["1_2", "3_2"], "val": ["6_2", "9_3"], "test": ["11_3"]}


@pytest.fixture(scope="session")
def small_data(tmp_path_factory, tiny_loveda) -> list[str]:
    """``["--data", folder]``: the ablation tests' training data, four built-in tiles
    (``SMALL_SPLITS``). The whole built-in sample (80 training tiles, 8 validation tiles)
    made each tiny run spend most of its time on normalisation statistics and scoring."""
    folder = tiny_loveda(tmp_path_factory.mktemp("small") / "data", SMALL_SPLITS)
    return ["--data", str(folder)]
