"""Wide registers: the enrichment QCNN on R x C grids keeps its row/column structure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.quantum.fast import FastEngine
from hq_qiskit.quantum.fast.plan import block_sizes


def engine_for(rows: int, cols: int, w: np.ndarray | None = None, **kwargs) -> FastEngine:
    b = enrichment_qcnn(rows=rows, cols=cols)
    init = None if w is None else torch.tensor(w)
    return FastEngine(b.circuit, b.inputs, b.weights, b.observables, initial_weights=init,
                      **kwargs)  # fmt: skip


@pytest.mark.parametrize("rows, cols", [(2, 3), (3, 5), (4, 4)])
def test_grids_match_statevector(rows: int, cols: int) -> None:
    b = enrichment_qcnn(rows=rows, cols=cols)
    rng = np.random.default_rng(rows * 10 + cols)
    x, w = rng.uniform(-1, 1, (2, b.n_inputs)), rng.uniform(-np.pi, np.pi, b.n_weights)
    got = engine_for(rows, cols, w, dtype=torch.float64)(torch.tensor(x)).detach().numpy()
    want = []
    for row in x:
        binding = dict(zip(b.inputs, row, strict=True)) | dict(zip(b.weights, w, strict=True))
        state = Statevector(b.circuit.assign_parameters(binding))
        want.append([state.expectation_value(o).real for o in b.observables])
    np.testing.assert_allclose(got, np.array(want), atol=1e-10, rtol=0)


def test_8x8_keeps_rows_apart_and_fits_in_memory() -> None:
    engine = engine_for(8, 8)
    plan = engine.plan
    sizes = block_sizes(engine.groups, 64)
    # nothing simulated as a state vector is wider than one row of 8 qubits
    assert max(sizes[i] for i in range(plan.last_cut)) <= 8
    assert max(len(c.qubits) for c in plan.contractions) <= 8  # column density matrices
    assert not plan.networks
    assert engine._needs_gb(64, 8) < 1.0  # estimated forward+backward peak at B=64, complex64
    x = torch.rand(2, 192) * 2 - 1
    out = engine(x)
    assert out.shape == (2, 128) and out.abs().max() <= 1 + 1e-5
    xg = x.clone().requires_grad_(True)
    engine(xg).sum().backward()
    assert (xg.grad.abs().sum(0) > 0).all()  # every input reaches some output
    assert engine.weight.grad is not None and (engine.weight.grad != 0).all()


def test_5x5_grid_matches_aer_matrix_product_state() -> None:
    from qiskit_aer.primitives import EstimatorV2

    from hq_qiskit.quantum.qiskit_engine import reference_expectations

    b = enrichment_qcnn(rows=5, cols=5)  # 25 qubits: Aer's MPS method, no state vector
    rng = np.random.default_rng(5)
    x, w = rng.uniform(-1, 1, (2, b.n_inputs)), rng.uniform(-np.pi, np.pi, b.n_weights)
    pick = [0, 12, 24, 25 + 7, 25 + 18]  # Z0, Z12, Z24, X7, X18
    observables = [b.observables[i] for i in pick]
    mps = EstimatorV2(options={"default_precision": 0.0,
                               "backend_options": {"method": "matrix_product_state"}})  # fmt: skip
    want = reference_expectations(b.circuit, b.inputs, b.weights, observables, x, w,
                                  estimator=mps)  # fmt: skip
    engine = engine_for(5, 5, w, dtype=torch.float64)
    got = engine(torch.tensor(x)).detach().numpy()[:, pick]
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


def test_8x8_grid_matches_aer_matrix_product_state_on_light_cones() -> None:
    """64 qubits against Aer's MPS method on Qiskit's LightCone-reduced circuits (no code of
    the fast engine involved); <X63>'s cone is the widest (all 64 qubits, ~5 s per sample).
    bench/grid_mps.py compares all 128 outputs."""
    from hq_qiskit.quantum.qiskit_engine import light_cone_reference

    b = enrichment_qcnn(rows=8, cols=8)
    rng = np.random.default_rng(88)
    x, w = rng.uniform(-1, 1, (2, b.n_inputs)), rng.uniform(-np.pi, np.pi, b.n_weights)
    pick = [0, 7, 36, 64 + 27, 64 + 63]  # Z0, Z7, Z36, X27, X63
    want = light_cone_reference(b.circuit, b.inputs, b.weights,
                                [b.observables[i] for i in pick], x, w)  # fmt: skip
    got = engine_for(8, 8, w, dtype=torch.float64)(torch.tensor(x)).detach().numpy()[:, pick]
    assert np.abs(want).max() > 0.05  # not all near zero: the comparison has teeth
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)
