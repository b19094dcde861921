"""Observables with identity terms (issue 24, item 2): constants with zero gradient.

Before, any identity term (a projector 0.5*III + 0.5*IIZ) raised IndexError in the ideal engine
(an empty light cone in ``fast/engine.py``); the noisy engine handled it. Both engines are
checked against ``Statevector`` here, on every route of the ideal engine.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.noise import NoiseModel

from hq_qiskit.quantum import connect

OBSERVABLES = [
    SparsePauliOp.from_list([("III", 0.5), ("IIZ", 0.5)]),  # projector on |0> of qubit 0
    SparsePauliOp.from_list([("III", -1.25), ("XYI", 0.5), ("ZIZ", 2.0)]),
    SparsePauliOp.from_list([("III", 0.75)]),  # a constant observable
]
X_VALUES = np.array([[0.3, -1.1], [1.7, 0.4], [-2.2, 2.9]])
W_VALUES = np.array([0.8, -0.35])


def _circuit():
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    qc = QuantumCircuit(3)
    qc.ry(x[0], 0)
    qc.rx(x[1], 1)
    qc.h(2)
    qc.cx(0, 2)
    qc.rzz(w[0], 1, 2)
    qc.ry(w[1] + 0.5 * x[0], 0)
    qc.cx(2, 1)
    return qc, list(x), list(w)


def _reference(qc, x, w) -> np.ndarray:
    out = np.zeros((len(X_VALUES), len(OBSERVABLES)))
    for b, row in enumerate(X_VALUES):
        binding = dict(zip(x, row, strict=True)) | dict(zip(w, W_VALUES, strict=True))
        state = Statevector(qc.assign_parameters(binding))
        out[b] = [state.expectation_value(o).real for o in OBSERVABLES]
    return out


@pytest.mark.parametrize(
    "kwargs",
    [{"route": "cut"}, {"route": "network"}, {"gradient": "adjoint"}, {"noise": NoiseModel()}],
    ids=["cut", "network", "adjoint", "noisy-zero-noise"],
)
def test_identity_terms_are_constants_on_every_route(kwargs: dict) -> None:
    qc, x, w = _circuit()
    module = connect(
        qc, x, w, OBSERVABLES, dtype=torch.float64,
        initial_weights=torch.as_tensor(W_VALUES), **kwargs,
    )  # fmt: skip
    inputs = torch.as_tensor(X_VALUES).requires_grad_(True)
    out = module(inputs)
    np.testing.assert_allclose(out.detach().numpy(), _reference(qc, x, w), atol=1e-12)
    # the constant observable has zero gradient; the others that of their non-identity part
    (grad_const,) = torch.autograd.grad(out[:, 2].sum(), inputs, retain_graph=True)
    assert torch.count_nonzero(grad_const) == 0
    out[:, :2].sum().backward()
    live = [SparsePauliOp.from_list([("IIZ", 0.5)]), OBSERVABLES[1] - SparsePauliOp("III", -1.25)]
    ref = connect(
        qc, x, w, live, dtype=torch.float64, initial_weights=torch.as_tensor(W_VALUES), **kwargs
    )
    inputs_ref = torch.as_tensor(X_VALUES).requires_grad_(True)
    ref(inputs_ref).sum().backward()
    torch.testing.assert_close(inputs.grad, inputs_ref.grad)
    torch.testing.assert_close(module.weight.grad, ref.weight.grad)


def test_only_identity_terms_give_constants_and_a_graph() -> None:
    """An engine whose every term is the identity still returns (B, n_obs) and backpropagates."""
    qc, x, w = _circuit()
    obs = [SparsePauliOp("III", 0.25), SparsePauliOp("III", -2.0)]
    module = connect(qc, x, w, obs, dtype=torch.float64, initial_weights=torch.zeros(2))
    inputs = torch.as_tensor(X_VALUES).requires_grad_(True)
    out = module(inputs)
    expected = torch.tensor([[0.25, -2.0]] * len(X_VALUES), dtype=torch.float64)
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert torch.count_nonzero(inputs.grad) == 0
