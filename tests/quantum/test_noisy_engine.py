"""The exact noisy engine against Aer's density-matrix simulator, readout, shots and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    ReadoutError,
    amplitude_damping_error,
    depolarizing_error,
    pauli_error,
    phase_amplitude_damping_error,
    thermal_relaxation_error,
)

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.quantum import connect, connect_block
from hq_qiskit.quantum.fast import FastEngine
from hq_qiskit.quantum.noisy import NoisyEngine

# Aer's density-matrix method has no crx/cry/crz; every other gate of the random circuits runs
AER_DM_SKIP = ("crx", "cry", "crz", "cs", "csx", "cu")  # unknown to, or mis-bound by, Aer's method
# the ideal engine's suite also draws these; Aer has no "iswap" instruction, and the random noise
# models here attach 1- and 2-qubit errors, which Aer refuses on 3-qubit gates
NOT_NOISY = ("iswap", "ccx", "cswap", "ccz")


def random_error(rng: np.random.Generator, n_qubits: int):
    """A random 1- or 2-qubit QuantumError of the kinds a Qiskit user writes."""
    if n_qubits == 2:
        kind = rng.integers(3)
        if kind == 0:
            return depolarizing_error(float(rng.uniform(0.01, 0.2)), 2)
        if kind == 1:
            labels = ["XX", "ZI", "IY", "YZ"]
            probs = rng.uniform(0.01, 0.05, len(labels))
            return pauli_error([*zip(labels, probs, strict=True), ("II", 1 - probs.sum())])
        return random_error(rng, 1).tensor(random_error(rng, 1))
    kind = rng.integers(5)
    if kind == 0:
        return depolarizing_error(float(rng.uniform(0.01, 0.2)), 1)
    if kind == 1:
        t1 = float(rng.uniform(20, 100))
        t2 = float(rng.uniform(5, 2 * t1))
        return thermal_relaxation_error(t1, t2, float(rng.uniform(1, 10)))
    if kind == 2:
        px, py, pz = rng.uniform(0.0, 0.1, 3)
        return pauli_error([("X", px), ("Y", py), ("Z", pz), ("I", 1 - px - py - pz)])
    if kind == 3:
        return amplitude_damping_error(float(rng.uniform(0.02, 0.3)))
    return phase_amplitude_damping_error(*rng.uniform(0.02, 0.2, 2)).compose(
        depolarizing_error(0.05, 1)
    )


def random_noise_model(circuit: QuantumCircuit, seed: int) -> NoiseModel:
    """All-qubit errors on most gate names, plus per-qubit overrides on ordered qubit tuples."""
    rng = np.random.default_rng(seed)
    nm = NoiseModel()
    used: dict[str, set[tuple[int, ...]]] = {}
    for inst in circuit.data:
        if inst.operation.name != "barrier":
            qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
            used.setdefault(inst.operation.name, set()).add(qubits)
    for name, places in sorted(used.items()):
        arity = len(next(iter(places)))
        if rng.random() < 0.8:
            nm.add_all_qubit_quantum_error(random_error(rng, arity), name, warnings=False)
        for qubits in sorted(places):
            if rng.random() < 0.3:
                nm.add_quantum_error(random_error(rng, arity), name, qubits, warnings=False)
    return nm


def aer_density_matrix(qc, inputs, weights, observables, x, w, noise_model) -> np.ndarray:
    """Exact noisy values from AerSimulator(method="density_matrix"), bound circuits."""
    sim = AerSimulator(method="density_matrix", noise_model=noise_model)
    circuits = []
    for row in np.atleast_2d(x):
        binding = dict(zip(inputs, row, strict=True)) | dict(zip(weights, w, strict=True))
        bound = qc.assign_parameters(binding, strict=False)
        for k, obs in enumerate(observables):
            bound.save_expectation_value(obs, list(range(qc.num_qubits)), label=f"o{k}")
        circuits.append(bound)
    result = sim.run(circuits).result()
    return np.array(
        [[result.data(i)[f"o{k}"] for k in range(len(observables))] for i in range(len(circuits))]
    ).real


def _without(make_random_circuit, monkeypatch, skip):
    namespace = make_random_circuit.__globals__
    gates = {k: v for k, v in namespace["GATES"].items() if k not in skip}
    monkeypatch.setitem(namespace, "GATES", gates)
    return make_random_circuit


@pytest.fixture(name="dm_circuit")
def _dm_circuit(make_random_circuit, monkeypatch):
    """Random circuits restricted to the gates Aer's density-matrix method runs with noise."""
    return _without(make_random_circuit, monkeypatch, AER_DM_SKIP + NOT_NOISY)


@pytest.fixture(name="noisy_circuit")
def _noisy_circuit(make_random_circuit, monkeypatch):
    """Random circuits whose gates can all carry the random noise models' errors."""
    return _without(make_random_circuit, monkeypatch, NOT_NOISY)


@pytest.mark.parametrize(
    "n_qubits, n_gates, seed", [(2, 20, 0), (3, 30, 1), (4, 40, 2), (5, 40, 3), (8, 60, 4)]
)
def test_random_noise_matches_aer_density_matrix(dm_circuit, n_qubits, n_gates, seed) -> None:
    qc, x_p, w_p, observables = dm_circuit(n_qubits, n_gates, seed)
    nm = random_noise_model(qc, seed)
    rng = np.random.default_rng(seed)
    x, w = rng.uniform(-1, 1, (3, len(x_p))), rng.uniform(-np.pi, np.pi, len(w_p))
    module = NoisyEngine(
        qc, x_p, w_p, observables, noise=nm, dtype=torch.float64, initial_weights=torch.tensor(w)
    )
    got = module(torch.tensor(x)).detach().numpy()
    want = aer_density_matrix(qc, x_p, w_p, observables, x, w, nm)
    ideal = aer_density_matrix(qc, x_p, w_p, observables, x, w, None)
    assert np.abs(want - ideal).max() > 1e-3  # the noise is visible
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


def test_gradients_match_central_differences_of_aer(dm_circuit) -> None:
    qc, x_p, w_p, observables = dm_circuit(3, 25, 5)
    nm = random_noise_model(qc, 5)
    rng = np.random.default_rng(5)
    x, w = rng.uniform(-1, 1, (1, len(x_p))), rng.uniform(-np.pi, np.pi, len(w_p))
    module = NoisyEngine(
        qc, x_p, w_p, observables, noise=nm, dtype=torch.float64, initial_weights=torch.tensor(w)
    )
    xt = torch.tensor(x, requires_grad=True)
    module(xt).sum().backward()
    h = 1e-4

    def f(xv, wv):
        return aer_density_matrix(qc, x_p, w_p, observables, xv, wv, nm).sum()

    for k in range(len(w_p)):
        e = np.eye(len(w_p))[k] * h
        want = (f(x, w + e) - f(x, w - e)) / (2 * h)
        assert module.weight.grad[k].item() == pytest.approx(want, abs=1e-6)
    for j in range(len(x_p)):
        e = np.eye(len(x_p))[j] * h
        want = (f(x + e, w) - f(x - e, w)) / (2 * h)
        assert xt.grad[0, j].item() == pytest.approx(want, abs=1e-6)


def test_gradcheck_inputs_and_weights(noisy_circuit) -> None:
    qc, x_p, w_p, observables = noisy_circuit(4, 30, 6)  # crx/cry/crz included here
    nm = random_noise_model(qc, 6)
    nm.add_readout_error(ReadoutError([[0.9, 0.1], [0.25, 0.75]]), [1])
    module = NoisyEngine(qc, x_p, w_p, observables, noise=nm, dtype=torch.float64)
    x = torch.rand(2, len(x_p), dtype=torch.float64, requires_grad=True)
    w = torch.rand(len(w_p), dtype=torch.float64, requires_grad=True)

    def f(x, w):
        return torch.func.functional_call(module, {"weight": w}, (x,))

    assert torch.autograd.gradcheck(f, (x, w))


def test_noiseless_model_equals_fast_engine() -> None:
    block = enrichment_qcnn()
    w = torch.rand(block.n_weights, dtype=torch.float64)
    x = torch.rand(3, block.n_inputs, dtype=torch.float64)
    ideal = connect_block(block, dtype=torch.float64, initial_weights=w)
    assert isinstance(ideal, FastEngine)
    noisy = connect_block(block, dtype=torch.float64, initial_weights=w, noise=NoiseModel())
    assert isinstance(noisy, NoisyEngine)
    torch.testing.assert_close(noisy(x), ideal(x), atol=1e-10, rtol=0)


def test_enrichment_block_noise_damps_and_differs_per_sample() -> None:
    """Depolarising noise on the 16-qubit block: values shrink on average, not by one factor.

    (Mid-circuit depolarising noise on non-Clifford rotations can also raise a single |value|.)
    """
    block = enrichment_qcnn()
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.02, 1), ["rx", "ry", "rz"])
    nm.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    w = torch.rand(block.n_weights, dtype=torch.float64)
    x = torch.rand(4, block.n_inputs, dtype=torch.float64)
    ideal = connect_block(block, dtype=torch.float64, initial_weights=w)(x)
    noisy = connect_block(block, dtype=torch.float64, initial_weights=w, noise=nm)(x)
    assert noisy.abs().mean() < 0.9 * ideal.abs().mean()
    ratio = noisy / ideal
    big = ideal.abs() > 0.3
    assert ratio[big].max() - ratio[big].min() > 0.05  # not one fixed factor


# --------------------------------------------------------------------------- readout
def _two_qubit_circuit():
    x = ParameterVector("x", 2)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.rx(x[1], 1)
    qc.cx(0, 1)
    qc.ry(0.3, 1)
    return qc, x


def test_readout_is_the_analytic_affine_map() -> None:
    qc, x_p = _two_qubit_circuit()
    labels = ["IZ", "ZI", "ZZ", "XI", "YX"]
    observables = [SparsePauliOp(lbl) for lbl in labels]
    nm = NoiseModel()
    nm.add_all_qubit_readout_error(ReadoutError([[0.95, 0.05], [0.1, 0.9]]), warnings=False)
    nm.add_readout_error(ReadoutError([[0.8, 0.2], [0.03, 0.97]]), [1], warnings=False)
    module = NoisyEngine(qc, x_p, [], observables, noise=nm, dtype=torch.float64)
    x = np.array([[0.7, -1.2], [2.0, 0.4]])
    got = module(torch.tensor(x)).detach().numpy()
    factors = {0: (0.1 - 0.05, 1 - 0.05 - 0.1), 1: (0.03 - 0.2, 1 - 0.2 - 0.03)}  # (e1-e0, 1-e0-e1)
    for b, row in enumerate(x):
        state = Statevector(qc.assign_parameters(row))
        for k, label in enumerate(labels):
            # prod over measured qubits of (offset I + scale sigma), expanded into Pauli terms
            ops = SparsePauliOp("II")
            for q in (0, 1):
                letter = label[1 - q]
                if letter == "I":
                    continue
                offset, scale = factors[q]
                single = ["I", "I"]
                single[1 - q] = letter
                ops = ops.compose(
                    SparsePauliOp(["II", "".join(single)], [offset, scale])
                ).simplify()
            assert got[b, k] == pytest.approx(state.expectation_value(ops).real, abs=1e-12)


def test_readout_matches_aer_sampled_counts() -> None:
    """Measured Z-basis parities with Aer's readout error (many shots) vs the exact value."""
    qc, x_p = _two_qubit_circuit()
    nm = NoiseModel()
    nm.add_readout_error(ReadoutError([[0.93, 0.07], [0.12, 0.88]]), [0], warnings=False)
    nm.add_readout_error(ReadoutError([[0.8, 0.2], [0.05, 0.95]]), [1], warnings=False)
    observables = [SparsePauliOp("IZ"), SparsePauliOp("ZI"), SparsePauliOp("ZZ")]
    module = NoisyEngine(qc, x_p, [], observables, noise=nm, dtype=torch.float64)
    row = np.array([0.9, 2.1])
    got = module(torch.tensor(row[None])).detach().numpy()[0]
    shots = 200_000
    measured = qc.assign_parameters(row)
    measured.measure_all()
    counts = AerSimulator(noise_model=nm).run(measured, shots=shots, seed_simulator=3)
    counts = counts.result().get_counts()
    for k, mask in enumerate([(0,), (1,), (0, 1)]):
        mean = sum(c * (-1) ** sum(int(bits[1 - q]) for q in mask) for bits, c in counts.items())
        mean /= shots
        assert abs(mean - got[k]) < 4 * np.sqrt((1 - got[k] ** 2) / shots)


# ---------------------------------------------------------------------- clear errors
def test_unsupported_noise_raises_naming_it() -> None:
    qc, x_p = _two_qubit_circuit()
    obs = [SparsePauliOp("ZZ")]
    nm = NoiseModel()  # correlated readout is applied (test_noisy_readout.py), not overlaps
    nm.add_readout_error(ReadoutError(np.eye(4) * 0.9 + 0.025), [0, 1], warnings=False)
    nm.add_readout_error(ReadoutError([[0.9, 0.1], [0.1, 0.9]]), [1], warnings=False)
    with pytest.raises(CircuitError, match=r"correlated readout error on qubits \[0, 1\]"):
        NoisyEngine(qc, x_p, [], obs, noise=nm)
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.1, 1), "measure", warnings=False)
    with pytest.raises(CircuitError, match="quantum errors on 'measure'"):
        NoisyEngine(qc, x_p, [], obs, noise=nm)
    from qiskit_aer.noise.passes import RelaxationNoisePass

    nm = NoiseModel()
    nm._custom_noise_passes.append(RelaxationNoisePass([50e-6] * 2, [40e-6] * 2, dt=1e-9))
    with pytest.raises(CircuitError, match="custom noise pass RelaxationNoisePass"):
        NoisyEngine(qc, x_p, [], obs, noise=nm)


def test_noise_must_be_a_noise_model() -> None:
    qc, x_p = _two_qubit_circuit()
    with pytest.raises(ConfigError, match="device_noise_model"):
        NoisyEngine(qc, x_p, [], [SparsePauliOp("ZZ")], noise="aer-noisy-fez")


def test_memory_is_refused_before_allocating() -> None:
    block = enrichment_qcnn()
    module = connect_block(block, noise=NoiseModel())
    module.max_memory_gb = 2**20 / 1e9
    with pytest.raises(CircuitError, match="GB of density matrices"):
        module(torch.rand(64, block.n_inputs))


# ------------------------------------------------------------------------ shot noise
def _shots_module(shots: int, seed: int = 0):
    qc, x_p = _two_qubit_circuit()
    w = ParameterVector("w", 1)
    qc.rz(w[0], 1)
    qc.h(1)
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["cx"])
    observables = [SparsePauliOp("ZZ"), SparsePauliOp(["IZ", "XI"], [0.5, -0.25])]
    return connect(
        qc, x_p, w, observables, noise=nm, shots=shots, seed=seed, dtype=torch.float64,
        initial_weights=torch.tensor([0.4]),
    )  # fmt: skip


def test_shots_are_seeded_and_reproducible() -> None:
    x = torch.tensor([[0.3, -0.8], [1.1, 0.2]], dtype=torch.float64)
    a, b = _shots_module(100, seed=5), _shots_module(100, seed=5)
    first = a(x)
    torch.testing.assert_close(first, b(x), atol=0, rtol=0)
    assert not torch.equal(first, a(x))  # the generator advances
    assert not torch.equal(first, _shots_module(100, seed=6)(x))
    k = (first[:, 0] + 1) * 100 / 2  # ZZ is one term: its value is 2 k / shots - 1
    torch.testing.assert_close(k, k.round())


def test_shot_mean_converges_and_gradient_is_exact() -> None:
    exact = _shots_module(0)
    sampled = _shots_module(50, seed=1)
    x = torch.tensor([[0.3, -0.8]], dtype=torch.float64).expand(4000, -1).clone()
    x.requires_grad_(True)
    v_exact = exact(x[:1].detach())[0]
    out = sampled(x)
    term = exact.term_values(x[:1].detach())[0]  # IZ, XI, ZZ values, exact
    se = torch.sqrt((1 - term**2) / 50 / 4000)
    assert abs(out[:, 0].mean() - v_exact[0]) < 4 * se.max()
    assert abs(out[:, 1].mean() - v_exact[1]) < 4 * se.max()
    assert out[:, 0].var().item() == pytest.approx((1 - v_exact[0] ** 2).item() / 50, rel=0.1)
    out.sum().backward()
    xe = x.detach().clone().requires_grad_(True)
    exact(xe).sum().backward()
    torch.testing.assert_close(x.grad, xe.grad)
    torch.testing.assert_close(sampled.weight.grad, exact.weight.grad * 1.0)


def test_qiskit_engine_takes_the_noise_model_to_aer() -> None:
    """The stock path runs Aer's EstimatorV2 with the model: agrees within its shot noise."""
    qc, x_p = _two_qubit_circuit()
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.3, 2), ["cx"])
    nm.add_all_qubit_quantum_error(amplitude_damping_error(0.3), ["ry"])
    observables = [SparsePauliOp("ZZ"), SparsePauliOp("XI")]
    x = torch.tensor([[0.7, -1.2], [2.0, 0.4]], dtype=torch.float64)
    kwargs = {"noise": nm, "dtype": torch.float64, "initial_weights": torch.zeros(0)}
    stock = connect(qc, x_p, [], observables, engine="qiskit", shots=4096, seed=7, **kwargs)
    exact = connect(qc, x_p, [], observables, **kwargs)(x)
    ideal = connect(qc, x_p, [], observables, dtype=torch.float64)(x)
    assert (exact - ideal).abs().max() > 0.1
    assert (stock(x) - exact).abs().max() < 5 / 64
