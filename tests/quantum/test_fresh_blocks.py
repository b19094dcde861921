"""Groups that start on fresh qubits (``execute.simulate_blocks``: u |0..0> is u's first
column) give Statevector's values and gradcheck, whatever the order of their qubits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.quantum.fast.engine import FastEngine


def _circuit() -> tuple[QuantumCircuit, ParameterVector, ParameterVector, list[SparsePauliOp]]:
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    qc = QuantumCircuit(5)
    qc.rxx(x[0] + 0.3, 2, 0)  # a two-qubit group on fresh qubits, most significant first
    qc.cry(w[0], 2, 0)
    qc.u(x[1], w[1], 0.7, 4)  # a one-qubit group with inputs and weights
    qc.ccx(3, 1, 4)  # fresh 3 and 1 with the evolved 4
    qc.ryy(w[0] - x[1], 1, 2)
    labels = ["IIIIZ", "IIZII", "ZIIIX", "IXIYI", "XZIII", "IIYXI"]
    return qc, x, w, [SparsePauliOp(label) for label in labels]


@pytest.mark.parametrize("route", ["auto", "cut"])
def test_fresh_groups_match_statevector(route: str) -> None:
    qc, x, w, obs = _circuit()
    engine = FastEngine(qc, x, w, obs, dtype=torch.float64, route=route,
                        initial_weights=torch.tensor([0.4, -1.1], dtype=torch.float64))  # fmt: skip
    inputs = torch.tensor([[0.2, -0.5], [1.3, 0.8]], dtype=torch.float64)
    got = engine(inputs).detach().numpy()
    for b, row in enumerate(inputs.tolist()):
        bound = qc.assign_parameters(dict(zip([*x, *w], [*row, 0.4, -1.1], strict=True)))
        state = Statevector(bound)
        want = [state.expectation_value(o).real for o in obs]
        np.testing.assert_allclose(got[b], want, rtol=0, atol=1e-12)
    inputs.requires_grad_(True)
    assert torch.autograd.gradcheck(engine, (inputs,))
