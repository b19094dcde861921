"""Mixed precision: autocast reaches the classical layers, never the quantum blocks; a bf16 run
completes; persistent DataLoader workers still draw each epoch's new patches."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from torch.utils.data import DataLoader

from hq_qiskit.cli.main import cli
from hq_qiskit.datasets import open_tiles
from hq_qiskit.errors import ConfigError
from hq_qiskit.models import HQUNet
from hq_qiskit.samplers import EpochIndices, RandomPatches
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.precision import autocast, quantum_full_precision

TINY = {"width": 4, "depth": 2, "patch_px": 64}
CPU = torch.device("cpu")


def test_autocast_stops_at_the_quantum_block():
    torch.manual_seed(0)
    model = HQUNet(**TINY).eval()
    core = model.bottleneck.core  # the fast engine running the QCNN
    seen = []

    def look(module, args):
        seen.append((args[0].dtype, torch.is_autocast_enabled("cpu")))

    x = torch.randn(2, 3, 64, 64)
    with quantum_full_precision(model.quantum_modules()):
        core.register_forward_pre_hook(look)  # runs after the guard's own pre-hook
        with torch.no_grad(), autocast("bf16-mixed", CPU):
            logits = model(x)
    assert logits.dtype == torch.bfloat16  # the classical layers ran in bf16
    assert seen == [(torch.float32, False)]  # the engine: float32 input, autocast off
    with torch.no_grad(), autocast("bf16-mixed", CPU):
        model(x)  # guard removed: autocast reaches the engine again
    assert seen[1] == (torch.bfloat16, True)


def test_a_bf16_mixed_run_completes_with_a_loader_worker(tmp_path):
    args = ["train", "--width", "4", "--depth", "2", "--patch-px", "64", "--epochs", "1"]
    args += ["--patches-per-epoch", "4", "--batch-size", "2", "--aer-check-samples", "1"]
    args += ["--device", "cpu", "--precision", "bf16-mixed", "--workers", "1"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "max |diff| = " in result.output  # engine vs exact Aer still checked
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["precision"] == "bf16-mixed"
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert record["train_loss"] == pytest.approx(record["train_loss"])  # finite, not NaN


def test_persistent_workers_draw_each_epochs_patches():
    patches = RandomPatches(open_tiles(None, "train"), 64, 4, seed=0)
    loader = DataLoader(
        patches, batch_size=4, sampler=EpochIndices(patches), num_workers=1,
        persistent_workers=True,
    )  # fmt: skip
    firsts = []
    for epoch in (1, 2):
        patches.set_epoch(epoch)
        ((x, _),) = list(loader)
        assert torch.equal(x[0], patches[(epoch, 0)][0])
        firsts.append(x[0])
    assert not torch.equal(*firsts)


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="--precision 8-mixed: choose one of 16-mixed, 32,"):
        TrainConfig(precision="8-mixed").check()
