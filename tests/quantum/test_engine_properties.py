"""Property test of every route (issue 24, item 4): random circuits against Statevector.

Random 3-5-qubit circuits draw from every gate of Qiskit's standard library the engine takes
(and ``PauliEvolutionGate``s of random Pauli strings), with affine angle expressions; random
Pauli sums with identity terms are the observables. On each route (the ``cut`` route with
autograd, the ``network`` route, adjoint differentiation, the noisy engine with a
zero-noise model, and the ``statevector`` route with autograd and with adjoint
differentiation) the test checks:

- values against ``qiskit.quantum_info.Statevector``;
- first derivatives in inputs and weights against central finite differences of
  ``Statevector`` values (an independent reference);
- second derivatives: a Hessian-vector product in the weights from a double backward
  against central finite differences of the engine's first derivatives.

Fixed seeds (numpy's generator); about 10-20 s on one thread of a shared 2-core machine.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, ParameterVector
from qiskit.circuit.library import PauliEvolutionGate, get_standard_gate_name_mapping
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.noise import NoiseModel

from hq_qiskit.quantum import connect

STANDARD = {
    name: (op.num_qubits, len(op.params))
    for name, op in get_standard_gate_name_mapping().items()
    if isinstance(op, Gate) and op.num_qubits >= 1
}
KINDS = sorted(STANDARD) + ["pauli_evolution"]
N_IN, N_W, BATCH = 3, 3, 2
SEEDS = tuple(range(8))
ROUTES = {
    "cut": {"route": "cut", "gradient": "autograd"},
    "network": {"route": "network"},
    "adjoint": {"route": "cut", "gradient": "adjoint"},
    "noisy-zero-noise": {"noise": NoiseModel()},
    "statevector": {"route": "statevector", "gradient": "autograd"},
    "statevector-adjoint": {"route": "statevector", "gradient": "adjoint"},
}
FD_STEP = 1e-6


def _angle(rng: np.random.Generator, x: ParameterVector, w: ParameterVector):
    kind = rng.integers(4)
    if kind == 0:
        return float(rng.uniform(-3, 3))
    if kind == 1:
        return float(rng.uniform(-2, 2)) * x[int(rng.integers(N_IN))]
    if kind == 2:
        return w[int(rng.integers(N_W))]
    return 0.5 * x[int(rng.integers(N_IN))] - w[int(rng.integers(N_W))] + 0.25


def _append(qc: QuantumCircuit, kind: str, rng: np.random.Generator, x, w) -> None:
    n = qc.num_qubits
    if kind == "pauli_evolution":
        label = "".join(rng.choice(list("IXYZ"), size=2))
        op = PauliEvolutionGate(SparsePauliOp(label if label != "II" else "ZX"), _angle(rng, x, w))
    else:
        op = get_standard_gate_name_mapping()[kind].to_mutable()
        op.params = [_angle(rng, x, w) for _ in range(STANDARD[kind][1])]
    qubits = rng.choice(n, size=op.num_qubits, replace=False).tolist()
    qc.append(op, qubits)


def _observables(rng: np.random.Generator, n: int) -> list[SparsePauliOp]:
    out = []
    for _ in range(3):
        terms = [("", [], float(rng.uniform(-1, 1)))] if rng.random() < 0.6 else []
        for _ in range(int(rng.integers(1, 3))):
            weight = int(rng.integers(1, 4))
            support = rng.choice(n, size=weight, replace=False).tolist()
            terms.append(("".join(rng.choice(list("XYZ"), size=weight)), support, rng.normal()))
        out.append(SparsePauliOp.from_sparse_list(terms, num_qubits=n))
    return out


def random_case(seed: int):
    """(circuit, x params, w params, observables, x values (B, n_in), w values (n_w,))."""
    rng = np.random.default_rng(seed)
    n = 3 + seed % 3
    x, w = ParameterVector("x", N_IN), ParameterVector("w", N_W)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(1.3 * x[q % N_IN], q)
    kinds = [k for k in KINDS if k == "pauli_evolution" or STANDARD[k][0] <= n]
    for kind in rng.permutation(kinds)[:24]:
        _append(qc, str(kind), rng, x, w)
    xs = rng.uniform(-np.pi, np.pi, size=(BATCH, N_IN))
    ws = rng.uniform(-np.pi, np.pi, size=N_W)
    return qc, list(x), list(w), _observables(rng, n), xs, ws


def _statevector_values(case, xs: np.ndarray, ws: np.ndarray) -> np.ndarray:
    qc, xp, wp, obs = case[:4]
    out = np.zeros((len(xs), len(obs)))
    for b, row in enumerate(xs):
        binding = dict(zip(xp + wp, [*row, *ws], strict=True))
        bound = qc.assign_parameters(binding, strict=False)
        state = Statevector(bound)
        out[b] = [state.expectation_value(o).real for o in obs]
    return out


def _reference(case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Statevector values (B, n_obs) and finite-difference gradients of their sum."""
    xs, ws = case[4], case[5]
    values = _statevector_values(case, xs, ws)
    grad_x, grad_w = np.zeros_like(xs), np.zeros_like(ws)
    for j in range(N_IN):  # samples are independent: move column j of every row at once
        step = np.zeros_like(xs)
        step[:, j] = FD_STEP
        diff = _statevector_values(case, xs + step, ws) - _statevector_values(case, xs - step, ws)
        grad_x[:, j] = diff.sum(1) / (2 * FD_STEP)
    for j in range(N_W):
        step = np.zeros_like(ws)
        step[j] = FD_STEP
        diff = _statevector_values(case, xs, ws + step) - _statevector_values(case, xs, ws - step)
        grad_w[j] = diff.sum() / (2 * FD_STEP)
    return values, grad_x, grad_w


@pytest.fixture(scope="module", name="cases")
def _cases():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's sparse expm in PauliEvolutionGate.to_matrix
        out = {seed: (random_case(seed),) for seed in SEEDS}
        return {seed: (c[0], _reference(c[0])) for seed, c in out.items()}


def test_the_cases_cover_every_gate_kind(cases) -> None:
    used = {inst.operation.name for case, _ in cases.values() for inst in case[0].data}
    used = {"pauli_evolution" if name == "PauliEvolution" else name for name in used}
    assert set(KINDS) <= used, sorted(set(KINDS) - used)


def _gradients(module, xs: torch.Tensor, create_graph: bool = False):
    x = xs.clone().requires_grad_(True)
    out = module(x)
    gx, gw = torch.autograd.grad(out.sum(), [x, module.weight], create_graph=create_graph)
    return out, gx, gw


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("seed", SEEDS)
def test_values_and_derivatives_on_every_route(route: str, seed: int, cases) -> None:
    case, (values, grad_x, grad_w) = cases[seed]
    qc, xp, wp, obs, xs, ws = case
    w0 = torch.as_tensor(ws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = connect(
            qc, xp, wp, obs, dtype=torch.float64, initial_weights=w0, **ROUTES[route]
        )  # fmt: skip
    if route == "network":
        assert not module.plan.contractions
    if route.startswith("statevector"):
        assert module.plan.statevectors and not module.plan.contractions
        assert all(sv.adjoint == route.endswith("adjoint") for sv in module.plan.statevectors)
    x = torch.as_tensor(xs)
    out, gx, gw = _gradients(module, x, create_graph=True)
    np.testing.assert_allclose(out.detach().numpy(), values, atol=1e-10)
    np.testing.assert_allclose(gx.detach().numpy(), grad_x, atol=1e-6)
    np.testing.assert_allclose(gw.detach().numpy(), grad_w, atol=1e-6)
    # second derivatives: H v by a double backward against differences of the gradient
    v = torch.as_tensor(np.random.default_rng(seed + 100).normal(size=N_W))
    (hv,) = torch.autograd.grad(gw @ v, module.weight)
    grads = []
    for sign in (1.0, -1.0):
        with torch.no_grad():
            module.weight.copy_(w0 + sign * 1e-5 * v)
        grads.append(_gradients(module, x)[2])
    np.testing.assert_allclose(hv.numpy(), ((grads[0] - grads[1]) / 2e-5).numpy(), atol=1e-6)


def test_the_adjoint_cases_run_groups_by_adjoint_differentiation(cases) -> None:
    """The adjoint route is exercised: most cases simulate state vectors before a cut."""
    runs = 0
    for case, _ in cases.values():
        qc, xp, wp, obs = case[:4]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = connect(qc, xp, wp, obs, **ROUTES["adjoint"])
        runs += bool(module.adjoint)
    assert runs >= len(SEEDS) // 2
