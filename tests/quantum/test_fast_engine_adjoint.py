"""Adjoint differentiation of the state-vector route: exact values and gradients, bounded memory.

``gradient="adjoint"`` runs the product blocks' gates through ``adjoint.evolve``, whose
backward recomputes earlier states instead of keeping them. Checked against Statevector, against
plain autograd on the same engine (gradients to 1e-10 in float64), with ``gradcheck``, and by
the peak memory of a deep 14-qubit circuit measured in fresh processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.circuits import BLOCKS
from hq_qiskit.circuits.brickwork import brickwork_block
from hq_qiskit.errors import ConfigError
from hq_qiskit.quantum.fast import FastEngine
from hq_qiskit.quantum.fast.adjoint import evolve
from hq_qiskit.quantum.fast.tensor_ops import apply_matrix


def unitary(*shape: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(*shape, dtype=torch.complex128))
    return q


def test_evolve_matches_autograd_through_apply_matrix() -> None:
    torch.manual_seed(0)
    psi = torch.randn(1, 2, 2, 2, 2, dtype=torch.complex128, requires_grad=True)  # shared state
    mats = [unitary(4, 4), unitary(3, 4, 4), unitary(8, 8), unitary(2, 2)]  # one batched (B=3)
    mats = [m.requires_grad_(True) for m in mats]
    axes = [[1, 2], [3, 2], [4, 1, 2], [3]]
    weights = torch.randn(3, 2, 2, 2, 2, dtype=torch.float64)

    def plain(state, *ms):
        for m, a in zip(ms, axes, strict=True):
            state = apply_matrix(state, m, a)
        return state

    def loss(run, *args):
        return (run(*args).abs() ** 2 * weights).sum()  # a real function of the final state

    want = torch.autograd.grad(loss(plain, psi, *mats), [psi, *mats])
    got = torch.autograd.grad(loss(lambda s, *ms: evolve(s, ms, axes), psi, *mats), [psi, *mats])
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w, atol=1e-12, rtol=0)


def layered(n: int, layers: int) -> tuple[QuantumCircuit, ParameterVector, ParameterVector, list]:
    """The benchmark's brickwork circuit (cones cover the register) with two observables of its
    own: one local Z, and a two-term sum with a long-range XY."""
    block = brickwork_block(n, layers)
    obs = [
        SparsePauliOp.from_sparse_list([("Z", [n // 2], 1.0)], num_qubits=n),
        SparsePauliOp.from_sparse_list([("XY", [0, n - 1], 0.5), ("Z", [1], -1.0)], num_qubits=n),
    ]
    return block.circuit, block.inputs, block.weights, obs


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_circuits_adjoint_equals_autograd(seed: int, make_random_circuit) -> None:
    n_qubits = [3, 5, 8, 10][seed]
    qc, xp, wp, obs = make_random_circuit(n_qubits, 6 * n_qubits, seed)
    rng = np.random.default_rng(seed)
    x, w = rng.uniform(-1, 1, (3, len(xp))), rng.uniform(-np.pi, np.pi, len(wp))
    engines = {
        g: FastEngine(
            qc,
            xp,
            wp,
            obs,
            dtype=torch.float64,
            route="cut",
            gradient=g,
            initial_weights=torch.tensor(w),
        )  # fmt: skip
        for g in ("autograd", "adjoint")
    }
    assert not engines["autograd"].adjoint and engines["adjoint"].adjoint
    grads = {}
    for g, engine in engines.items():
        xt = torch.tensor(x, requires_grad=True)
        out = engine(xt)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads[g] = (out.detach(), xt.grad, engine.weight.grad)
    want = []
    for row in x:
        binding = dict(zip(xp, row, strict=True)) | dict(zip(wp, w, strict=True))
        state = Statevector(qc.assign_parameters(binding, strict=False))
        want.append([state.expectation_value(o).real for o in obs])
    np.testing.assert_allclose(grads["adjoint"][0].numpy(), np.array(want), atol=1e-10, rtol=0)
    for a, b in zip(grads["adjoint"], grads["autograd"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_adjoint_gradcheck_float64() -> None:
    qc, xp, wp, obs = layered(6, 5)
    engine = FastEngine(qc, xp, wp, obs, dtype=torch.float64, route="cut", gradient="adjoint",
                        initial_weights=torch.linspace(-2, 2, len(wp)))  # fmt: skip
    assert len(engine.adjoint) >= 10  # the whole deep circuit runs through evolve
    xt = torch.rand(2, len(xp), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(engine, (xt,), atol=1e-8)
    assert torch.autograd.gradcheck(
        lambda weights: torch.func.functional_call(engine, {"weight": weights}, (xt.detach(),)),
        (engine.weight.detach().clone().requires_grad_(True),),
        atol=1e-8,
    )


def test_auto_takes_adjoint_only_where_autograd_would_keep_much() -> None:
    qc, xp, wp, obs = layered(16, 24)
    deep = FastEngine(qc, xp, wp, obs, route="cut")
    plain = FastEngine(qc, xp, wp, obs, route="cut", gradient="autograd")
    assert deep.adjoint and not plain.adjoint
    assert deep._needs_gb(64, 8) < plain._needs_gb(64, 8) / 4  # the guard counts the saving
    block = BLOCKS["expert_global"]()  # 0.1 GB under autograd: stays on the faster autograd
    assert not FastEngine(block.circuit, block.inputs, block.weights, block.observables).adjoint
    with pytest.raises(ConfigError, match="unknown gradient 'backprop'; choose one of auto"):
        FastEngine(qc, xp, wp, obs, gradient="backprop")


PEAK = """
import sys, torch
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_fast_engine_adjoint import layered
from hq_qiskit.quantum.fast import FastEngine
torch.set_num_threads(1)
qc, xp, wp, obs = layered(14, 30)
engine = FastEngine(qc, xp, wp, obs, route="cut", gradient=sys.argv[1])
x = torch.rand(16, len(xp))
engine(x[:1])
def hwm():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
Path("/proc/self/clear_refs").write_text("5")
base = hwm()
engine(x.requires_grad_(True)).sum().backward()
print(hwm() - base)
"""


def test_adjoint_bounds_the_memory_of_a_deep_circuit() -> None:
    """14 qubits, 30 layers, B=16: autograd keeps ~60 states of 2 MB, adjoint a few.

    Peak resident-set growth of one forward+backward in a fresh process, with glibc's mmap
    threshold fixed so that freed tensors leave the resident set (measured 98 MB and 23 MB).
    """
    here = str(Path(__file__).parent)
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    peak = {}
    for g in ("autograd", "adjoint"):
        out = subprocess.run([sys.executable, "-c", PEAK, g, here], capture_output=True,
                             text=True, check=True, env=env)  # fmt: skip
        peak[g] = float(out.stdout.split()[-1])  # MB
    assert peak["autograd"] > 60, peak  # ~2 MB per kept state at B=16, complex64
    assert peak["adjoint"] < peak["autograd"] / 3, peak
