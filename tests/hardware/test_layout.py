"""Transpiling to device targets: metrics, the noise-aware layout and observable mapping."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from hq_qiskit.circuits import build_block
from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.hardware.backends import fake_backend
from hq_qiskit.hardware.layout import (
    candidate_regions,
    estimated_success_probability,
    restrict_target,
    transpile_block,
)
from hq_qiskit.hardware.transpile_report import measure


@pytest.fixture(scope="module")
def brisbane():
    return fake_backend("FakeBrisbane").target


def two_qubit_gates(circuit: QuantumCircuit) -> list[tuple[str, tuple[int, ...]]]:
    """(name, physical qubits) of every two-qubit instruction of an ISA circuit."""
    return [
        (ins.operation.name, tuple(circuit.find_bit(q).index for q in ins.qubits))
        for ins in circuit.data
        if ins.operation.num_qubits == 2
    ]


def test_enrichment_on_brisbane_metrics_come_from_the_circuit(brisbane):
    """The report's numbers are read off the transpiled circuit and the target, checked here
    against the circuit itself rather than pinned to numbers copied from a benchmark run."""
    block = build_block("enrichment_qcnn")
    preset = transpile_block(block.circuit, block.observables, brisbane, optimization_level=3)
    row = measure(preset, brisbane, block.name, "FakeBrisbane")
    gates = two_qubit_gates(preset.circuit)
    assert row.count_2q == len(gates) > 0
    assert row.depth_2q == preset.circuit.depth(lambda ins: ins.operation.num_qubits == 2)
    assert all(qargs in brisbane[name] for name, qargs in gates)  # native gates, coupled pairs
    # the same circuit with all-to-all connectivity needs no swaps: the routed one costs at
    # most 3 native two-qubit gates per swap more, and the 16-qubit QCNN does not fit
    # heavy-hex without swaps
    free = transpile(
        block.circuit,
        basis_gates=list(brisbane.operation_names),
        optimization_level=3,
        seed_transpiler=preset.seed,
    )
    unrouted = sum(1 for ins in free.data if ins.operation.num_qubits == 2)
    assert row.swaps > 0
    assert row.count_2q <= unrouted + 3 * row.swaps
    # ESP: one factor (1 - error) per gate from the target's own table, plus the readouts
    errors = [
        brisbane[ins.operation.name][tuple(preset.circuit.find_bit(q).index for q in ins.qubits)]
        for ins in preset.circuit.data
        if ins.operation.name in brisbane and ins.operation.name not in ("barrier", "delay")
    ]
    readouts = [brisbane["measure"][(q,)] for q in preset.final_layout]
    esp = np.prod([1 - (p.error or 0.0) for p in errors + readouts])
    assert row.esp == pytest.approx(esp, rel=1e-9) and 0 < row.esp < 1
    assert row.width == len(preset.active_qubits) >= 16 and row.duration_s > 0
    aware = transpile_block(
        block.circuit, block.observables, brisbane, optimization_level=3, strategy="noise_aware"
    )
    aware_esp = estimated_success_probability(aware.circuit, brisbane, aware.final_layout)
    assert aware_esp >= row.esp  # the target: at least the preset level-3 ESP
    assert len(aware.active_qubits) == 16  # no routing ancillas to simulate


def test_regions_are_connected_sets_of_n_qubits(brisbane):
    regions = candidate_regions(brisbane, 16, keep=3)
    assert len(regions) == 3
    sub = restrict_target(brisbane, regions[0])
    assert sub.num_qubits == 16
    graph = sub.build_coupling_map().graph.to_undirected()
    import rustworkx as rx

    assert rx.is_connected(graph)


def _small():
    x = ParameterVector("x", 3)
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.ry(x[q], q)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.cx(0, 2)  # a triangle: heavy-hex needs a swap
    obs = [SparsePauliOp.from_sparse_list([(p, [q], 1.0)], 3) for p in "ZX" for q in range(3)]
    return qc, x, obs


@pytest.mark.parametrize("strategy", ["preset", "trivial", "noise_aware"])
def test_mapped_observables_give_the_logical_values(brisbane, strategy):
    qc, x, obs = _small()
    mapped = transpile_block(qc, obs, brisbane, optimization_level=3, strategy=strategy)
    values = {x[0]: 0.3, x[1]: -1.1, x[2]: 2.0}
    logical = Statevector(qc.assign_parameters(values))
    active = mapped.active_qubits
    isa = mapped.circuit.assign_parameters(values)
    # simulate the active qubits only: the full 127-qubit state would not fit
    small = QuantumCircuit(len(active))
    pos = {q: i for i, q in enumerate(active)}
    for ins in isa.data:
        small.append(ins.operation, [pos[isa.find_bit(q).index] for q in ins.qubits])
    state = Statevector(small)
    for op_logical, op_isa in zip(obs, mapped.observables, strict=True):
        ((label, qubits, coeff),) = op_isa.to_sparse_list()
        local = SparsePauliOp.from_sparse_list(
            [(label, [pos[q] for q in qubits], coeff)], len(active)
        )
        assert np.isclose(
            state.expectation_value(local).real,
            logical.expectation_value(op_logical).real,
            atol=1e-9,
        )


def test_too_wide_and_unknown_strategy():
    target = fake_backend("FakeManilaV2").target  # 5 qubits
    block = build_block("enrichment_qcnn")
    with pytest.raises(CircuitError, match="needs 16 qubits but the device has only 5"):
        transpile_block(block.circuit, block.observables, target)
    qc, _, obs = _small()
    with pytest.raises(ConfigError, match="unknown layout strategy 'best'"):
        transpile_block(qc, obs, target, strategy="best")
