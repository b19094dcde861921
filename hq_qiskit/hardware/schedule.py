"""Scheduled ISA circuits and the device noise they meet: the exact, schedule-aware reference.

A device runs the ISA circuit on a schedule: each qubit starts as late as it can (ALAP, as IBM
pads delays) with the target's gate durations, and every qubit is read at the end, all
together. A qubit that waits while others work decoheres. This module gives that circuit and
its noise explicitly, so that an exact simulator (Aer's density matrix, or the exact noisy
engine, which relaxes delays the same way: ``quantum/noisy/delays.py``) computes what the
device's noise does to it:

- ``scheduled_circuit``: Qiskit's ``ALAPScheduleAnalysis`` + ``PadDelay`` with the target's
  durations, cut to the circuit's active qubits (a delay on every idle window).
- ``device_noise_on(device, qubits)``: an Aer ``NoiseModel`` on those qubits built from the
  snapshot: each native gate's ``from_backend`` error (depolarising fitted to the gate error,
  with thermal relaxation over the gate's duration), thermal relaxation on every delay (Aer's
  ``RelaxationNoisePass``, T2 capped at 2 T1 as Aer does, zero temperature), and readout
  from the snapshot's asymmetric P(1|0), P(0|1) (``readout_probabilities``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.transpiler import PassManager, Target

from hq_qiskit.hardware.layout import restrict_target


def readout_probabilities(device, qubit: int) -> tuple[float, float] | None:
    """(P(read 1 | 0), P(read 0 | 1)) of a physical qubit, or None without readout data.

    The backend's properties give both (``prob_meas1_prep0``, ``prob_meas0_prep1``); the
    target's ``measure`` error is their mean, which drops the offset they make (FakeBrisbane
    qubit 5: 0.369 and 0.002, mean 0.186, an offset of -0.37 on <Z>). Without properties, the
    target's symmetric error is used for both.
    """
    props = device.properties() if callable(getattr(device, "properties", None)) else None
    if props is not None:
        try:
            p10 = props.qubit_property(qubit, "prob_meas1_prep0")[0]
            p01 = props.qubit_property(qubit, "prob_meas0_prep1")[0]
            return float(p10), float(p01)
        except Exception:  # noqa: BLE001 - BackendProperties raises its own error when absent
            pass
    target = device.target
    inst = target["measure"].get((qubit,)) if "measure" in target else None
    if inst is None or not inst.error:
        return None
    return float(inst.error), float(inst.error)


def scheduled_circuit(
    circuit: QuantumCircuit, target: Target, qubits: Sequence[int] | None = None
) -> QuantumCircuit:
    """The ISA circuit scheduled ALAP with the target's durations, on ``qubits`` only.

    Args:
        circuit: ISA circuit whose qubit i is the target's physical qubit i (no measures: every
            qubit is read at the end, together).
        target: the device target (durations in seconds, ``dt``).
        qubits: the physical qubits to keep, in the order of the result's qubits (default: the
            qubits any instruction touches). Every instruction must act inside them.

    Returns:
        A circuit on ``len(qubits)`` qubits with a ``delay`` (in dt) on every idle window.
    """
    from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay

    if qubits is None:
        qubits = sorted(
            {circuit.find_bit(q).index for i in circuit.data for q in i.qubits}
            - _idle_only(circuit)
        )
    pm = PassManager([ALAPScheduleAnalysis(target=target), PadDelay(target=target)])
    scheduled = pm.run(circuit)
    index = {p: i for i, p in enumerate(qubits)}
    out = QuantumCircuit(len(qubits), global_phase=scheduled.global_phase)
    for inst in scheduled.data:
        where = [scheduled.find_bit(q).index for q in inst.qubits]
        if inst.operation.name in ("delay", "barrier") and not all(p in index for p in where):
            continue  # the padding of qubits outside the region
        out.append(inst.operation, [index[p] for p in where])
    return out


def _idle_only(circuit: QuantumCircuit) -> set[int]:
    """Qubits that only carry delays or barriers."""
    busy = {
        circuit.find_bit(q).index
        for i in circuit.data
        if i.operation.name not in ("delay", "barrier")
        for q in i.qubits
    }
    return {circuit.find_bit(q).index for q in circuit.qubits} - busy


def device_noise_on(device, qubits: Sequence[int], *, readout: bool = True):
    """Aer ``NoiseModel`` of ``device``'s snapshot on ``qubits`` (result qubit i = qubits[i]).

    Gate errors as ``NoiseModel.from_backend`` builds them from the target, thermal relaxation
    on delays (``RelaxationNoisePass``), and, with ``readout``, the asymmetric readout errors.
    """
    from qiskit.circuit import Delay
    from qiskit_aer.noise import NoiseModel, ReadoutError
    from qiskit_aer.noise.device.models import basic_device_gate_errors
    from qiskit_aer.noise.passes import RelaxationNoisePass

    sub = restrict_target(device.target, qubits)
    nm = NoiseModel()
    for name, qargs, error in basic_device_gate_errors(target=sub):
        nm.add_quantum_error(error, name, qargs, warnings=False)
    props = [device.target.qubit_properties[q] for q in qubits]
    t1s = [np.inf if p.t1 is None else p.t1 for p in props]
    t2s = [np.inf if p.t2 is None else min(p.t2, 2 * t1) for p, t1 in zip(props, t1s, strict=True)]
    nm._custom_noise_passes.append(  # as from_backend does: no public method in Aer 0.18
        RelaxationNoisePass(t1s, t2s, dt=sub.dt, op_types=Delay, target=sub)
    )
    if readout:
        for i, q in enumerate(qubits):
            probs = readout_probabilities(device, q)
            if probs is not None:
                p10, p01 = probs
                nm.add_readout_error(ReadoutError([[1 - p10, p10], [p01, 1 - p01]]), [i])
    return nm
