"""The state-vector route (issue 24, item 6): exact, shared by a register's terms, and taken
by the planner only when its cost model says it is cheaper than the networks and fits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.circuits.brickwork import brickwork_block
from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum.fast import FastEngine, memory, statevector


def reference(qc, xp, wp, observables, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = []
    for row in x:
        binding = dict(zip(xp, row, strict=True)) | dict(zip(wp, w, strict=True))
        state = Statevector(qc.assign_parameters(binding, strict=False))
        out.append([state.expectation_value(o).real for o in observables])
    return np.array(out)


def build(qc, xp, wp, obs, w, **options) -> FastEngine:
    return FastEngine(qc, xp, wp, obs, dtype=torch.float64, initial_weights=torch.tensor(w),
                      **options)  # fmt: skip


def grads(engine: FastEngine, x: np.ndarray) -> tuple[np.ndarray, ...]:
    xt = torch.tensor(x, requires_grad=True)
    out = engine(xt)
    gx, gw = torch.autograd.grad((out * torch.arange(1.0, 1 + out.shape[1])).sum(),
                                 [xt, engine.weight])  # fmt: skip
    return out.detach().numpy(), gx.numpy(), gw.numpy()


@pytest.mark.parametrize("gradient", ["autograd", "adjoint"])
@pytest.mark.parametrize("n_qubits", [3, 6, 9])
def test_values_and_gradients_equal_statevector_and_the_network_route(
    n_qubits: int, gradient: str, make_random_circuit
) -> None:
    seed = 7 * n_qubits
    qc, xp, wp, obs = make_random_circuit(n_qubits, 5 * n_qubits, seed, max_weight=4)
    rng = np.random.default_rng(seed)
    x, w = rng.uniform(-1, 1, (3, len(xp))), rng.uniform(-np.pi, np.pi, len(wp))
    engine = build(qc, xp, wp, obs, w, route="statevector", gradient=gradient)
    assert engine.plan.statevectors and not engine.plan.networks
    assert not engine.plan.contractions
    assert all(sv.adjoint == (gradient == "adjoint") for sv in engine.plan.statevectors)
    values, gx, gw = grads(engine, x)
    np.testing.assert_allclose(values, reference(qc, xp, wp, obs, x, w), atol=1e-10, rtol=0)
    _, gx_net, gw_net = grads(build(qc, xp, wp, obs, w, route="network"), x)
    np.testing.assert_allclose(gx, gx_net, atol=1e-10, rtol=0)
    np.testing.assert_allclose(gw, gw_net, atol=1e-10, rtol=0)
    xt = torch.tensor(x, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: engine(inp), (xt,), atol=1e-8)


def test_float32_follows_float64() -> None:
    block = brickwork_block(6, 3)
    obs = [SparsePauliOp.from_sparse_list([("XYZZXY", list(range(6)), 1.0)], num_qubits=6)]
    engine = FastEngine(block.circuit, block.inputs, block.weights, obs, route="statevector")
    x = torch.rand(4, 6)
    out32 = engine(x)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), engine.double()(x.double()), atol=1e-5, rtol=0)


def test_one_register_serves_the_terms_inside_it_and_disjoint_cones_get_their_own() -> None:
    """Two 5-qubit halves that never interact: the terms inside one half share its register;
    a term across both halves is read from a register holding its cone, with the terms whose
    cones lie inside it (a 4-qubit cone whose readout there costs more keeps its own)."""
    x = ParameterVector("x", 10)
    qc = QuantumCircuit(10)
    for q in range(10):
        qc.ry(x[q], q)
    for half in (0, 5):
        for q in range(half, half + 4):
            qc.cx(q, q + 1)
            qc.rx(0.3 * x[q], q + 1)
    obs = [
        SparsePauliOp.from_sparse_list([("ZZ", [0, 4], 1.0), ("XY", [1, 2], 0.5)], 10),
        SparsePauliOp.from_sparse_list([("Y", [7], 1.0), ("ZZZ", [5, 6, 9], -0.7)], 10),
    ]
    engine = FastEngine(qc, x, [], obs, dtype=torch.float64, route="statevector")
    widths = sorted(len(sv.qubits) for sv in engine.plan.statevectors)
    assert widths == [5, 5]
    xs = np.random.default_rng(3).uniform(-2, 2, (2, 10))
    got = engine(torch.tensor(xs)).detach().numpy()
    np.testing.assert_allclose(got, reference(qc, x, [], obs, xs, []), atol=1e-10, rtol=0)
    across = obs + [SparsePauliOp.from_sparse_list([("XZ", [2, 8], 1.0)], 10)]
    engine = FastEngine(qc, x, [], across, dtype=torch.float64, route="statevector")
    supports = {
        sv.qubits: {engine.program.terms[t].support for t in sv.terms}
        for sv in engine.plan.statevectors
    }
    assert supports[(0, 1, 2, 3, 5, 6, 7, 8, 9)] == {(2, 8), (5, 6, 9)}  # a cone inside it
    assert supports[(0, 1, 2, 3, 4)] == {(0, 4), (1, 2)}
    got = engine(torch.tensor(xs)).detach().numpy()
    np.testing.assert_allclose(got, reference(qc, x, [], across, xs, []), atol=1e-10, rtol=0)


def wide_terms(n: int, count: int) -> list[SparsePauliOp]:
    """Z^n, then Z on every qubit but one (``count`` terms in all, distinct supports)."""
    out = [SparsePauliOp.from_sparse_list([("Z" * n, list(range(n)), 1.0)], num_qubits=n)]
    for k in range(count - 1):
        rest = [q for q in range(n) if q != k]
        out.append(SparsePauliOp.from_sparse_list([("Z" * (n - 1), rest, 1.0)], num_qubits=n))
    return out


def test_wide_18_qubit_terms_on_a_deep_brickwork_share_one_state_vector() -> None:
    """Twelve 17-18-qubit Z strings after 12 layers: a network's t axis of twelve terms costs
    ~30x the state vector's multiply-adds (over the measured 17x overhead), one 18-qubit
    evolution is read twelve times: the planner takes the state vector; values are exact."""
    block = brickwork_block(18, 12)
    obs = wide_terms(18, 12)
    rng = np.random.default_rng(18)
    x, w = rng.uniform(-1, 1, (2, 18)), rng.uniform(-np.pi, np.pi, len(block.weights))
    engine = build(block.circuit, block.inputs, block.weights, obs, w)
    assert not engine.plan.networks and not engine.plan.contractions
    (sv,) = engine.plan.statevectors
    assert len(sv.qubits) == 18 and len(sv.terms) == 12
    assert "12 Pauli terms in 1 state vectors of [18] qubits" in engine.describe()
    got = engine(torch.tensor(x)).detach().numpy()
    want = reference(block.circuit, block.inputs, block.weights, obs, x, w)
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)


def test_a_single_z_string_takes_the_state_vector_only_when_the_network_is_deep() -> None:
    """Z^18 after 24 layers: the network's path costs 25x the state vector's estimate (over
    the measured 17x overhead; measured 1.5x faster at B=64): state vector. After 12 layers
    (measured: the network is 5x faster) and after 4 (most gates cancel) the network stays,
    as for Z^16 on the 4x4 enrichment QCNN."""
    obs = wide_terms(18, 1)
    for layers, route in [(24, "statevector"), (12, "network"), (4, "network")]:
        block = brickwork_block(18, layers)
        plan = FastEngine(block.circuit, block.inputs, block.weights, obs).plan
        assert bool(plan.statevectors) == (route == "statevector"), layers
        assert bool(plan.networks) == (route == "network"), layers
    qcnn = enrichment_qcnn(rows=4, cols=4)  # Z^16: the network's estimate is 6x below
    plan = FastEngine(qcnn.circuit, qcnn.inputs, qcnn.weights, wide_terms(16, 1)).plan
    assert plan.networks and not plan.statevectors


def test_the_planner_keeps_to_the_memory_limit_and_is_deterministic() -> None:
    """A limit the state vector would pass at the planning batch keeps it off; the choice is
    the same in every build."""
    deep = brickwork_block(18, 12)
    args = (deep.circuit, deep.inputs, deep.weights, wide_terms(18, 12))
    sv = FastEngine(*args).plan.statevectors[0]
    need_gb = memory.COPY_FACTOR * sv.elements_per_sample * 8 * 64 / 1e9
    tight = FastEngine(*args, max_memory_gb=0.9 * need_gb)
    assert tight.plan.networks and not tight.plan.statevectors
    assert FastEngine(*args).plan == FastEngine(*args).plan


def test_a_cone_over_24_qubits_is_refused_on_the_forced_route() -> None:
    block = brickwork_block(26, 2)
    obs = [SparsePauliOp.from_sparse_list([("Z" * 25, list(range(25)), 1.0)], num_qubits=26)]
    with pytest.raises(CircuitError, match="light cone of 26 qubits.*at most 24"):
        FastEngine(block.circuit, block.inputs, block.weights, obs, route="statevector")


def test_the_route_keeps_the_memory_module_constants() -> None:
    assert statevector.COPY_FACTOR == memory.COPY_FACTOR
    assert statevector.ADJOINT_ABOVE_GB == memory.ADJOINT_ABOVE_GB


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("gradient", ["autograd", "adjoint"])
def test_runs_on_cuda(gradient: str) -> None:
    block = brickwork_block(8, 4)
    obs = wide_terms(8, 3)
    engine = FastEngine(block.circuit, block.inputs, block.weights, obs, route="statevector",
                        gradient=gradient, dtype=torch.float64)  # fmt: skip
    x = torch.rand(5, 8, dtype=torch.float64)
    cpu = grads(engine, x.numpy())
    engine.cuda()
    xt = x.cuda().requires_grad_(True)
    out = engine(xt)
    gx, gw = torch.autograd.grad((out * torch.arange(1.0, 4, device="cuda")).sum(),
                                 [xt, engine.weight])  # fmt: skip
    for got, want in zip((out.detach(), gx, gw), cpu, strict=True):
        np.testing.assert_allclose(got.cpu().numpy(), want, atol=1e-10)
