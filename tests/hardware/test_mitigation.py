"""Measured mitigation (``hardware/mitigation.py``, ``region_sim.py``, ``mitigation_report.py``):
the compact region circuit keeps the block's values, TREX really removes FakeBrisbane's readout
bias through qiskit-ibm-runtime's client-side estimator on the region's noisy Aer simulator,
every row's circuit decoheres while it idles (not only DD's), the table has intervals over
seeds and warns when shot noise hides the noise, and wide regions are refused."""

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
    region_simulator,
    run_choices,
    total_shots,
)
from hq_qiskit.hardware.region_sim import compact
from hq_qiskit.hardware.schedule import device_noise_on
from hq_qiskit.inference.mitigation_report import markdown_lines, shot_noise_note, summarise


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
    sim = region_simulator(mapped, brisbane)
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
    sim = region_simulator(mapped, brisbane)
    qc, observables = compact(mapped)
    pub = (qc, observables)
    none = total_shots(client_estimator(sim, "none", 1000, 0), pub, sim)
    zne = total_shots(client_estimator(sim, "zne", 1000, 0), pub, sim)
    assert none >= 1000 and zne >= 2 * none  # ZNE: one run per noise factor


def test_a_wide_region_is_refused_with_the_fix(brisbane):
    block = enrichment_qcnn()
    mapped = transpile_block(block.circuit, block.observables, brisbane.target, strategy="preset")
    with pytest.raises(ConfigError, match="--qubit-grid 2x2"):
        region_simulator(mapped, brisbane)
    with pytest.raises(ConfigError, match="unknown mitigation 'pec'"):
        client_estimator(None, "pec", 10, 0)


def test_every_row_pays_idle_noise_not_only_dd(brisbane):
    """ECR(1, 0) leaves q0 in |-i> (q1 in |1>); q0 then waits while q2 and q1 run 20 ECRs
    (identity, ~13 us): the region simulator schedules the unmitigated program too, so q0
    dephases there; Aer with the very same noise model but no schedule (what every row but
    DD's got before) keeps <Y0> near -1. (Only a two-qubit gate pins the wait: the
    Estimator moves one-qubit gates into the dressing before the measurement.)"""
    from qiskit_aer import AerSimulator

    from hq_qiskit.hardware.layout import restrict_target

    region = (0, 1, 2)
    qc = QuantumCircuit(brisbane.num_qubits)
    qc.ecr(1, 0)
    for _ in range(20):
        qc.ecr(2, 1)
    y0 = SparsePauliOp.from_sparse_list([("Y", [0], 1.0)], brisbane.num_qubits)
    mapped = MappedCircuit(qc, (y0,), region, region, "trivial", 0, 0, 0, 0.0)
    small, (obs,) = compact(mapped)
    assert Statevector(small).expectation_value(obs).real == pytest.approx(-1)
    plain = AerSimulator(
        target=restrict_target(brisbane.target, region),
        noise_model=device_noise_on(brisbane, region),
    )
    values = {}
    for name, sim in (("scheduled", region_simulator(mapped, brisbane)), ("plain", plain)):
        est = client_estimator(sim, "none", 20000, seed=1)
        values[name] = float(np.asarray(est.run([(small, obs)]).result()[0].data.evs))
    idle = 20 * brisbane.target["ecr"][(2, 1)].duration  # seconds
    # <Y0> rises by ~1 - exp(-idle / T2) (T2 as Aer caps it); std of each value ~0.005
    q0 = brisbane.target.qubit_properties[0]
    want = 1 - np.exp(-idle / min(q0.t2, 2 * q0.t1))
    assert values["scheduled"] - values["plain"] > 0.5 * want > 0.02, (values, want)


def test_the_table_has_intervals_over_seeds_and_warns_when_shot_noise_hides_the_noise(brisbane):
    mapped, _ = _flips(brisbane)
    exact = -np.ones((1, 4))
    runs = run_choices(mapped, brisbane, np.zeros((1, 1, 0)), shots=400, choices=("none", "trex"))
    assert [(r.mitigation, r.seed) for r in runs] == [
        (c, s) for c in ("none", "trex") for s in range(5)
    ]
    rows = summarise(runs, exact)
    assert [r.mitigation for r in rows] == ["none", "trex"] and rows[0].seeds == 5
    for r in rows:
        assert r.mae_low < r.mae < r.mae_high  # a t interval over 5 seeds that differ
    assert rows[1].shot_overhead > 1.0 and rows[1].mae < rows[0].mae  # TREX removes the bias
    # readout bias ~2 p (a few percent) against a standard error ~0.01 at 400 shots: no warning
    assert shot_noise_note(runs, exact, 400) is None
    # a 2x2 QCNN at 16 shots: values near 0 scatter by ~0.25, far more than the noise
    block = enrichment_qcnn(rows=2, cols=2)
    qcnn = transpile_block(
        block.circuit, block.observables, brisbane.target, strategy="noise_aware"
    )
    qc, observables = compact(qcnn)
    values = np.random.default_rng(0).uniform(-1, 1, (2, qc.num_parameters))
    states = [Statevector(qc.assign_parameters(v)) for v in values]
    ideal = np.array([[s.expectation_value(o).real for o in observables] for s in states])
    few = run_choices(qcnn, brisbane, values[:, None, :], shots=16, choices=("none",))
    note = shot_noise_note(few, ideal, 16)
    assert note is not None and "shot noise exceeds the noise signal" in note
    lines = markdown_lines(summarise(few, ideal), "title", note)
    assert lines[1] == note and "± " in lines[-1] and "5 seeds" in lines[3]
