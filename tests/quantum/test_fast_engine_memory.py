"""The fast engine refuses, before allocating, a route or a batch over its memory limit."""

from __future__ import annotations

import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.quantum.fast import FastEngine


def brickwork(n: int, depth: int) -> tuple[QuantumCircuit, ParameterVector]:
    """RY encoding, then ``depth`` layers of CX bricks: every cone covers the register."""
    x = ParameterVector("x", n)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(x[q], q)
    for layer in range(depth):
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    return qc, x


def test_a_circuit_over_the_limit_is_refused_with_its_size() -> None:
    block = enrichment_qcnn()
    message = r"needs about [0-9.e-]+ GB per sample .*cones of up to 4 qubits.*max_memory_gb=1e-06"
    with pytest.raises(CircuitError, match=message):
        FastEngine(
            block.circuit, block.inputs, block.weights, block.observables, max_memory_gb=1e-6
        )


def test_a_batch_over_the_limit_is_refused_before_allocating() -> None:
    qc, x = brickwork(20, 8)
    obs = [SparsePauliOp.from_sparse_list([("Z", [10], 1.0)], num_qubits=20)]
    engine = FastEngine(qc, x, [], obs, route="cut")  # 2^20 amplitudes per sample
    assert engine._needs_gb(1, 8) < 4 < engine._needs_gb(64, 8)
    message = r"batch of 64 samples needs about .* GB .*blocks of up to 20 qubits.*at most \d+"
    with pytest.raises(ConfigError, match=message):
        engine(torch.zeros(64, 20))


def test_auto_route_falls_back_to_networks_that_fit() -> None:
    qc, x = brickwork(40, 6)  # 2^40 amplitudes would never fit; the cone is 12 qubits wide
    obs = [SparsePauliOp.from_sparse_list([("ZZ", [19, 20], 1.0)], num_qubits=40)]
    with pytest.raises(CircuitError, match="GB per sample"):
        FastEngine(qc, x, [], obs, route="cut")
    engine = FastEngine(qc, x, [], obs)
    assert engine.plan.networks
    out = engine(torch.zeros(3, 40, dtype=torch.float32))
    torch.testing.assert_close(out, torch.ones(3, 1))  # |0...0> is a CX eigenstate


def test_connect_passes_the_limit_and_route() -> None:
    from hq_qiskit.quantum import connect_block

    block = enrichment_qcnn()
    with pytest.raises(CircuitError, match="max_memory_gb=1e-06"):
        connect_block(block, max_memory_gb=1e-6)
    assert connect_block(block, route="network").plan.networks
