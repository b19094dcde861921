"""A general register-wide circuit, not a model block: the fast engine's benchmark and tests use
it for light cones that cover the whole register (no product structure to exploit)."""

import math

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from hq_qiskit.circuits.block import QuantumBlock, single_qubit_observables


def ring_block(n: int = 16) -> QuantumBlock:
    """RY/RZ encoding of 2n inputs (angles pi * x), CX ring, RY layer, RZZ ring, RY layer;
    <Z> and <X> on every qubit: 6n gates, 2n inputs, 3n weights, 2n outputs.
    ``ring_block(16)`` is the 96-gate circuit of issue 11 (named ``ring_96``)."""
    name = f"ring_{6 * n}"
    x, w = ParameterVector("x", 2 * n), ParameterVector("w", 3 * n)
    qc = QuantumCircuit(n, name=name)
    for q in range(n):
        qc.ry(math.pi * x[q], q)
        qc.rz(math.pi * x[n + q], q)
    for q in range(n):
        qc.cx(q, (q + 1) % n)
    for q in range(n):
        qc.ry(w[q], q)
    for q in range(n):
        qc.rzz(w[n + q], q, (q + 1) % n)
    for q in range(n):
        qc.ry(w[2 * n + q], q)
    observables, names = single_qubit_observables(n, "ZX")
    return QuantumBlock(name, qc, x, w, observables, names)
