"""bench/damping.py, the old damping noise mode (the benchmarks' baseline), against Aer's noise
model on a small circuit (real Aer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from bench.damping import (
    NoisyModule,
    aer_values,
    calibrate,
    damped_module,
    random_parameters,
)
from hq_qiskit.circuits import QuantumBlock, single_qubit_observables
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.quantum import connect_block

pytest.importorskip("hq_qiskit.quantum.fast.engine")


def small_block() -> QuantumBlock:
    """4 qubits in a row, 8 inputs, 4 weights, 8 outputs (Z0..Z3, X0..X3)."""
    x, w = ParameterVector("x", 8), ParameterVector("w", 4)
    qc = QuantumCircuit(4, name="small")
    for q in range(4):
        qc.rx(np.pi * x[q], q)
        qc.ry(np.pi * x[4 + q], q)
    for layer in range(2):
        for q in range(3):
            qc.cx(q, q + 1)
        for q in range(4):
            qc.ry(w[q], q) if layer == 0 else qc.rz(w[q], q)
    obs, names = single_qubit_observables(4)
    return QuantumBlock("small", qc, x, w, obs, names)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HQ_QISKIT_CACHE", str(tmp_path))
    return tmp_path


def test_calibrated_damping_matches_aer(cache):
    block = small_block()
    backend = get_backend("aer-noisy-brisbane")
    cal = calibrate(block, backend, samples=12, shots=48, seed=0)
    d = np.array(cal.damping)
    assert d.shape == (8,) and np.all((d > 0.6) & (d < 1.05)) and d.mean() < 0.99
    assert list(cache.glob("noise/small-FakeBrisbane-*.json"))  # cached on disk
    x, w = random_parameters(block, 6, 4242)
    ideal = aer_values(block, None, x, w)
    noisy = aer_values(block, backend, x, w, shots=64, seed=1_000_003)
    fast = np.stack(
        [
            NoisyModule(
                connect_block(block, dtype=torch.float64, initial_weights=torch.tensor(w[i])), cal
            )(torch.tensor(x[i : i + 1]))
            .detach()
            .numpy()[0]
            for i in range(len(x))
        ]
    )
    dev_fast, dev_ideal = np.abs(fast - noisy).mean(), np.abs(ideal - noisy).mean()
    assert dev_fast < 0.05
    assert dev_fast < dev_ideal  # the noise mode explains part of the gap to ideal


def test_noisy_module_keeps_the_connect_contract(cache):
    block = small_block()
    module = connect_block(block, dtype=torch.float64)
    noisy = damped_module(
        module, block, get_backend("aer-noisy-brisbane"), samples=4, calibration_shots=8, shots=256
    )
    assert noisy.weight is module.weight
    x = (torch.rand(3, 8, dtype=torch.float64) * 2 - 1).requires_grad_()
    y = noisy(x)
    assert y.shape == (3, 8) and y.abs().max() <= 1
    y.sum().backward()
    assert x.grad.abs().sum() > 0 and module.weight.grad.abs().sum() > 0
    assert damped_module(module, block, get_backend("aer")) is module  # ideal: unchanged
    with pytest.raises(ConfigError, match="is ideal"):
        calibrate(block, get_backend("aer"))
