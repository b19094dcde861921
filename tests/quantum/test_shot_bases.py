"""Shots per measurement basis (issue 24, item 4): terms measured together share their shots.

Before, each Pauli term's value was drawn on its own, so Z0, Z1 and Z0Z1 read from one state
were uncorrelated whatever the state; a device reads them from the same bitstrings. Now each
qubit-wise commuting group is drawn from the exact joint distribution of its measured bits.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

from hq_qiskit.quantum import connect
from hq_qiskit.quantum.fast import FastEngine
from hq_qiskit.quantum.fast.program import read_circuit
from hq_qiskit.quantum.fast.shots import plan_measurements, sample_terms

ANGLES = [0.9, -1.3, 0.6]
LABELS = ["IIZ", "IZI", "IZZ", "XXX", "XXI"]  # two bases, one way: Z on 0, 1 and X on all


def _circuit() -> tuple[QuantumCircuit, list, list]:
    x, w = ParameterVector("x", 3), ParameterVector("w", 1)
    qc = QuantumCircuit(3)
    qc.ry(x[0], 0)
    qc.cx(0, 1)
    qc.ry(x[1], 1)
    qc.ry(x[2], 0)
    qc.rx(w[0], 2)
    qc.cx(1, 2)
    qc.h(2)
    return qc, list(x), list(w)


def _module(shots: int, route: str = "auto", seed: int = 0) -> FastEngine:
    qc, x, w = _circuit()
    observables = [SparsePauliOp(label) for label in LABELS]
    return FastEngine(
        qc, x, w, observables, shots=shots, seed=seed, route=route, dtype=torch.float64,
        initial_weights=torch.tensor([0.7]),
    )  # fmt: skip


def _exact_moments() -> tuple[np.ndarray, np.ndarray]:
    """Means (3,) and per-shot covariance (3, 3) of Z0, Z1, Z0Z1 from Statevector."""
    qc, x, w = _circuit()
    bound = qc.assign_parameters(dict(zip(x + w, ANGLES + [0.7], strict=True)))
    probs = Statevector(bound).probabilities()  # index b: bit q is qubit q
    b = np.arange(8)
    z0, z1 = 1 - 2 * (b & 1), 1 - 2 * (b >> 1 & 1)
    f = np.stack([z0, z1, z0 * z1])  # (3, 8) each outcome's eigenvalues
    mean = f @ probs
    return mean, (f * probs) @ f.T - np.outer(mean, mean)


def _check_covariance(draws: torch.Tensor, shots: int) -> None:
    """The sample means and covariance of draws (M, 3) of Z0, Z1, Z0Z1 at ``shots`` against
    the exact ones: means within 5 standard errors, correlations within 0.06 (about 4 sigma)."""
    mean, cov = _exact_moments()
    d = draws.double().numpy()
    se = np.sqrt(np.diag(cov) / shots / len(d))
    assert np.all(np.abs(d.mean(0) - mean) < 5 * se)
    got = np.corrcoef(d.T)
    want = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.abs(got - want).max() < 0.06, (got, want)


@pytest.mark.parametrize("route", ["cut", "network"])
def test_terms_of_one_basis_have_the_covariance_of_the_state(route: str) -> None:
    mean, cov = _exact_moments()
    want = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.all(np.abs(want[np.triu_indices(3, 1)]) > 0.3)  # a state whose terms correlate
    shots = 20
    module = _module(shots, route)
    x = torch.tensor([ANGLES], dtype=torch.float64).expand(4000, -1)
    draws = module(x).detach()[:, :3]
    _check_covariance(draws, shots)
    exact = _module(0, route)(x).detach()[:, :3]
    torch.testing.assert_close(exact[0], torch.as_tensor(mean))
    # the old sampler drew each term on its own: correlation 0, the check fails
    old = sample_terms(exact, shots, torch.Generator().manual_seed(0))
    with pytest.raises(AssertionError):
        _check_covariance(old, shots)


def test_one_shot_reads_every_term_of_a_basis_from_one_bitstring() -> None:
    out = _module(1, seed=3)(torch.rand(500, 3, dtype=torch.float64)).detach()
    assert set(out.unique().tolist()) == {-1.0, 1.0}
    torch.testing.assert_close(out[:, 2], out[:, 0] * out[:, 1])  # Z0Z1 = Z0 * Z1 per shot
    plan = _module(1).measurements
    assert len(plan.bases) == 2 and not plan.independent


def test_noisy_engine_draws_bases_with_readout_and_keeps_exact_gradients() -> None:
    qc, x, w = _circuit()
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    nm.add_all_qubit_readout_error(ReadoutError([[0.9, 0.1], [0.2, 0.8]]))
    observables = [SparsePauliOp(label) for label in LABELS]
    kwargs = {"noise": nm, "dtype": torch.float64, "initial_weights": torch.tensor([0.7])}
    one = connect(qc, x, w, observables, shots=1, seed=4, **kwargs)
    out = one(torch.rand(500, 3, dtype=torch.float64)).detach()
    torch.testing.assert_close(out[:, 2], out[:, 0] * out[:, 1])  # noisy bits, one bitstring
    exact = connect(qc, x, w, observables, **kwargs)
    sampled = connect(qc, x, w, observables, shots=50, seed=1, **kwargs)
    xs = torch.tensor([ANGLES], dtype=torch.float64).expand(4000, -1).clone()
    xs.requires_grad_(True)
    got = sampled(xs)
    v = exact(xs[:1].detach())[0]
    se = torch.sqrt((1 - v**2) / 50 / 4000)
    assert torch.all((got.mean(0) - v).abs() < 5 * se)
    assert sampled.term_values(xs[:1].detach()).shape == (1, len(LABELS))  # moments left out
    got.sum().backward()
    xe = xs.detach().clone().requires_grad_(True)
    exact(xe).sum().backward()
    torch.testing.assert_close(xs.grad, xe.grad)
    torch.testing.assert_close(sampled.weight.grad, exact.weight.grad)


def test_bases_wider_than_the_limit_draw_their_terms_on_their_own() -> None:
    qc, x, w = _circuit()
    terms = [SparsePauliOp(label) for label in LABELS + ["IIZ"]]  # IIZ twice: one estimate
    program = read_circuit(qc, x, w, terms)
    wide, plan = plan_measurements(program, joint_qubits=1)
    assert wide.terms == program.terms and not plan.bases
    assert sorted(map(sorted, plan.independent)) == [[0, 5], [1], [2], [3], [4]]
    joint, plan = plan_measurements(program)
    added = joint.terms[len(program.terms) :]  # the moments of X on 0, 1, 2 not yet terms
    assert sorted((t.support, t.letters, t.coeff) for t in added) == [
        ((0,), "X", 0.0), ((0, 1), "XX", 0.0), ((0, 2), "XX", 0.0), ((1,), "X", 0.0),
        ((2,), "X", 0.0),
    ]  # fmt: skip
    assert {t for b in plan.bases for t, _ in b.members} == set(range(6))


def test_connect_sets_the_widest_basis_drawn_jointly() -> None:
    qc, x, w = _circuit()
    observables = [SparsePauliOp(label) for label in LABELS]
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    for noise in (None, nm):
        module = connect(qc, x, w, observables, noise=noise, shots=4, shot_basis_qubits=2)
        plan = module.measurements
        assert [len(b.moments) for b in plan.bases] == [4]  # Z on 0, 1 jointly
        assert sorted(map(sorted, plan.independent)) == [[3], [4]]  # X on 0, 1, 2: on its own
        assert "1 bases drawn jointly" in module.describe()


@pytest.mark.parametrize("route", ["cut", "network"])
def test_ideal_gradients_with_shots_are_the_exact_ones(route: str) -> None:
    """Contractions of moments alone run without autograd (they feed only the draws); the
    measured terms' gradients stay the exact ones on both routes."""
    x = torch.rand(6, 3, dtype=torch.float64, requires_grad=True)
    sampled, exact = _module(64, route, seed=2), _module(0, route)
    assert len(sampled.program.terms) > len(exact.program.terms)  # moments were added
    weights = torch.arange(1.0, 6.0, dtype=torch.float64)
    (sampled(x) * weights).sum().backward()
    xe = x.detach().clone().requires_grad_(True)
    (exact(xe) * weights).sum().backward()
    torch.testing.assert_close(x.grad, xe.grad)
    torch.testing.assert_close(sampled.weight.grad, exact.weight.grad)
