"""Errors per gate occurrence, carried by a ``NoiseModel`` for the exact engine.

Aer attaches an error to an (instruction name, ordered qubits) key, so every occurrence of one
key meets the same error. A device's noise is not like that: the channel of a gate depends on
where it runs (its native gates, the windows its qubits wait; ``hardware/device_noise.py``).
A device model therefore carries, beside the per-key errors Aer uses (their mean over
occurrences), the channel of every occurrence of the circuit it was built for, as
``PositionalErrors`` in an attribute of the ``NoiseModel``. The exact engine applies those
(``noise_table.py``) when the circuit it runs begins with that circuit's instructions; Aer
reproduces them exactly on ``aer_circuit(circuit, noise_model)``: the circuit with each
occurrence's channel appended after its gate as an Aer error instruction, and a model
without gate errors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit

log = logging.getLogger(__name__)
ATTRIBUTE = "hq_positional"


@dataclass(frozen=True)
class PositionalErrors:
    """The channel after each gate occurrence of one circuit.

    Attributes:
        signature: (name, qubits) of every instruction of the circuit, in order.
        channels: instruction index -> row-major superoperator (4**k, 4**k) on its qubits, in
            their order; an occurrence without an entry is noiseless.
    """

    signature: tuple[tuple[str, tuple[int, ...]], ...]
    channels: dict[int, np.ndarray]


def signature(circuit: QuantumCircuit) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, qubits) of every instruction of ``circuit``."""
    return tuple(
        (inst.operation.name, tuple(circuit.find_bit(q).index for q in inst.qubits))
        for inst in circuit.data
    )


def attach(noise_model, circuit: QuantumCircuit, channels: dict[int, np.ndarray]) -> None:
    """Store the occurrences' channels of ``circuit`` on ``noise_model``."""
    setattr(noise_model, ATTRIBUTE, PositionalErrors(signature(circuit), dict(channels)))


def matched(noise_model, circuit: QuantumCircuit) -> PositionalErrors | None:
    """The model's positional errors when ``circuit`` begins with their circuit, else None
    (a log line says so when the model has some for another circuit)."""
    errors = getattr(noise_model, ATTRIBUTE, None)
    if errors is None:
        return None
    n = len(errors.signature)
    if signature(circuit)[:n] != errors.signature:
        log.warning(
            "noise: the model's per-occurrence errors were built for another circuit; "
            "its per-key (mean) errors are used"
        )
        return None
    return errors


def _error(m: np.ndarray):
    """Row-major superoperator -> Aer ``QuantumError`` (via Qiskit's column-stacked SuperOp)."""
    from qiskit.quantum_info import Kraus, SuperOp
    from qiskit_aer.noise import QuantumError

    d = int(round(np.sqrt(m.shape[0])))
    s = m.reshape(d, d, d, d).transpose(1, 0, 3, 2).reshape(d * d, d * d)
    return QuantumError(Kraus(SuperOp(s)))


def aer_circuit(circuit: QuantumCircuit, noise_model):
    """What Aer must run to simulate ``circuit`` under the model's per-occurrence errors.

    Returns:
        (circuit with each occurrence's channel as an error instruction after its gate, a
        ``NoiseModel`` with the model's readout errors only). Without positional errors for
        ``circuit``: (circuit, noise_model) unchanged.
    """
    from qiskit_aer.noise import NoiseModel

    errors = matched(noise_model, circuit)
    if errors is None:
        return circuit, noise_model
    out = circuit.copy_empty_like()
    for i, inst in enumerate(circuit.data):
        out.append(inst)
        if i in errors.channels:
            out.append(_error(errors.channels[i]).to_instruction(), inst.qubits)
    readout = NoiseModel()
    for qubits, error in noise_model._local_readout_errors.items():
        readout.add_readout_error(error, list(qubits), warnings=False)
    if noise_model._default_readout_error is not None:
        readout.add_all_qubit_readout_error(noise_model._default_readout_error, warnings=False)
    return out, readout
