"""Fixtures shared by the hardware tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp


def ry_cx_block() -> tuple[QuantumCircuit, ParameterVector, list[SparsePauliOp]]:
    """A fresh 2-qubit block: RY(x0) on q0, RY(x1) on q1, CX(0, 1); observables IZ, ZZ, IX
    (<Z0>, <Z0 Z1>, <X0>). Returns (circuit, its parameters x (2,), observables)."""
    x = ParameterVector("x", 2)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    qc.cx(0, 1)
    return qc, x, [SparsePauliOp("IZ"), SparsePauliOp("ZZ"), SparsePauliOp("IX")]


@pytest.fixture(scope="session")
def two_qubit_block() -> Callable[[], tuple[QuantumCircuit, ParameterVector, list]]:
    """``ry_cx_block``: each call builds a fresh circuit."""
    return ry_cx_block
