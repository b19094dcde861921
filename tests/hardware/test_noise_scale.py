"""The noise budget's knob: every error of a device noise model scaled by one factor."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from hq_qiskit.circuits import build_block
from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware import device_noise as device_noise_module
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.device_noise import device_noise
from hq_qiskit.hardware.noise_scale import scaled_device, scaled_target
from hq_qiskit.quantum import connect_block


@pytest.fixture(scope="module")
def fez():
    return fake_backend("FakeFez")


def chain() -> QuantumBlock:
    """Three qubits: encodings, a trainable RY and a CX chain; <Z>, <X> per qubit."""
    x, w = ParameterVector("x", 3), ParameterVector("w", 2)
    qc = QuantumCircuit(3, name="budget_chain")
    for q in range(3):
        qc.rx(2 * x[q], q)
        qc.ry(w[0], q)
    for a, b in [(0, 1), (1, 2)]:
        qc.cx(a, b)
        qc.ry(w[1], b)
    obs, names = single_qubit_observables(3, "ZX")
    return QuantumBlock(qc.name, qc, x, w, obs, names)


X = np.random.default_rng(3).uniform(-1, 1, (4, 3))
W = np.array([0.4, -1.1])


def values(block: QuantumBlock, noise=None) -> np.ndarray:
    """(4, 6) exact expectation values of the block, noisy engine when ``noise`` is given."""
    m = connect_block(block, noise=noise, dtype=torch.float64, initial_weights=torch.tensor(W))
    return m(torch.tensor(X)).detach().numpy()


def noisy(block, fez, f: float) -> np.ndarray:
    dn = device_noise(block, fez, optimization_level=1, layout="preset", noise_scale=f)
    return values(block, dn.noise_model)


def test_factor_zero_is_the_ideal_engine(fez) -> None:
    block = chain()
    ideal = values(block)
    assert np.abs(noisy(block, fez, 1.0) - ideal).max() > 1e-3  # the device's noise shows
    np.testing.assert_allclose(noisy(block, fez, 0.0), ideal, atol=1e-6, rtol=0)


def test_factor_one_is_the_unscaled_model_exactly(fez) -> None:
    block = chain()
    plain = device_noise(block, fez, optimization_level=1, layout="preset")
    # the scaled path with f = 1 (a copied target, proxied readout) changes no number
    device_noise_module._CACHE.clear()  # same name and snapshot: build it afresh
    via_copy = device_noise(block, scaled_device(fez, 1.0), optimization_level=1, layout="preset")
    assert via_copy is not plain
    a, b = values(block, plain.noise_model), values(block, via_copy.noise_model)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(noisy(block, fez, 1.0), a)


def test_values_move_away_from_ideal_monotonically(fez) -> None:
    block = chain()
    ideal = values(block)
    gaps = [np.abs(noisy(block, fez, f) - ideal).mean() for f in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert gaps[0] < 1e-6
    assert all(b > a for a, b in zip(gaps, gaps[1:], strict=False)), gaps


def test_scaled_numbers(fez) -> None:
    scaled = scaled_device(fez, 2.0)
    target, props = scaled.target, fez.properties()
    q = 5
    assert scaled.target["cz"] is not fez.target["cz"]
    qargs = next(iter(fez.target["cz"]))
    assert math.isclose(target["cz"][qargs].error, 2 * fez.target["cz"][qargs].error)
    assert target["cz"][qargs].duration == fez.target["cz"][qargs].duration
    assert math.isclose(target.qubit_properties[q].t1, fez.target.qubit_properties[q].t1 / 2)
    p10 = props.qubit_property(q, "prob_meas1_prep0")[0]
    assert scaled.properties().qubit_property(q, "prob_meas1_prep0")[0] == min(2 * p10, 0.5)
    assert scaled_device(fez, 100.0).properties().qubit_property(q, "prob_meas1_prep0")[0] == 0.5
    assert scaled_target(fez.target, 0.0).qubit_properties[q].t1 == math.inf


def test_negative_factor_is_refused(fez) -> None:
    with pytest.raises(ConfigError, match="noise_scale -1.0"):
        scaled_device(fez, -1)


def test_scaling_changes_errors_not_the_native_gates() -> None:
    """The translation to native gates is the device's at every factor: at level 3 the
    synthesis weighs error rates, and on FakeKingston's scaled data the HQ-UNet block got
    other one-qubit decompositions with every error 0 (rz 503 -> 452, sx 350 -> 386)."""
    block = build_block("enrichment_qcnn")
    counts = {f: device_noise(block, "ibm_kingston", noise_scale=f).native_gates for f in (0, 1)}
    assert counts[0] == counts[1], counts
