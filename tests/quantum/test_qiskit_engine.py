"""The stock EstimatorQNN + TorchConnector engine, and the fast engine against its gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.quantum import connect
from hq_qiskit.quantum.qiskit_engine import QiskitEngine, aer_safe


def small_circuit() -> tuple[QuantumCircuit, ParameterVector, ParameterVector, list]:
    """3 qubits, 3 inputs, 4 weights, with a controlled rotation Aer mis-binds unless decomposed."""
    x, w = ParameterVector("x", 3), ParameterVector("w", 4)
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.rx(np.pi * x[q], q)
    qc.cx(0, 1)
    qc.ry(w[0], 1)
    qc.crz(w[1] + 0.5 * x[2], 1, 2)
    qc.rzz(w[2], 0, 2)
    qc.ry(w[3], 0)
    obs = [SparsePauliOp(label) for label in ("IIZ", "IZI", "XII", "ZZI")]
    return qc, x, w, obs


def test_qiskit_engine_is_exact_and_matches_fast_engine_with_gradients() -> None:
    qc, x, w, obs = small_circuit()
    weights = torch.tensor([0.3, -1.1, 0.7, 2.0], dtype=torch.float64)
    stock = connect(qc, x, w, obs, engine="qiskit", initial_weights=weights)
    fast = connect(qc, x, w, obs, engine="fast", dtype=torch.float64, initial_weights=weights)
    assert isinstance(stock, QiskitEngine) and stock.precision == 0.0
    inputs = torch.tensor([[0.1, -0.4, 0.8], [0.5, 0.2, -0.9]], dtype=torch.float64)
    x_stock = inputs.clone().requires_grad_(True)
    x_fast = inputs.clone().requires_grad_(True)
    y_stock, y_fast = stock(x_stock), fast(x_fast)
    np.testing.assert_allclose(y_stock.detach(), y_fast.detach(), atol=1e-10)
    coeffs = torch.tensor([1.0, -2.0, 0.5, 1.5], dtype=torch.float64)
    (y_stock @ coeffs).sum().backward()
    (y_fast @ coeffs).sum().backward()
    # parameter shift (stock) against autograd (fast): both exact
    np.testing.assert_allclose(stock.weight.grad, fast.weight.grad, atol=1e-8)
    np.testing.assert_allclose(x_stock.grad, x_fast.grad, atol=1e-8)
    assert torch.count_nonzero(x_stock.grad) > 0, "input gradients must reach the encoder"


def test_default_precision_of_estimator_qnn_adds_noise_and_is_visible() -> None:
    qc, x, w, obs = small_circuit()
    weights = torch.tensor([0.3, -1.1, 0.7, 2.0], dtype=torch.float64)
    noisy = connect(qc, x, w, obs, engine="qiskit", initial_weights=weights, precision=0.015625)
    fast = connect(qc, x, w, obs, engine="fast", dtype=torch.float64, initial_weights=weights)
    assert noisy.precision == 0.015625
    inputs = torch.rand(4, 3, dtype=torch.float64)
    deviation = (noisy(inputs) - fast(inputs)).abs().max().item()
    assert 1e-6 < deviation < 0.2, "precision > 0 means shot-like noise around the exact value"


def test_aer_safe_decomposes_only_parametrised_controlled_gates() -> None:
    qc, *_ = small_circuit()
    safe = aer_safe(qc)
    assert "crz" in qc.count_ops() and "crz" not in safe.count_ops()
    assert safe.parameters == qc.parameters
    plain = QuantumCircuit(2)
    plain.cx(0, 1)
    assert aer_safe(plain) is plain


@pytest.mark.parametrize("bad", ["aer", "GPU"])
def test_unknown_engine(bad: str) -> None:
    qc, x, w, obs = small_circuit()
    with pytest.raises(Exception, match=f"unknown engine '{bad}'"):
        connect(qc, x, w, obs, engine=bad)
