"""Checkpoints: atomic writes, a model rebuilt from its checkpoint alone, clear errors."""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.errors import CheckpointError
from hq_qiskit.models import build_model
from hq_qiskit.training.checkpoint import (
    load_checkpoint,
    load_model,
    save_checkpoint,
)

OPTIONS = {"width": 4, "depth": 2, "patch_px": 32, "bottleneck": "classical"}


def _save_tiny(path):
    torch.manual_seed(0)
    model = build_model("hq-unet", OPTIONS).eval()
    save_checkpoint(
        path,
        {
            "config": {"model": "hq-unet", "model_options": OPTIONS},
            "model": model.state_dict(),
            "epoch": 3,
        },
    )
    return model


def test_load_model_rebuilds_the_same_network(tmp_path):
    model = _save_tiny(tmp_path / "best.pt")
    again, config = load_model(tmp_path / "best.pt")
    x = torch.randn(2, 3, 32, 32)
    assert config["model_options"] == OPTIONS
    assert not again.training
    assert torch.equal(model(x), again(x))
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 3


def test_damaged_or_foreign_files_give_one_clear_error(tmp_path):
    _save_tiny(tmp_path / "last.pt")
    data = (tmp_path / "last.pt").read_bytes()
    (tmp_path / "last.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="last.pt: not a readable checkpoint"):
        load_model(tmp_path / "last.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an hq-qiskit checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_weights_that_do_not_fit_the_config(tmp_path):
    _save_tiny(tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tmp_path / "best.pt", width=8)
