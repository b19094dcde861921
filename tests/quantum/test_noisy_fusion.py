"""Gate fusion in the noisy engine (issue 24, item 5): exact, channels kept in their places.

The noisy engine composes runs of gates, each followed by its own error channel, into one
superoperator per group (``hq_qiskit/quantum/noisy/fusion.py``). Fusion changes the order of
floating-point operations only, so with ``fuse_qubits`` 2, 3 or 4 the values and the gradients
for inputs and weights (float64) must equal those of the unfused engine (``fuse_qubits=0``)
to 1e-10, under a zero-noise model and under a device-like one (depolarising composed with
thermal relaxation on every gate, readout error on every qubit), on the project's blocks and on
the random circuits of ``test_engine_properties.py``; and Aer's density matrix must agree with
the fused engine on a small QCNN under that device-like noise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Kraus, SuperOp
from qiskit_aer.noise import (
    NoiseModel,
    QuantumError,
    ReadoutError,
    amplitude_damping_error,
    depolarizing_error,
    thermal_relaxation_error,
)

from hq_qiskit.circuits import BLOCKS, enrichment_qcnn
from hq_qiskit.quantum.noisy.engine import NoisyEngine
from hq_qiskit.quantum.noisy.fusion import FUSE_QUBITS
from tests.quantum.test_engine_properties import SEEDS, random_case
from tests.quantum.test_noisy_engine import aer_density_matrix

TOL = 1e-10


def device_like_noise(circuit: QuantumCircuit) -> NoiseModel:
    """Depolarising then thermal relaxation (T1 100 us, T2 80 us) on every gate, k-qubit for a
    k-qubit gate (35 ns per 1-qubit gate, 300 ns per 2-qubit, 500 ns otherwise); asymmetric
    readout error on every qubit."""
    nm = NoiseModel()
    arity: dict[str, int] = {}
    for inst in circuit.data:
        arity[inst.operation.name] = len(inst.qubits)
    for name, k in sorted(arity.items()):
        duration = {1: 35.0, 2: 300.0}.get(k, 500.0)
        relax = SuperOp(thermal_relaxation_error(100e3, 80e3, duration).to_quantumchannel())
        relax_k = relax
        for _ in range(k - 1):
            relax_k = relax_k.tensor(relax)
        p, d = {1: 1e-3, 2: 1e-2}.get(k, 2e-2), 2**k
        vec_eye = np.eye(d).reshape(-1)  # rho -> (1 - p) rho + p Tr(rho) I / d
        depolarising = SuperOp((1 - p) * np.eye(d * d) + p / d * np.outer(vec_eye, vec_eye))
        channel = depolarising.compose(relax_k)
        # one Kraus error: Aer's depolarizing_error on 4 qubits (256 Paulis) takes ~40 s to read
        nm.add_all_qubit_quantum_error(QuantumError(Kraus(channel)), name, warnings=False)
    nm.add_all_qubit_readout_error(ReadoutError([[0.98, 0.02], [0.03, 0.97]]), warnings=False)
    return nm


def _values_and_grads(module: NoisyEngine, x: np.ndarray) -> tuple[np.ndarray, ...]:
    xt = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
    y = module(xt)
    weights = torch.linspace(-1, 1, y.shape[1], dtype=torch.float64)  # every output counts
    (y * weights).sum().backward()
    return y.detach().numpy(), xt.grad.numpy(), module.weight.grad.numpy()


def _compare(circuit, inputs, weights, observables, x, w, noise) -> None:
    """Unfused against fused at 2, 3 and 4 qubits: values and gradients to TOL."""
    common = {"noise": noise, "dtype": torch.float64, "initial_weights": torch.as_tensor(w)}
    reference = NoisyEngine(circuit, inputs, weights, observables, fuse_qubits=0, **common)
    assert len(reference.fused) == len(reference.program.ops)
    want = _values_and_grads(reference, x)
    for fuse_qubits in (2, 3, 4):
        module = NoisyEngine(
            circuit, inputs, weights, observables, fuse_qubits=fuse_qubits, **common
        )
        got = _values_and_grads(module, x)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("noisy", [False, True], ids=["zero-noise", "device-like"])
def test_fusion_is_exact_on_random_circuits(seed: int, noisy: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's sparse expm in PauliEvolutionGate.to_matrix
        qc, xp, wp, obs, xs, ws = random_case(seed)
        noise = device_like_noise(qc) if noisy else NoiseModel()
        _compare(qc, xp, wp, obs, xs, ws, noise)


# expert_global's register-wide cones make the unfused float64 reference take ~3 min
@pytest.mark.parametrize("name", sorted(set(BLOCKS) - {"expert_global"}))
def test_fusion_is_exact_on_the_project_blocks(name: str) -> None:
    block = BLOCKS[name]()
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, size=(3, block.n_inputs))
    w = rng.uniform(-np.pi, np.pi, size=len(block.weights))
    args = (block.circuit, block.inputs, block.weights, block.observables, x, w)
    _compare(*args, device_like_noise(block.circuit))


def test_fusion_keeps_each_channel_after_its_own_gate() -> None:
    """Amplitude damping does not commute with RX or RY: RX-damp-RY-damp fused into one channel,
    CX-depolarise-RX(1)-damp into another, must equal Aer's density matrix."""
    from qiskit.circuit import Parameter
    from qiskit.quantum_info import SparsePauliOp

    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.rx(a, 0)
    qc.ry(b, 0)
    qc.cx(0, 1)
    qc.rx(a, 1)
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(amplitude_damping_error(0.3), ["rx", "ry"])
    nm.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["cx"])
    obs = [SparsePauliOp("ZI"), SparsePauliOp("IZ"), SparsePauliOp("XY")]
    module = NoisyEngine(qc, [a], [b], obs, noise=nm, dtype=torch.float64,
                         initial_weights=torch.tensor([0.7]))  # fmt: skip
    # the encoding run on qubit 0, then CX and RX(1) in one 2-qubit channel
    assert [g.members for g in module.fused] == [(0, 1), (2, 3)]
    x = np.array([[0.4], [1.9]])
    got = module(torch.as_tensor(x)).detach().numpy()
    unfused = NoisyEngine(qc, [a], [b], obs, noise=nm, dtype=torch.float64, fuse_qubits=0,
                          initial_weights=torch.tensor([0.7]))  # fmt: skip
    np.testing.assert_allclose(got, unfused(torch.as_tensor(x)).detach().numpy(), atol=1e-14)
    # Aer differs from both engines by up to 4.6e-9 here; a misplaced channel moves values ~0.1
    want = aer_density_matrix(qc, [a], [b], obs, x, [0.7], nm)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)


def test_fused_qcnn_matches_aer_density_matrix_under_device_like_noise() -> None:
    block = enrichment_qcnn(rows=2, cols=3)
    nm = device_like_noise(block.circuit)
    gates_only = NoiseModel()  # Aer's expectation values leave readout out
    for name, error in nm._default_quantum_errors.items():
        gates_only.add_all_qubit_quantum_error(error, name, warnings=False)
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(2, block.n_inputs))
    w = rng.uniform(-np.pi, np.pi, size=len(block.weights))
    module = NoisyEngine(block.circuit, block.inputs, block.weights, block.observables,
                         noise=gates_only, dtype=torch.float64,
                         initial_weights=torch.as_tensor(w))  # fmt: skip
    assert FUSE_QUBITS > 0 and len(module.fused) < len(module.program.ops) / 2
    got = module(torch.as_tensor(x)).detach().numpy()
    want = aer_density_matrix(
        block.circuit, block.inputs, block.weights, block.observables, x, w, gates_only
    )
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_heisenberg_cone_tail_equals_the_forward_evolution() -> None:
    """With fewer terms than samples, a cone's trailing weight-only channels act on the
    observables (``NoisyEngine._cone_values``); with one sample they act on the state. Both are
    exact: each sample of a batch of 8 equals its own batch of 1, values and gradients."""
    block = enrichment_qcnn(rows=2, cols=3)
    rng = np.random.default_rng(5)
    w = torch.as_tensor(rng.uniform(-np.pi, np.pi, size=len(block.weights)))
    module = NoisyEngine(block.circuit, block.inputs, block.weights, block.observables,
                         noise=device_like_noise(block.circuit), dtype=torch.float64,
                         initial_weights=w)  # fmt: skip
    batched = [any(module.program.ops[i].batched for i in g.members) for g in module.fused]
    tails = [c for c in module.plan.contractions if c.ops and not batched[c.ops[-1]]]
    assert any(len(c.terms) < 8 for c in tails)  # the backward route is taken at B=8
    x = rng.uniform(-1, 1, size=(8, block.n_inputs))
    values, grad_x, grad_w = _values_and_grads(module, x)
    module.weight.grad = None
    rows = [_values_and_grads(module, x[b : b + 1]) for b in range(8)]
    np.testing.assert_allclose(values, np.concatenate([r[0] for r in rows]), atol=1e-12)
    np.testing.assert_allclose(grad_x, np.concatenate([r[1] for r in rows]), atol=1e-12)
    np.testing.assert_allclose(grad_w, rows[-1][2], atol=1e-11)  # .grad summed the 8 runs
