"""The library behind ``hq-qiskit run``: device lookup with an account (the runtime's own local
service stands in for IBM's), noisy checkpoints loaded as ideal models, patch selection and
measurement groups."""

from __future__ import annotations

import pytest
import torch
from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.errors import CheckpointError, ConfigError
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.hardware.noise import NoiseCalibration, NoisyModule
from hq_qiskit.hardware.runtime import resolve
from hq_qiskit.inference.device_run import load_exact_model, measurement_groups
from hq_qiskit.inference.patches import select_patches
from hq_qiskit.models import build_model
from hq_qiskit.training.checkpoint import save_checkpoint
from hq_qiskit.training.config import TrainConfig

OPTIONS = {"width": 4, "depth": 2, "patch_px": 128, "num_classes": 5, "in_channels": 3}


def test_a_retired_device_with_an_account_lists_the_usable_ones():
    service = QiskitRuntimeLocalService()
    with pytest.raises(ConfigError, match="'ibm_brisbane' has been retired") as err:
        resolve(get_backend("ibm_brisbane"), service=service)
    assert "the account can use fake_" in str(err.value) and "backends.toml" in str(err.value)
    with pytest.raises(ConfigError, match="'ibm_fez' is not available to this account"):
        resolve(get_backend("ibm_fez"), service=service)


def test_a_noisy_run_checkpoint_loads_as_the_exact_model(tmp_path):
    torch.manual_seed(0)
    model = build_model("hq-unet", OPTIONS)
    ((block, core),) = model.quantum_blocks()
    cal = NoiseCalibration(
        key="k", block=block.name, backend="FakeBrisbane", layout=tuple(range(16)),
        damping=(0.8,) * 32, offset=(0.0,) * 32, samples=1, shots=1, seed=0, fit_mad=0.0,
        seconds=0.0,
    )  # fmt: skip
    model.replace_quantum_module(core, NoisyModule(core, cal))  # as a noisy-Aer run trains it
    cfg = TrainConfig(model="hq-unet", model_options=OPTIONS, backend="aer-noisy-brisbane")
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict()})
    exact, found, config = load_exact_model(tmp_path)
    assert found == path  # a run folder without best.pt falls back to last.pt
    assert config["backend"] == "aer-noisy-brisbane"
    ((_, module),) = exact.quantum_blocks()
    assert not isinstance(module, NoisyModule)
    assert torch.equal(module.weight, core.weight)
    x = torch.rand(2, 48) * 2 - 1
    assert torch.allclose(module(x), core(x))  # exact values, no damping


def test_a_classical_model_is_refused(tmp_path):
    opts = {**OPTIONS, "bottleneck": "classical"}
    model = build_model("hq-unet", opts)
    cfg = TrainConfig(model="hq-unet", model_options=opts)
    save_checkpoint(tmp_path / "best.pt", {"config": cfg.to_dict(), "model": model.state_dict()})
    with pytest.raises(CheckpointError, match="has no quantum blocks"):
        load_exact_model(tmp_path)


def test_patches_are_spread_over_the_tile_grid():
    config = {
        "data": None,
        "class_names": ["background", "building", "woodland", "water", "road"],
        "model_options": {"patch_px": 128},
        "mean": [100.0] * 3,
        "std": [50.0] * 3,
    }
    patches = select_patches(config, None, "val", n_tiles=1, n_patches=4)
    assert patches.per_tile == 16 and len(patches.tiles) == 1 and patches.split_tiles >= 1
    assert len(patches.dataset) == 4 and patches.ids[0].endswith("@0,0")
    assert patches.ids[-1].endswith("@384,384")  # the last patch of the 4 x 4 grid
    image, mask = patches.dataset[0]
    assert image.shape == (3, 128, 128) and mask.shape == (128, 128)
    with pytest.raises(ConfigError, match="--tiles and --patches"):
        select_patches(config, None, "val", n_tiles=0, n_patches=None)


def test_the_enrichment_qcnn_needs_two_measurement_settings():
    assert measurement_groups(enrichment_qcnn().observables) == 2  # all-Z, all-X
