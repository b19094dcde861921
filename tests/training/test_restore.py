"""restore(): one way from a run folder or checkpoint back to the model, noise as trained or
ideal, the backend entry read from the run itself."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bench.damping import NoiseCalibration, NoisyModule
from hq_qiskit.errors import CheckpointError, ConfigError
from hq_qiskit.hardware.backends import Backend, get_backend
from hq_qiskit.models import build_model
from hq_qiskit.training.checkpoint import save_checkpoint
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.restore import find_checkpoint, restore, run_backend

OPTIONS = {"width": 4, "depth": 2, "patch_px": 32, "bottleneck": "quantum", "qcnn_layers": 1}


def _save(path, seed=0, **config):
    torch.manual_seed(seed)
    model = build_model("hq-unet", OPTIONS).eval()
    cfg = TrainConfig(model="hq-unet", model_options=OPTIONS, **config)
    save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict(), "epoch": 1})
    return model


def test_restores_the_same_network_from_a_file_or_a_run_folder(tmp_path):
    best = _save(tmp_path / "best.pt", seed=1)
    last = _save(tmp_path / "last.pt", seed=2)
    x = torch.randn(2, 3, 32, 32)
    for source, checkpoint, model in [
        (tmp_path / "last.pt", None, last),
        (tmp_path, None, best),  # a folder means best.pt
        (tmp_path, "last.pt", last),
    ]:
        r = restore(source, checkpoint=checkpoint)
        assert not r.model.training and r.backend.name == "aer"
        assert torch.equal(r.model(x), model(x))
        assert r.config.model_options == OPTIONS


def test_missing_and_mismatched_checkpoints_name_the_fix(tmp_path):
    with pytest.raises(CheckpointError, match="no such run folder"):
        find_checkpoint(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="train it first"):
        find_checkpoint(tmp_path)
    _save(tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="use --checkpoint last.pt"):
        find_checkpoint(tmp_path, "best.pt")
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    state["config"]["model_options"]["width"] = 8
    torch.save(state, tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="weights do not fit model 'hq-unet'"):
        restore(tmp_path)


def test_the_run_keeps_its_backend_entry(tmp_path):
    entry = get_backend("aer-noisy-brisbane")
    renamed = Backend(**{**entry.__dict__, "name": "my-lab-noisy", "shots": 3})
    cfg = TrainConfig(backend="my-lab-noisy", backend_entry=renamed.to_dict())
    assert run_backend(cfg) == renamed  # not in backends.toml, rebuilt from the run itself
    cfg = dataclasses.replace(cfg, backend_entry=None)
    with pytest.raises(ConfigError, match="stores no entry"):
        run_backend(cfg)
    cfg = dataclasses.replace(cfg, backend_entry={**renamed.to_dict(), "layout": "diagonal"})
    with pytest.raises(ConfigError, match=r"config.json: \[my-lab-noisy\] key 'layout'"):
        run_backend(cfg, "config.json")


def test_noisy_and_ideal_modules_share_one_state_dict():
    torch.manual_seed(0)
    model = build_model("hq-unet", OPTIONS)
    ((block, core),) = model.quantum_blocks()
    ideal_keys = set(model.state_dict())
    cal = NoiseCalibration(
        key="k", block=block.name, backend="FakeBrisbane", layout=tuple(range(16)),
        damping=(0.8,) * 32, offset=(0.0,) * 32, samples=1, shots=1, seed=0, fit_mad=0.0,
        seconds=0.0,
    )  # fmt: skip
    model.replace_quantum_module(core, NoisyModule(core, cal))
    assert set(model.state_dict()) == ideal_keys
    ((_, noisy),) = model.quantum_blocks()
    x = torch.rand(3, 48) * 2 - 1
    assert torch.allclose(noisy(x), (0.8 * core(x)).clamp(-1, 1))
    fresh = build_model("hq-unet", OPTIONS)
    fresh.load_state_dict(model.state_dict())  # a noise-trained state loads into the ideal model
    assert torch.equal(fresh.quantum_modules()[0].weight, core.weight)
