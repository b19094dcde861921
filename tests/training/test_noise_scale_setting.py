"""``noise_scale`` as a training setting: recorded in config.json, 1 for runs saved before it
existed, refused on an ideal backend, and applied when a run is rebuilt as trained."""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.training.config import TrainConfig, TrainSettings
from hq_qiskit.training.restore import build_from_config
from hq_qiskit.training.runner import check_backend

OPTIONS = {"width": 2, "depth": 1, "patch_px": 16, "qubit_grid": [1, 2]}  # a 2-qubit block


def test_old_records_load_with_the_devices_own_noise():
    old = TrainSettings().to_dict()
    del old["noise_scale"]
    assert TrainConfig.from_dict(old).noise_scale == 1.0
    assert TrainConfig(noise_scale=0.5).to_dict()["noise_scale"] == 0.5  # written down


def test_a_scale_needs_a_noisy_backend_and_a_factor_of_zero_or_more():
    with pytest.raises(ConfigError, match="--noise-scale 2: backend aer is ideal"):
        check_backend(TrainConfig(backend="aer", noise_scale=2.0))
    with pytest.raises(ConfigError, match="--noise-scale -1: give a factor >= 0"):
        TrainSettings(noise_scale=-1.0).check()


def test_the_rebuilt_run_applies_its_scale():
    entry = get_backend("aer-noisy-fez")
    x = torch.randn(3, 3, 16, 16)

    def outputs(scale: float, noise: str = "as_trained") -> torch.Tensor:
        cfg = TrainConfig(
            backend=entry.name,
            backend_entry=entry.to_dict(),
            model_options=OPTIONS,
            shots=0,  # exact noisy values
            noise_scale=scale,
        )
        model, _ = build_from_config(cfg, noise=noise)  # type: ignore[arg-type]
        with torch.no_grad():
            return model.eval()(x)

    ideal = outputs(1.0, noise="ideal")
    torch.testing.assert_close(outputs(0.0), ideal, atol=1e-6, rtol=0)  # no error left
    assert (outputs(1.0) - ideal).abs().max() > 1e-4  # the device's noise moves the map
