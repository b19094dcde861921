"""How much of a device's noise the logical device model captures, against an exact reference.

The reference is what the device's noise does to the circuit it really runs: the block's ISA
circuit (the same transpilation the device model uses, ``DeviceNoise.mapped``), scheduled ALAP
with a delay on every idle window and simulated exactly with the snapshot's noise
(``schedule.py``: gate errors, thermal relaxation on delays, asymmetric readout). The exact
noisy engine computes it (it matches Aer's density matrix of the same circuit to 1e-8:
``tests/hardware/test_idle_schedule.py``). Per block, inputs and weights:

    captured = 1 - sum |<O>_model - <O>_ref| / sum |<O>_ref - <O>_ideal|

summed over the block's observables and the samples: 1 when the model gives the reference's
values, 0 when it is no closer to them than the ideal circuit is (negative when farther).
"""

from __future__ import annotations

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.schedule import device_noise_on, scheduled_circuit


def _active(mapped: MappedCircuit) -> list[int]:
    circuit = mapped.circuit
    busy = {
        circuit.find_bit(q).index
        for inst in circuit.data
        if inst.operation.name not in ("delay", "barrier")
        for q in inst.qubits
    }
    return sorted(busy | set(mapped.final_layout))


def reference_values(
    block: QuantumBlock,
    mapped: MappedCircuit,
    device,
    x: np.ndarray,
    w: np.ndarray,
    *,
    idle: bool = True,
) -> np.ndarray:
    """Exact values of the scheduled ISA circuit under the snapshot's noise: (B, n_obs).

    Args:
        block: the block whose ISA circuit ``mapped`` is.
        mapped: its transpilation for ``device``.
        device: the fake backend (target and properties).
        x: inputs (B, n_in); w: weights (n_w,), radians.
        idle: with thermal relaxation on the idle windows (False: the gate errors and readout
            only, to measure what the idle part is).
    """
    from hq_qiskit.quantum.noisy.engine import NoisyEngine

    qubits = _active(mapped)
    index = {p: i for i, p in enumerate(qubits)}
    observables = [
        SparsePauliOp.from_sparse_list(
            [(letters, [index[q] for q in where], c) for letters, where, c in o.to_sparse_list()],
            len(qubits),
        )
        for o in mapped.observables
    ]
    noise = device_noise_on(device, qubits)
    if not idle:
        noise._custom_noise_passes.clear()
    circuit = scheduled_circuit(mapped.circuit, device.target, qubits)
    module = NoisyEngine(
        circuit,
        block.inputs,
        block.weights,
        observables,
        noise=noise,
        dtype=torch.float64,
        initial_weights=torch.as_tensor(w, dtype=torch.float64),
    )
    with torch.no_grad():
        return module(torch.as_tensor(x, dtype=torch.float64)).numpy()


def captured(model: np.ndarray, reference: np.ndarray, ideal: np.ndarray) -> float:
    """1 - sum |model - reference| / sum |reference - ideal| (module docstring)."""
    signal = float(np.abs(reference - ideal).sum())
    return 1.0 - float(np.abs(model - reference).sum()) / signal
