"""QuantumBlock: a parametrised circuit together with its inputs, weights and observables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp


@dataclass(frozen=True)
class QuantumBlock:
    """Everything an executor needs to run one quantum block.

    Attributes:
        name: registry name, also the stem of the exported files in ``circuits/``.
        circuit: the circuit; its parameters are exactly ``inputs`` and ``weights``.
        inputs: data parameters, bound per sample (angles in radians after scaling).
        weights: trainable parameters, radians, shared by all samples.
        observables: one ``SparsePauliOp`` per output, on ``circuit.num_qubits`` qubits.
        observable_names: a label per observable, e.g. ``"Z3"``.
    """

    name: str
    circuit: QuantumCircuit
    inputs: ParameterVector
    weights: ParameterVector
    observables: tuple[SparsePauliOp, ...]
    observable_names: tuple[str, ...]

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_weights(self) -> int:
        return len(self.weights)

    @property
    def n_outputs(self) -> int:
        return len(self.observables)

    @property
    def key(self) -> str:
        """A stable 16-hex-digit hash of the circuit and its observables (OpenQASM 3 text).

        Equal for rebuilt copies of the same block; used to key transpilation and noise caches.
        """
        from qiskit import qasm3

        text = qasm3.dumps(self.circuit) + "|" + ",".join(self.observable_names)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def single_qubit_observables(
    n_qubits: int, paulis: str = "ZX"
) -> tuple[tuple[SparsePauliOp, ...], tuple[str, ...]]:
    """<P_q> for each Pauli letter in ``paulis`` and each qubit, letter-major.

    With ``paulis="ZX"`` and 16 qubits the order is Z0..Z15, X0..X15 (32 observables).
    """
    ops, names = [], []
    for letter in paulis:
        for q in range(n_qubits):
            ops.append(SparsePauliOp.from_sparse_list([(letter, [q], 1.0)], num_qubits=n_qubits))
            names.append(f"{letter}{q}")
    return tuple(ops), tuple(names)
