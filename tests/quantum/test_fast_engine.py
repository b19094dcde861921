"""The fast engine against Qiskit's Statevector and Aer's estimator on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.circuits import BLOCKS
from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.fast import FastEngine
from hq_qiskit.quantum.qiskit_engine import reference_expectations


def statevector_expectations(circuit, inputs, weights, observables, x, w) -> np.ndarray:
    """Reference values from qiskit.quantum_info.Statevector, one sample at a time."""
    out = []
    for row in np.atleast_2d(x):
        binding = dict(zip(inputs, row, strict=True)) | dict(zip(weights, w, strict=True))
        state = Statevector(circuit.assign_parameters(binding, strict=False))
        out.append([state.expectation_value(o).real for o in observables])
    return np.array(out)


def random_inputs(n: int, n_in: int, n_w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, n_in)), rng.uniform(-np.pi, np.pi, n_w)


@pytest.mark.parametrize("name", sorted(BLOCKS))
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_blocks_match_statevector(name: str, dtype: torch.dtype, tol: float) -> None:
    block = BLOCKS[name]()
    x, w = random_inputs(3, block.n_inputs, block.n_weights, seed=7)
    module = connect_block(block, dtype=dtype, initial_weights=torch.tensor(w))
    got = module(torch.tensor(x)).detach().numpy()
    want = statevector_expectations(
        block.circuit, block.inputs, block.weights, block.observables, x, w
    )
    assert got.shape == (3, block.n_outputs)
    assert got.dtype == (np.float32 if dtype == torch.float32 else np.float64)
    np.testing.assert_allclose(got, want, atol=tol, rtol=0)


@pytest.mark.parametrize("name", ["enrichment_qcnn", "expert_global"])
def test_blocks_match_aer_estimator(name: str) -> None:
    block = BLOCKS[name]()
    x, w = random_inputs(4, block.n_inputs, block.n_weights, seed=11)
    module = connect_block(block, dtype=torch.float64, initial_weights=torch.tensor(w))
    got = module(torch.tensor(x)).detach().numpy()
    want = reference_expectations(
        block.circuit, block.inputs, block.weights, block.observables, x, w
    )
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("seed", range(24))
def test_random_circuits_match_statevector(seed: int, make_random_circuit) -> None:
    n_qubits = [2, 3, 4, 5, 6, 8, 10, 12, 16][seed % 9]
    qc, x_params, w_params, observables = make_random_circuit(n_qubits, 6 * n_qubits, seed)
    x, w = random_inputs(2, len(x_params), len(w_params), seed)
    for dtype, tol in [(torch.float64, 1e-10), (torch.float32, 1e-5)]:
        engine = FastEngine(qc, x_params, w_params, observables, dtype=dtype,
                            initial_weights=torch.tensor(w))  # fmt: skip
        got = engine(torch.tensor(x)).detach().numpy()
        want = statevector_expectations(qc, x_params, w_params, observables, x, w)
        np.testing.assert_allclose(got, want, atol=tol, rtol=0, err_msg=f"{dtype}")


def test_random_circuit_matches_aer_estimator(make_random_circuit) -> None:
    qc, x_params, w_params, observables = make_random_circuit(12, 80, seed=99)
    x, w = random_inputs(3, len(x_params), len(w_params), seed=5)
    engine = FastEngine(qc, x_params, w_params, observables, dtype=torch.float64,
                        initial_weights=torch.tensor(w))  # fmt: skip
    got = engine(torch.tensor(x)).detach().numpy()
    aer_circuit = qc.decompose(gates_to_decompose=["iswap", "cs"])  # not among Aer's gates
    want = reference_expectations(aer_circuit, x_params, w_params, observables, x, w)
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("seed", [0, 3])
def test_gradients_gradcheck_float64(seed: int, make_random_circuit) -> None:
    qc, x_params, w_params, observables = make_random_circuit(5, 30, seed)
    x, w = random_inputs(2, len(x_params), len(w_params), seed)
    engine = FastEngine(qc, x_params, w_params, observables, dtype=torch.float64,
                        initial_weights=torch.tensor(w))  # fmt: skip
    xt = torch.tensor(x, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: engine(inp), (xt,), atol=1e-8)
    wt = engine.weight
    assert torch.autograd.gradcheck(
        lambda weights: torch.func.functional_call(engine, {"weight": weights}, (xt.detach(),)),
        (wt.detach().clone().requires_grad_(True),),
        atol=1e-8,
    )


def test_enrichment_gradients_match_central_differences() -> None:
    block = BLOCKS["enrichment_qcnn"]()
    x, w = random_inputs(1, block.n_inputs, block.n_weights, seed=3)
    module = connect_block(block, dtype=torch.float64, initial_weights=torch.tensor(w))
    xt = torch.tensor(x, requires_grad=True)
    loss_weights = torch.linspace(-1, 1, block.n_outputs, dtype=torch.float64)
    (module(xt) @ loss_weights).sum().backward()

    def loss(xv: np.ndarray, wv: np.ndarray) -> float:
        vals = statevector_expectations(
            block.circuit, block.inputs, block.weights, block.observables, xv, wv
        )
        return float((vals @ loss_weights.numpy()).sum())

    eps = 1e-6
    for j in [5]:  # a weight of the vertical filter
        e = np.zeros_like(w)
        e[j] = eps
        fd = (loss(x, w + e) - loss(x, w - e)) / (2 * eps)
        assert module.weight.grad[j].item() == pytest.approx(fd, abs=1e-6)
    for j in [1, 47]:  # an RX and an RZ input
        e = np.zeros_like(x)
        e[0, j] = eps
        fd = (loss(x + e, w) - loss(x - e, w)) / (2 * eps)
        assert xt.grad[0, j].item() == pytest.approx(fd, abs=1e-6)


def test_connect_contract_matches_torch_connector() -> None:
    block = BLOCKS["enrichment_qcnn"]()
    module = connect_block(block)
    assert isinstance(module.weight, torch.nn.Parameter)
    assert module.weight.shape == (block.n_weights,)
    assert [name for name, _ in module.named_parameters()] == ["weight"]
    out = module(torch.zeros(5, block.n_inputs))
    assert out.shape == (5, 32) and out.dtype == torch.float32
    assert out.abs().max() <= 1 + 1e-6


def test_unsupported_instruction_is_named() -> None:
    qc = QuantumCircuit(2, 2)
    theta = Parameter("t")
    qc.rx(theta, 0)
    qc.measure(0, 0)
    obs = [SparsePauliOp("ZI")]
    with pytest.raises(CircuitError, match=r"instruction 1 \('measure'"):
        FastEngine(qc, [theta], [], obs)


def test_reset_is_refused() -> None:
    qc = QuantumCircuit(1)
    qc.reset(0)
    with pytest.raises(CircuitError, match="'reset'"):
        FastEngine(qc, [], [], [SparsePauliOp("Z")])


def test_non_affine_angle_is_refused() -> None:
    x = ParameterVector("x", 1)
    qc = QuantumCircuit(1)
    qc.rx(x[0] * x[0], 0)
    with pytest.raises(CircuitError, match="not affine"):
        FastEngine(qc, x, [], [SparsePauliOp("Z")])


def test_unknown_parameter_is_refused() -> None:
    x, extra = Parameter("x"), Parameter("extra")
    qc = QuantumCircuit(1)
    qc.rx(x + extra, 0)
    with pytest.raises(CircuitError, match="neither an input nor a weight"):
        FastEngine(qc, [x], [], [SparsePauliOp("Z")])


def test_unknown_engine_is_named() -> None:
    block = BLOCKS["enrichment_qcnn"]()
    with pytest.raises(Exception, match="unknown engine 'gpu'; choose one of fast, qiskit"):
        connect_block(block, engine="gpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_runs_on_cuda() -> None:
    block = BLOCKS["enrichment_qcnn"]()
    module = connect_block(block).cuda()
    x = torch.rand(4, 48)
    np.testing.assert_allclose(
        module(x.cuda()).cpu().detach().numpy(), module.cpu()(x).detach().numpy(), atol=1e-5
    )
