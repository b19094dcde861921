"""Correlated (multi-qubit) readout errors in the exact noisy engine: the joint-outcome model
against Aer's density matrix of the measured state, Aer's own behaviour, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError, amplitude_damping_error, depolarizing_error

from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum.noisy import NoisyEngine

GROUP = (2, 0)  # Aer's order: qubit 2 is the least significant bit of the group's outcome


def _stochastic(rng: np.random.Generator, k: int) -> np.ndarray:
    """A random readout matrix (2**k, 2**k), rows P(read m | true p), mostly diagonal."""
    a = rng.uniform(0, 0.08, (2**k, 2**k)) + np.eye(2**k)
    return a / a.sum(axis=1, keepdims=True)


def _circuit():
    x = ParameterVector("x", 3)
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.ry(x[q], q)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.rx(0.7, 0)
    qc.ry(-0.4, 2)
    return qc, x


def _noise(rng: np.random.Generator) -> tuple[NoiseModel, np.ndarray, np.ndarray]:
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    nm.add_all_qubit_quantum_error(amplitude_damping_error(0.1), ["ry"])
    group, single = _stochastic(rng, 2), _stochastic(rng, 1)
    nm.add_readout_error(ReadoutError(group), list(GROUP), warnings=False)
    nm.add_readout_error(ReadoutError(single), [1], warnings=False)
    return nm, group, single


def measured_means(qc, x, labels, nm, group, single) -> np.ndarray:
    """Reference: Aer's density-matrix probabilities of the true outcomes in each term's basis,
    pushed through the readout matrices outcome by outcome, then the eigenvalue product."""
    gates_only = NoiseModel()
    for name, error in nm._default_quantum_errors.items():
        gates_only.add_all_qubit_quantum_error(error, name, warnings=False)
    sim = AerSimulator(method="density_matrix", noise_model=gates_only)
    out = np.zeros((len(x), len(labels)))
    for b, row in enumerate(x):
        for k, label in enumerate(labels):
            letters = {q: label[2 - q] for q in range(3) if label[2 - q] != "I"}
            circuit = qc.assign_parameters(row)
            for q, letter in letters.items():  # basis change; qubits not measured stay in Z
                if letter == "Y":
                    circuit.sdg(q)
                if letter in "XY":
                    circuit.h(q)
            circuit.save_probabilities()
            probs = np.asarray(sim.run(circuit).result().data(0)["probabilities"])  # (8,)
            mean = 0.0
            for p in range(8):
                bit = [(p >> q) & 1 for q in range(3)]
                pg = bit[GROUP[0]] + 2 * bit[GROUP[1]]
                for m in range(8):
                    read = [(m >> q) & 1 for q in range(3)]
                    mg = read[GROUP[0]] + 2 * read[GROUP[1]]
                    chance = probs[p] * group[pg, mg] * single[bit[1], read[1]]
                    mean += chance * (-1) ** sum(read[q] for q in letters)
            out[b, k] = mean
    return out


def test_correlated_readout_matches_aer_density_matrix() -> None:
    rng = np.random.default_rng(7)
    qc, x_p = _circuit()
    nm, group, single = _noise(rng)
    # terms on the group's qubits, on one of them (the other is read in Z), on neither, mixed
    labels = ["ZIZ", "ZII", "IIX", "XIY", "IZI", "YZI", "ZXZ", "IXI"]
    observables = [SparsePauliOp(lbl) for lbl in labels]
    observables.append(SparsePauliOp(["ZIZ", "IZI", "XIY"], [0.5, -0.3, 0.2]))
    module = NoisyEngine(qc, x_p, [], observables, noise=nm, dtype=torch.float64)
    x = rng.uniform(-np.pi, np.pi, (3, 3))
    got = module(torch.tensor(x)).detach().numpy()
    want = measured_means(qc, x, labels, nm, group, single)
    want = np.concatenate([want, want[:, [0, 4, 3]] @ np.array([[0.5], [-0.3], [0.2]])], axis=1)
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
    # and it is not the product of the group's marginals: the correlation is really there
    marginal = NoiseModel()
    for name, error in nm._default_quantum_errors.items():
        marginal.add_all_qubit_quantum_error(error, name, warnings=False)
    g = group.reshape(2, 2, 2, 2)  # [p_hi, p_lo, m_hi, m_lo], lo = qubit 2
    for q, m in ((2, g.sum(axis=2).mean(axis=0)), (0, g.sum(axis=3).mean(axis=1))):
        marginal.add_readout_error(ReadoutError(m / m.sum(axis=1, keepdims=True)), [q])
    marginal.add_readout_error(ReadoutError(single), [1], warnings=False)
    apart = NoisyEngine(qc, x_p, [], observables, noise=marginal, dtype=torch.float64)
    assert np.abs(apart(torch.tensor(x)).detach().numpy() - want).max() > 1e-3


def test_gradients_flow_through_the_correlated_fold() -> None:
    rng = np.random.default_rng(3)
    qc, x_p = _circuit()
    nm, _, _ = _noise(rng)
    module = NoisyEngine(qc, x_p, [], [SparsePauliOp("ZIX")], noise=nm, dtype=torch.float64)
    x = torch.tensor(rng.uniform(-1, 1, (2, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,))


def test_aer_applies_no_correlated_readout_error_to_qiskit_measures() -> None:
    """Why the engine departs from Aer here (noise_table.py): Qiskit's measure is one qubit per
    instruction, and Aer applies a 2-qubit readout error only to a 2-qubit measure."""
    flip = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=float)
    nm = NoiseModel()
    nm.add_readout_error(ReadoutError(flip), [0, 1], warnings=False)  # always flips qubit 0
    qc = QuantumCircuit(2, 2)
    qc.measure([0, 1], [0, 1])
    counts = AerSimulator(noise_model=nm).run(qc, shots=100, seed_simulator=1).result()
    assert counts.get_counts() == {"00": 100}  # not flipped: the error was not applied
    module = NoisyEngine(QuantumCircuit(2), [], [], [SparsePauliOp("IZ")], noise=nm)
    assert module(torch.zeros(1, 0)).item() == pytest.approx(-1.0)  # the engine flips it


def test_overlapping_readout_errors_are_refused_naming_the_qubits() -> None:
    qc, x_p = _circuit()
    rng = np.random.default_rng(0)
    nm = NoiseModel()
    nm.add_readout_error(ReadoutError(_stochastic(rng, 2)), [0, 1], warnings=False)
    nm.add_readout_error(ReadoutError(_stochastic(rng, 2)), [1, 2], warnings=False)
    with pytest.raises(
        CircuitError, match=r"qubits \[1, 2\] overlaps .* qubits \[0, 1\] at qubit 1"
    ):
        NoisyEngine(qc, x_p, [], [SparsePauliOp("ZZZ")], noise=nm)
    nm = NoiseModel()
    nm.add_readout_error(ReadoutError(_stochastic(rng, 2)), [0, 2], warnings=False)
    nm.add_readout_error(ReadoutError(_stochastic(rng, 1)), [2], warnings=False)
    with pytest.raises(CircuitError, match=r"one-qubit readout error on qubit 2"):
        NoisyEngine(qc, x_p, [], [SparsePauliOp("ZZZ")], noise=nm)
