"""Device model "scheduled": the exact noisy engine on the block's own scheduled ISA circuit.

Its values are checked against Aer's density matrix of the same scheduled circuit built by
another code path (``noise_capture.aer_reference``: Qiskit's ALAP passes at the device's full
width, Aer's own ``NoiseModel.from_backend``, readout applied analytically) to 1e-6 on two
devices; the noise signal and the idle part are asserted far above that, so an ideal engine,
or one that drops the delays' relaxation, fails. Also: gradients reach inputs and weights,
the entry's ``device_model`` picks the model, and a run recorded before the field existed
rebuilds with the logical model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, fake_backend, get_backend, load_backends
from hq_qiskit.hardware.device_noise import device_noise_model
from hq_qiskit.hardware.noise_capture import aer_reference
from hq_qiskit.hardware.noisy_block import noisy_module
from hq_qiskit.hardware.scheduled_noise import on_qubits, scheduled_device, scheduled_module
from hq_qiskit.quantum import connect_block
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.restore import run_backend

SETTINGS = {"level": 3, "strategy": "noise_aware", "seed": 0}


def draw(block, n: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x (n, n_in) uniform in [0, 1], w (n_w,) uniform in [-pi, pi])."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, block.n_inputs)), rng.uniform(-np.pi, np.pi, block.n_weights)


@pytest.mark.parametrize("device_name", ["FakeFez", "FakeBrisbane"])
def test_scheduled_model_equals_aer_density_matrix_with_from_backend_noise(device_name) -> None:
    device = fake_backend(device_name)
    block = enrichment_qcnn(rows=2, cols=2)
    sched = scheduled_device(block, device, **SETTINGS)
    assert sched.circuit.count_ops().get("delay", 0) > 0  # idle windows exist
    x, w = draw(block)
    kwargs = {"dtype": torch.float64, "initial_weights": torch.tensor(w)}
    with torch.no_grad():
        got = scheduled_module(block, sched, **kwargs)(torch.tensor(x)).numpy()
        ideal = connect_block(block, **kwargs)(torch.tensor(x)).numpy()
        gates_only = on_qubits(sched.mapped, device)
        gates_only.noise_model._custom_noise_passes.clear()  # the delays' relaxation left out
        no_idle = scheduled_module(block, gates_only, **kwargs)(torch.tensor(x)).numpy()
    want = aer_reference(block, sched.mapped, device, x, w)
    assert np.abs(want - ideal).mean() > 5e-3  # the noise signal (0.01-0.02)
    assert np.abs(want - no_idle).mean() > 5e-4  # the idle part alone (0.001-0.006)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_gradient_reaches_inputs_and_weights() -> None:
    block = enrichment_qcnn(rows=1, cols=2)
    sched = scheduled_device(block, fake_backend("FakeFez"), **SETTINGS)
    x, w = draw(block, n=3)
    module = scheduled_module(block, sched, dtype=torch.float64, initial_weights=torch.tensor(w))
    xt = torch.tensor(x, requires_grad=True)
    module(xt).pow(2).sum().backward()
    assert xt.grad is not None and xt.grad.abs().sum() > 1e-3
    assert module.weight.grad is not None and module.weight.grad.abs().sum() > 1e-3
    assert list(dict(module.named_parameters())) == ["weight"]


def test_entry_field_picks_the_model_and_old_records_rebuild_logical(tmp_path) -> None:
    fez = get_backend("aer-noisy-fez")
    assert fez.device_model == "logical"
    assert fez.to_dict()["device_model"] == "logical"  # a run's record says which model
    old = {k: v for k, v in fez.to_dict().items() if k != "device_model"}  # before the field
    rebuilt = run_backend(TrainConfig(backend="aer-noisy-fez", backend_entry=old))
    assert rebuilt.device_model == "logical"
    scheduled = Backend.from_dict(fez.to_dict() | {"device_model": "scheduled"}, "config.json")
    assert Backend.from_dict(scheduled.to_dict(), "config.json") == scheduled
    block = enrichment_qcnn(rows=1, cols=2)
    x, w = draw(block, n=2, seed=1)
    ideal = connect_block(block, dtype=torch.float64, initial_weights=torch.tensor(w))
    exact = {"shots": 0}
    with torch.no_grad():
        logical = noisy_module(ideal, block, Backend.from_dict(old | exact, "c"))(torch.tensor(x))
        sched = noisy_module(ideal, block, Backend.from_dict(scheduled.to_dict() | exact, "c"))(
            torch.tensor(x)
        )
        by_hand = connect_block(
            block,
            noise=device_noise_model(block, rebuilt),
            dtype=torch.float64,
            initial_weights=torch.tensor(w),
        )(torch.tensor(x))
    torch.testing.assert_close(logical, by_hand, atol=1e-12, rtol=0)
    assert (logical - sched).abs().max() > 1e-4  # the two models differ: the field is read
    for line, match in (
        ('kind = "aer"\ndevice_model = "scheduled"', "noisy entry only"),
        ('kind = "aer"\nnoise = "FakeFez"\ndevice_model = "exact"', "'logical', 'scheduled'"),
    ):
        (tmp_path / "b.toml").write_text(f"[x]\n{line}\n")
        with pytest.raises(ConfigError, match=match):
            load_backends(tmp_path / "b.toml")


def test_a_block_too_wide_for_the_scheduled_model_is_refused_with_the_fix() -> None:
    """HQ-UNet's 16-qubit bottleneck on FakeFez: routing SWAPs join the light cones (34 GB
    for one sample), refused before anything is allocated, naming the entry's field."""
    fez = get_backend("aer-noisy-fez")
    entry = Backend.from_dict(fez.to_dict() | {"device_model": "scheduled"}, "config.json")
    block = enrichment_qcnn(rows=4, cols=4)
    with pytest.raises(ConfigError, match="device_model = 'logical'"):
        noisy_module(connect_block(block), block, entry)
