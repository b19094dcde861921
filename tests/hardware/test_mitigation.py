"""Measured mitigation (``hardware/mitigation.py``): the compact region circuit keeps the block's
values, TREX really removes FakeBrisbane's readout bias through qiskit-ibm-runtime's client-side
estimator on the region's noisy Aer simulator, and wide regions are refused."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.layout import MappedCircuit, transpile_block
from hq_qiskit.hardware.mitigation import (
    client_estimator,
    compact,
    region_simulator,
    total_shots,
)


@pytest.fixture(scope="module")
def brisbane():
    return fake_backend("FakeBrisbane")


def test_the_compact_region_circuit_keeps_the_blocks_values(brisbane):
    block = enrichment_qcnn(rows=2, cols=2)
    mapped = transpile_block(
        block.circuit, block.observables, brisbane.target, strategy="noise_aware"
    )
    qc, observables = compact(mapped)
    assert qc.num_qubits == len(mapped.active_qubits) == 4
    assert qc.count_ops() == mapped.circuit.count_ops()
    rng = np.random.default_rng(1)
    values = rng.uniform(-1, 1, qc.num_parameters)
    bound = dict(zip(qc.parameters, values, strict=True))
    logical = {
        p: bound[q] for p in block.circuit.parameters for q in qc.parameters if p.name == q.name
    }
    want = [
        Statevector(block.circuit.assign_parameters(logical)).expectation_value(o).real
        for o in block.observables
    ]
    got = [Statevector(qc.assign_parameters(bound)).expectation_value(o).real for o in observables]
    # a wrong layout or observable mapping gives errors of order 0.5
    np.testing.assert_allclose(got, want, atol=1e-9)


def _flips(brisbane) -> tuple[MappedCircuit, list[float]]:
    """X on four physical qubits of FakeBrisbane, then <Z> of each (exact: -1)."""
    region = (10, 11, 12, 13)
    qc = QuantumCircuit(brisbane.num_qubits)
    for q in region:
        qc.x(q)
    observables = tuple(
        SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], brisbane.num_qubits) for q in region
    )
    readout = [brisbane.target["measure"][(q,)].error for q in region]
    mapped = MappedCircuit(qc, observables, region, region, "trivial", 0, 0, 0, 0.0)
    return mapped, readout


def test_trex_removes_the_readout_bias_that_unmitigated_values_keep(brisbane):
    mapped, readout = _flips(brisbane)
    sim = region_simulator(mapped, brisbane.target)
    qc, observables = compact(mapped)
    pub = (qc, observables)
    raw = client_estimator(sim, "none", 20000, seed=3).run([pub]).result()[0].data.evs
    trex = client_estimator(sim, "trex", 20000, seed=3).run([pub]).result()[0].data.evs
    # unmitigated: -1 shrunk by readout (and the X gates' small errors): 1 - |<Z>| ~ 2 p
    bias_raw = 1 + np.asarray(raw)
    assert np.mean(bias_raw) > 0.5 * 2 * np.mean(readout)
    bias_trex = 1 + np.asarray(trex)
    assert abs(np.mean(bias_trex)) < 0.3 * np.mean(bias_raw)  # std of the mean ~0.005


def test_shots_count_every_circuit_of_the_program(brisbane):
    mapped, _ = _flips(brisbane)
    sim = region_simulator(mapped, brisbane.target)
    qc, observables = compact(mapped)
    pub = (qc, observables)
    none = total_shots(client_estimator(sim, "none", 1000, 0), pub, sim)
    zne = total_shots(client_estimator(sim, "zne", 1000, 0), pub, sim)
    assert none >= 1000 and zne >= 2 * none  # ZNE: one run per noise factor


def test_a_wide_region_is_refused_with_the_fix(brisbane):
    block = enrichment_qcnn()
    mapped = transpile_block(block.circuit, block.observables, brisbane.target, strategy="preset")
    with pytest.raises(ConfigError, match="--qubit-grid 2x2"):
        region_simulator(mapped, brisbane.target)
    with pytest.raises(ConfigError, match="unknown mitigation 'pec'"):
        client_estimator(None, "pec", 10, 0)
