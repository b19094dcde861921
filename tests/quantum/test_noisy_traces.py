"""Backward (Heisenberg) block reads in the noisy engine (issue 24): exact, and taken at B=64.

``hq_qiskit/quantum/noisy/traces.py`` reads a block's reduced state at a cut as a fixed map
(built backward through the block's weight-only channels) applied to the states of its light
cone after the last batched channel, where that is cheaper for the batch than evolving B
block density matrices; the cones then meet their parts one factor at a time
(``density_ops.product_values``) instead of as one Kronecker product. Both change the order of
floating-point operations only: values and input/weight gradients (float64) must equal the
all-forward engine (``back_traces=False``) to 1e-10, on random circuits whose batched gates sit
between weight-only ones and on the project's QCNN, and Aer's density matrix must agree.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from qiskit_aer.noise import NoiseModel, ReadoutError

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.quantum.noisy.density_ops import kron_state, product_values
from hq_qiskit.quantum.noisy.engine import NoisyEngine
from tests.quantum.test_engine_properties import SEEDS, random_case
from tests.quantum.test_noisy_engine import aer_density_matrix
from tests.quantum.test_noisy_fusion import _values_and_grads, device_like_noise

TOL = 1e-10
BATCH = 64  # the batch the engine plans for: backward reads are taken here


def _both(circuit, inputs, weights, observables, w, noise) -> tuple[NoisyEngine, NoisyEngine]:
    common = {"noise": noise, "dtype": torch.float64, "initial_weights": torch.as_tensor(w)}
    new = NoisyEngine(circuit, inputs, weights, observables, **common)
    old = NoisyEngine(circuit, inputs, weights, observables, back_traces=False, **common)
    return new, old


def _backward_reads(module: NoisyEngine, batch: int) -> int:
    return sum(p.trace is not None for row in module.trace_plan(batch).pieces for p in row)


def _assert_same(new: NoisyEngine, old: NoisyEngine, x: np.ndarray) -> None:
    for a, b in zip(_values_and_grads(new, x), _values_and_grads(old, x), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


def test_random_circuits_read_backward_exactly() -> None:
    """Random circuits (every gate kind, input-dependent gates between weight-only ones, Pauli
    sums with identity terms) under device-like noise: the same values and gradients."""
    taken = 0
    for seed in SEEDS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's sparse expm in PauliEvolutionGate
            qc, xp, wp, obs, _, ws = random_case(seed)
            new, old = _both(qc, xp, wp, obs, ws, device_like_noise(qc))
        assert _backward_reads(old, BATCH) == 0
        taken += _backward_reads(new, BATCH)
        x = np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(BATCH, len(xp)))
        _assert_same(new, old, x)
    assert taken > 0  # the route under test ran


@pytest.mark.parametrize("noisy", [False, True], ids=["zero-noise", "device-like"])
def test_qcnn_reads_rows_backward_exactly(noisy: bool) -> None:
    """A 3x4 QCNN at B=64: most row reads go backward, same values and gradients; at B=1 the
    cost model keeps every read forward (one state is cheaper than 4**|K| operators)."""
    block = enrichment_qcnn(rows=3, cols=4)
    rng = np.random.default_rng(11)
    w = rng.uniform(-np.pi, np.pi, size=len(block.weights))
    noise = device_like_noise(block.circuit) if noisy else NoiseModel()
    new, old = _both(block.circuit, block.inputs, block.weights, block.observables, w, noise)
    pieces = sum(len(row) for row in new.trace_plan(BATCH).pieces)
    assert _backward_reads(new, BATCH) > pieces / 2
    assert _backward_reads(new, 1) == 0
    _assert_same(new, old, rng.uniform(-1, 1, size=(BATCH, block.n_inputs)))


def test_backward_reads_with_correlated_readout_and_shots() -> None:
    """A correlated readout error on qubits of two rows widens some cones' reads to two qubits
    of one row (K of 2 qubits); with shots the moments' contractions run without gradients.
    Values (sampled from one seed) and gradients equal the all-forward engine's."""
    block = enrichment_qcnn(rows=3, cols=4)
    nm = device_like_noise(block.circuit)
    probs = [[0.9, 0.05, 0.03, 0.02], [0.04, 0.9, 0.02, 0.04], [0.05, 0.02, 0.88, 0.05],
             [0.01, 0.04, 0.05, 0.9]]  # fmt: skip
    nm.add_readout_error(ReadoutError(probs), [4, 9], warnings=False)
    rng = np.random.default_rng(2)
    w = rng.uniform(-3, 3, size=len(block.weights))
    x = rng.uniform(-1, 1, size=(BATCH, block.n_inputs))
    for shots in (None, 100):
        common = {"noise": nm, "dtype": torch.float64, "initial_weights": torch.as_tensor(w)}
        args = (block.circuit, block.inputs, block.weights, block.observables)
        new = NoisyEngine(*args, shots=shots, **common)
        old = NoisyEngine(*args, shots=shots, back_traces=False, **common)
        reads = [p for row in new.trace_plan(BATCH).pieces for p in row if p.trace is not None]
        assert any(len(p.keep) == 2 for p in reads)
        _assert_same(new, old, x)


def test_backward_reads_match_aer_density_matrix() -> None:
    """The 2x3 QCNN under device-like gate noise, read backward at B=64: Aer's density matrix
    (no readout: Aer's expectation values leave it out) on four of the samples."""
    block = enrichment_qcnn(rows=2, cols=3)
    nm = device_like_noise(block.circuit)
    gates_only = NoiseModel()
    for name, error in nm._default_quantum_errors.items():
        gates_only.add_all_qubit_quantum_error(error, name, warnings=False)
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, size=(BATCH, block.n_inputs))
    w = rng.uniform(-np.pi, np.pi, size=len(block.weights))
    module = NoisyEngine(block.circuit, block.inputs, block.weights, block.observables,
                         noise=gates_only, dtype=torch.float64,
                         initial_weights=torch.as_tensor(w))  # fmt: skip
    assert _backward_reads(module, BATCH) > 0
    got = module(torch.as_tensor(x)).detach().numpy()[:4]
    want = aer_density_matrix(
        block.circuit, block.inputs, block.weights, block.observables, x[:4], w, gates_only
    )
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_product_values_equals_the_kronecker_product() -> None:
    """Three factors (one without a batch axis) on qubits given out of order."""
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen, dtype=torch.complex128)

    parts = [(rand(5, 2, 2), [3]), (rand(1, 2, 2, 2, 2), [0, 4]), (rand(5, 2, 2), [1])]
    order = [4, 1, 3, 0]  # the row vectors' own qubit order
    a = rand(7, *([2] * 8))
    rho, rho_order = parts[0][0], list(parts[0][1])
    for part, qubits in parts[1:]:
        rho = kron_state(rho, len(rho_order), part, len(qubits))
        rho_order += qubits
    perm = [1 + rho_order.index(q) for q in order]
    rho = rho.permute(0, *perm, *[p + 4 for p in perm])  # now on ``order``
    want = rho.reshape(5, -1) @ a.reshape(7, -1).T
    got = product_values(a, order, parts)
    assert got.shape == (5, 7)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
