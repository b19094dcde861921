"""A block's circuit with its entangling gates removed: the same qubits, encoding, trainable
single-qubit rotations and observables, but a product state (no entanglement).

``without_entanglers(block)`` copies ``block.circuit`` instruction by instruction and drops every
gate that acts on two or more qubits (the enrichment QCNN's CNOTs). What is left is the same
Qiskit circuit object's single-qubit part, with the same ``inputs`` and ``weights`` parameters
(in the same order) and the same observables, so it runs on the same engines, under the same
device noise, and a trained quantum core's angles fit it. It asks whether the circuit's
entanglement, rather than its encoding and rotations, is what the network uses.
"""

from __future__ import annotations

from hq_qiskit.circuits.block import QuantumBlock


def without_entanglers(block: QuantumBlock) -> QuantumBlock:
    """``block`` with every gate on two or more qubits removed (named ``<name>_product``).

    Args:
        block: any block; its parameters must all survive (a weight used only by a two-qubit
            gate would leave the product circuit without it, which is refused).

    Returns:
        A block of the same inputs, weights and observables whose circuit has only
        single-qubit gates: its state is a product state for every input and angle.

    Raises:
        ValueError: a parameter of ``block`` appears only in the removed gates.
    """
    source = block.circuit
    circuit = source.copy_empty_like(name=f"{source.name}_product")
    for inst in source.data:
        if inst.operation.num_qubits < 2:
            circuit.append(inst)
    lost = set(source.parameters) - set(circuit.parameters)
    if lost:
        names = ", ".join(sorted(p.name for p in lost))
        raise ValueError(f"{block.name}: parameters {names} appear only in entangling gates")
    return QuantumBlock(
        f"{block.name}_product",
        circuit,
        block.inputs,
        block.weights,
        block.observables,
        block.observable_names,
    )
