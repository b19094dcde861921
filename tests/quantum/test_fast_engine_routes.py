"""Every route of the fast engine (cuts, tensor networks, the planner's choice) is exact.

Random circuits over every supported gate, multi-qubit Pauli sums, 2-16 qubits, against
``Statevector`` in float64 (<= 1e-10), with ``gradcheck`` through the tensor-network route.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.circuits.ring import ring_block
from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.quantum.fast import FastEngine


def statevector_values(qc, x_params, w_params, observables, x, w) -> np.ndarray:
    out = []
    for row in np.atleast_2d(x):
        binding = dict(zip(x_params, row, strict=True)) | dict(zip(w_params, w, strict=True))
        state = Statevector(qc.assign_parameters(binding, strict=False))
        out.append([state.expectation_value(o).real for o in observables])
    return np.array(out)


def ring(n: int) -> tuple[QuantumCircuit, ParameterVector, ParameterVector, list]:
    """RY/RZ encoding, CX ring, RY, RZZ ring, RY; <Z> and <X> on every qubit."""
    block = ring_block(n)
    return block.circuit, block.inputs, block.weights, list(block.observables)


def engine_and_reference(qc, x_params, w_params, observables, seed, route, n=2):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, len(x_params)))
    w = rng.uniform(-np.pi, np.pi, len(w_params))
    engine = FastEngine(qc, x_params, w_params, observables, dtype=torch.float64,
                        initial_weights=torch.tensor(w), route=route)  # fmt: skip
    want = statevector_values(qc, x_params, w_params, observables, x, w)
    return engine, torch.tensor(x), want


@pytest.mark.parametrize("route", ["cut", "network", "auto"])
@pytest.mark.parametrize("n_qubits", [2, 3, 5, 8, 11, 16])
def test_random_circuits_every_route(route: str, n_qubits: int, make_random_circuit) -> None:
    seed = 100 * n_qubits + len(route)
    n_gates = 5 * n_qubits if n_qubits < 16 else 48
    qc, xp, wp, obs = make_random_circuit(n_qubits, n_gates, seed, max_weight=4)
    engine, x, want = engine_and_reference(qc, xp, wp, obs, seed, route)
    got = engine(x).detach().numpy()
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
    if route == "network":
        assert not engine.plan.contractions and engine.plan.networks
    if route == "cut":
        assert not engine.plan.networks


@pytest.mark.parametrize("seed", [1, 2])
def test_network_route_gradcheck(seed: int, make_random_circuit) -> None:
    qc, xp, wp, obs = make_random_circuit(5, 30, seed, max_weight=3)
    engine, x, _ = engine_and_reference(qc, xp, wp, obs, seed, "network")
    xt = x.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda inp: engine(inp), (xt,), atol=1e-8)
    assert torch.autograd.gradcheck(
        lambda weights: torch.func.functional_call(engine, {"weight": weights}, (x,)),
        (engine.weight.detach().clone().requires_grad_(True),),
        atol=1e-8,
    )


def test_shared_cone_network_reads_several_supports_exactly() -> None:
    """Terms on different supports with one light cone come from one network (identity
    factors where a term does not act): values to 1e-10 and gradcheck through it."""
    qc, x, w, obs = ring(6)
    obs.append(SparsePauliOp.from_sparse_list([("ZY", [2, 3], 0.7), ("X", [4], -0.3)], 6))
    engine, xt, want = engine_and_reference(qc, x, w, obs, seed=6, route="network")
    merged = [n for n in engine.plan.networks if len(n.support) > 1]
    assert merged and len(engine.plan.networks) < 7
    assert len({engine.program.terms[t].support for t in merged[0].terms}) > 1
    np.testing.assert_allclose(engine(xt).detach().numpy(), want, atol=1e-10, rtol=0)
    xt.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda inp: engine(inp), (xt,), atol=1e-8)
    assert torch.autograd.gradcheck(
        lambda weights: torch.func.functional_call(engine, {"weight": weights}, (xt.detach(),)),
        (engine.weight.detach().clone().requires_grad_(True),),
        atol=1e-8,
    )


def test_planner_takes_networks_for_rings_and_cuts_for_the_qcnn() -> None:
    qc, x, w, obs = ring(16)  # every cone covers the register: 2^16 states at any cut
    engine, xt, want = engine_and_reference(qc, x, w, obs, seed=4, route="auto", n=2)
    assert not engine.plan.contractions
    # supports whose light cones hold the same groups are read from one network
    supports = [q for n in engine.plan.networks for q in n.support]
    assert sorted(supports) == list(range(16)) and len(engine.plan.networks) < 16
    assert any(len(n.support) > 1 for n in engine.plan.networks)
    np.testing.assert_allclose(engine(xt).detach().numpy(), want, atol=1e-10, rtol=0)
    assert "tensor networks" in engine.describe()
    block = enrichment_qcnn()
    qcnn = FastEngine(block.circuit, block.inputs, block.weights, block.observables)
    assert not qcnn.plan.networks and len(qcnn.plan.contractions) == 4


def test_wide_pauli_strings_take_the_network_route() -> None:
    qc, x, w, _ = ring(12)
    wide = SparsePauliOp.from_sparse_list(
        [("Z" * 10, list(range(10)), 0.5), ("XY", [3, 11], -1.0)], num_qubits=12
    )
    engine, xt, want = engine_and_reference(qc, x, w, [wide], seed=2, route="auto")
    np.testing.assert_allclose(engine(xt).detach().numpy(), want, atol=1e-10, rtol=0)
    with pytest.raises(CircuitError, match="weight <= 8; use route='auto' or 'network'"):
        FastEngine(qc, x, w, [wide], route="cut")
    with pytest.raises(ConfigError, match="unknown route 'fastest'; choose one of auto, cut"):
        FastEngine(qc, x, w, [wide], route="fastest")


def test_network_without_inputs_and_any_batch_size() -> None:
    qc, x, w, obs = ring(6)
    bound = qc.assign_parameters(dict.fromkeys(x, 0.3))  # weights only: nothing is batched
    engine, _, want = engine_and_reference(bound, [], w, obs, seed=1, route="network", n=1)
    out = engine(torch.zeros(4, 0, dtype=torch.float64))
    assert out.shape == (4, 12)
    np.testing.assert_allclose(out.detach().numpy(), np.repeat(want, 4, 0), atol=1e-10)
    qc_engine, xt, want = engine_and_reference(qc, x, w, obs, seed=3, route="network", n=5)
    for rows in (slice(0, 1), slice(0, 5), slice(2, 4)):  # one path, any batch size
        got = qc_engine(xt[rows]).detach().numpy()
        np.testing.assert_allclose(got, want[rows], atol=1e-10, rtol=0)


def test_network_route_survives_copies_and_pickles() -> None:
    qc, x, w, obs = ring(6)
    engine, xt, want = engine_and_reference(qc, x, w, obs, seed=8, route="network")
    engine(xt)  # builds the contraction expressions
    for twin in (copy.deepcopy(engine), pickle.loads(pickle.dumps(engine))):
        np.testing.assert_allclose(twin(xt).detach().numpy(), want, atol=1e-10, rtol=0)
        assert twin.float()(xt.float()).dtype == torch.float32
