"""A deep brickwork circuit, not a model block: the fast engine's benchmark and tests use it for
the case adjoint differentiation is for (every light cone covers the register, and the cut
route simulates the whole register as a state vector through ~2 gate groups per layer)."""

import math

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables


def brickwork_block(n: int = 14, layers: int = 30) -> QuantumBlock:
    """RY encoding of n inputs (angles pi * x), then ``layers`` of an RY(w) layer and a brick of
    CX + RZZ(w) on neighbouring pairs (even pairs on even layers, odd pairs on odd layers);
    <Z> on every qubit: n inputs, 2 * layers weights, n outputs.
    ``brickwork_block(14, 30)`` is the benchmark's ``deep_14x30``."""
    name = f"deep_{n}x{layers}"
    x, w = ParameterVector("x", n), ParameterVector("w", 2 * layers)
    qc = QuantumCircuit(n, name=name)
    for q in range(n):
        qc.ry(math.pi * x[q], q)
    for layer in range(layers):
        for q in range(n):
            qc.ry(w[2 * layer] + 0.1 * q, q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
            qc.rzz(w[2 * layer + 1], q, q + 1)
    observables, names = single_qubit_observables(n, "Z")
    return QuantumBlock(name, qc, x, w, observables, names)
