"""Gate models are keyed by what defines their matrix, not by the gate's class and name.

Before (issue 24, item 1) the process-wide cache of ``fast/gates.py`` keyed every gate by
(class, name, qubits, angle count, ctrl_state): two ``PauliEvolutionGate``s on two qubits shared
one model, so exp(-itZY) and exp(-itXX) in one circuit, or a module of XX built after one of ZY,
were silently wrong. Values here are checked against ``Statevector``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.quantum import connect
from hq_qiskit.quantum.fast.gates import gate_model

X_VALUES = np.array([[0.3, -1.1], [1.7, 0.4]])
T_VALUE = 0.7


@pytest.fixture(autouse=True)
def _quiet_scipy():
    """PauliEvolutionGate.to_matrix goes through scipy's sparse expm, which warns on formats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _circuit(paulis: list[str]):
    """RY encoding of two inputs, then exp(-i t P) for each P in ``paulis``, one weight t."""
    x, t = ParameterVector("x", 2), Parameter("t")
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    for p in paulis:
        qc.append(PauliEvolutionGate(SparsePauliOp(p), t), [0, 1])
    return qc, list(x), t


def _check(paulis: list[str]) -> None:
    qc, x, t = _circuit(paulis)
    obs = [SparsePauliOp("ZI"), SparsePauliOp("XZ"), SparsePauliOp("YY")]
    module = connect(
        qc,
        x,
        [t],
        obs,
        dtype=torch.float64,
        initial_weights=torch.tensor([T_VALUE], dtype=torch.float64),
    )
    got = module(torch.as_tensor(X_VALUES)).detach().numpy()
    for b, row in enumerate(X_VALUES):
        state = Statevector(qc.assign_parameters({x[0]: row[0], x[1]: row[1], t: T_VALUE}))
        want = [state.expectation_value(o).real for o in obs]
        np.testing.assert_allclose(got[b], want, atol=1e-12)


def test_two_evolutions_in_one_circuit_keep_their_own_matrices() -> None:
    _check(["ZY", "XX"])


def test_a_module_of_xx_built_after_one_of_zy_is_right() -> None:
    _check(["ZY"])
    _check(["XX"])
    _check(["XX", "XX", "ZY"])


def test_equal_evolutions_share_one_model_and_different_ones_do_not() -> None:
    """The key is the matrix: one model per distinct operator (stacks share equal gates)."""
    t = Parameter("t")
    zy1 = gate_model(PauliEvolutionGate(SparsePauliOp("ZY"), t))
    zy2 = gate_model(PauliEvolutionGate(SparsePauliOp("ZY"), t))
    xx = gate_model(PauliEvolutionGate(SparsePauliOp("XX"), t))
    assert zy1 is zy2
    assert xx is not zy1
    assert not np.allclose(xx.coef, zy1.coef)


def test_custom_gates_of_one_name_are_told_apart() -> None:
    """Two ``to_gate()`` gates both named "block" with other bodies: two models."""
    a, b = QuantumCircuit(2, name="block"), QuantumCircuit(2, name="block")
    a.h(0)
    a.cx(0, 1)
    b.cx(0, 1)
    b.h(1)
    qc = QuantumCircuit(2)
    qc.append(a.to_gate(), [0, 1])
    qc.append(b.to_gate(), [0, 1])
    obs = [SparsePauliOp("ZI"), SparsePauliOp("XX"), SparsePauliOp("IZ")]
    module = connect(qc, [], [], obs, dtype=torch.float64, initial_weights=torch.zeros(0))
    got = module(torch.zeros(1, 0, dtype=torch.float64))[0].detach().numpy()
    want = [Statevector(qc).expectation_value(o).real for o in obs]
    np.testing.assert_allclose(got, want, atol=1e-12)
