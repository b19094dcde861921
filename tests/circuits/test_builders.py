"""The circuit builders: structure, parameters and options of every block."""

from __future__ import annotations

import math

import pytest
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.circuits import BLOCKS, build_block, enrichment_qcnn, expert_circuit


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_every_block_declares_exactly_its_parameters(name: str) -> None:
    block = build_block(name)
    assert set(block.circuit.parameters) == set(block.inputs) | set(block.weights)
    assert block.circuit.num_qubits == 16
    assert len(block.observables) == len(block.observable_names) == 32
    assert all(isinstance(o, SparsePauliOp) and o.num_qubits == 16 for o in block.observables)
    assert block.observable_names[:2] == ("Z0", "Z1") and block.observable_names[16] == "X0"


def test_enrichment_qcnn_layout() -> None:
    block = enrichment_qcnn()
    assert (block.n_inputs, block.n_weights, block.n_outputs) == (48, 8, 32)
    ops = block.circuit.count_ops()
    # 48 encoding rotations; 24 filters (12 horizontal, 12 vertical), each 4 RY and one CX
    assert ops["rx"] == ops["rz"] == 16 and ops["ry"] == 16 + 24 * 4 and ops["cx"] == 24
    first = block.circuit.data[0]
    assert first.operation.name == "rx"
    assert first.operation.params[0] == math.pi * block.inputs[0]
    pairs = [
        tuple(block.circuit.find_bit(q).index for q in inst.qubits)
        for inst in block.circuit.data
        if inst.operation.name == "cx"
    ]
    assert pairs[:3] == [(0, 1), (1, 2), (2, 3)]  # left to right, control first
    assert pairs[12:15] == [(0, 4), (4, 8), (8, 12)]  # down the first column


def test_enrichment_qcnn_options() -> None:
    block = enrichment_qcnn(layers=2, angle_scale=1.0, pair_order="reverse", cnot="second")
    assert block.n_weights == 16
    assert block.circuit.data[0].operation.params[0] == 1.0 * block.inputs[0]
    pairs = [
        tuple(block.circuit.find_bit(q).index for q in inst.qubits)
        for inst in block.circuit.data
        if inst.operation.name == "cx"
    ]
    assert pairs[0] == (3, 2)  # the last pair first, control on the second qubit
    with pytest.raises(ValueError, match="layers"):
        enrichment_qcnn(layers=0)


def test_enrichment_qcnn_on_any_grid() -> None:
    block = enrichment_qcnn(rows=2, cols=3)  # q = 3 * row + col
    assert (block.n_inputs, block.n_weights, block.n_outputs) == (18, 8, 12)
    assert block.observable_names[6] == "X0"
    pairs = [
        tuple(block.circuit.find_bit(q).index for q in inst.qubits)
        for inst in block.circuit.data
        if inst.operation.name == "cx"
    ]
    # rows: (0,1), (1,2), (3,4), (4,5); then columns: (0,3), (1,4), (2,5)
    assert pairs == [(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (1, 4), (2, 5)]
    assert block.circuit.data[2].operation.params[0] == math.pi * block.inputs[12]  # RZ, q 0
    assert str(enrichment_qcnn(rows=4, cols=4).circuit) == str(enrichment_qcnn().circuit)
    with pytest.raises(ValueError, match="1x1"):
        enrichment_qcnn(rows=0, cols=4)


@pytest.mark.parametrize("kind, n_cx", [("local", 24), ("global", 24), ("diagonal", 18)])
def test_experts(kind: str, n_cx: int) -> None:
    block = expert_circuit(kind, layers=2)
    assert block.name == f"expert_{kind}"
    assert (block.n_inputs, block.n_weights) == (32, 64)
    assert block.circuit.count_ops()["cx"] == 2 * n_cx


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="enrichment_qcnn"):
        build_block("qcnn")
    with pytest.raises(ValueError, match="diagonal"):
        expert_circuit("random")
