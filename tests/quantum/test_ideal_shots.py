"""Shots on the ideal route (issue 24, item 4): sampled from the ideal engine's exact values.

Before, ``connect(..., shots=N)`` without noise built the noisy (density-matrix) engine, so
ring_96 with shots was refused (an estimated 875 GiB) although the ideal engine runs it in
0.2 s. Now the ideal engine computes the exact term values and draws the shots from them.
"""

from __future__ import annotations

import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.circuits.ring import ring_block
from hq_qiskit.quantum import connect, connect_block
from hq_qiskit.quantum.fast import FastEngine


def test_ring_96_runs_with_1024_shots_on_the_ideal_engine() -> None:
    block = ring_block(16)
    module = connect_block(block, shots=1024, seed=2)
    assert isinstance(module, FastEngine)
    x = torch.rand(2, block.n_inputs)
    out = module(x)
    exact = connect_block(block, initial_weights=module.weight.detach())(x)
    k = (out.detach().double() + 1) * 1024 / 2  # one term per output: 2 k / 1024 - 1
    torch.testing.assert_close(k, k.round(), atol=1e-3, rtol=0)
    assert (out - exact).abs().max() < 6 * (1 / 1024) ** 0.5  # within 6 standard deviations
    assert not torch.equal(out, exact)


def _module(shots: int, seed: int = 0):
    x, w = ParameterVector("x", 2), ParameterVector("w", 1)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    qc.cx(0, 1)
    qc.rz(w[0], 1)
    qc.h(1)
    observables = [
        SparsePauliOp("ZZ"),
        SparsePauliOp.from_list([("II", 0.75), ("IZ", 0.5), ("XI", -0.25)]),
    ]
    return connect(
        qc, list(x), list(w), observables, shots=shots, seed=seed, dtype=torch.float64,
        initial_weights=torch.tensor([0.4], dtype=torch.float64),
    )  # fmt: skip


def test_ideal_shots_are_seeded_unbiased_with_binomial_variance_and_exact_gradients() -> None:
    x1 = torch.tensor([[0.3, -0.8]], dtype=torch.float64)
    a, b = _module(100, seed=5), _module(100, seed=5)
    torch.testing.assert_close(a(x1), b(x1), atol=0, rtol=0)
    assert not torch.equal(_module(100, seed=5)(x1), _module(100, seed=6)(x1))
    exact, sampled = _module(0), _module(50, seed=1)
    x = x1.expand(4000, -1).clone().requires_grad_(True)
    out = sampled(x)
    v = exact(x1)[0]
    assert abs(out[:, 0].mean() - v[0]) < 4 * ((1 - v[0] ** 2) / 50 / 4000) ** 0.5
    assert out[:, 0].var().item() == pytest.approx((1 - v[0] ** 2).item() / 50, rel=0.1)
    assert abs(out[:, 1].mean() - v[1]) < 0.01  # 0.75 (exact) + two sampled terms
    out.sum().backward()
    xe = x.detach().clone().requires_grad_(True)
    exact(xe).sum().backward()
    torch.testing.assert_close(x.grad, xe.grad)
    torch.testing.assert_close(sampled.weight.grad, exact.weight.grad)
    assert "shots 50" in sampled.describe()
