"""Checkpoints: atomic writes, a model rebuilt from its checkpoint alone, clear errors."""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.errors import CheckpointError
from hq_qiskit.models import build_model
from hq_qiskit.training.checkpoint import (
    load_checkpoint,
    save_checkpoint,
    upgrade_v1_weights,
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


def test_a_checkpoint_round_trips(tmp_path):
    _save_tiny(tmp_path / "best.pt")
    state = load_checkpoint(tmp_path / "best.pt")
    assert state["epoch"] == 3 and state["version"] == 2
    assert state["config"]["model_options"] == OPTIONS


def test_damaged_or_foreign_files_give_one_clear_error(tmp_path):
    _save_tiny(tmp_path / "best.pt")
    _save_tiny(tmp_path / "last.pt")
    data = (tmp_path / "last.pt").read_bytes()
    (tmp_path / "last.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"last.pt: not a readable .*--checkpoint best.pt"):
        load_checkpoint(tmp_path / "last.pt")
    (tmp_path / "best.pt").unlink()
    with pytest.raises(CheckpointError, match="truncated: retrain"):
        load_checkpoint(tmp_path / "last.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an hq-qiskit checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_version_1_noise_and_stock_engine_keys_are_upgraded():
    w = torch.zeros(8)
    old = {
        "stem.0.weight": torch.ones(1),
        "bottleneck.core.inner.weight": w,
        "bottleneck.core.damping": torch.ones(32),
        "bottleneck.core.offset": torch.zeros(32),
        "qskips.0.qcnn.connector.weight": w + 1,
    }
    assert upgrade_v1_weights(old) == {
        "stem.0.weight": old["stem.0.weight"],
        "bottleneck.core.weight": w,
        "qskips.0.qcnn.weight": old["qskips.0.qcnn.connector.weight"],
    }
