"""ESP with idle decoherence: the gate-and-readout ESP times what idle qubits lose to T1/T2.

The gate-only ESP (``layout.estimated_success_probability``) multiplies (1 - error) over the
ISA circuit's gates and one readout per measured qubit. A qubit that waits while others work
also decays. Here the circuit is scheduled as late as possible (ALAP, as IBM pads delays),
with the target's gate durations, and measured at the end, all qubits together:

    t_idle(q) = (time from q's first gate to the end of the circuit) - (its gates' durations)
    F(q)      = (1 + exp(-t_idle(q) / T1(q)) + 2 exp(-t_idle(q) / T2(q))) / 4
    ESP_idle  = ESP x product over the active qubits of F(q)

F is the process fidelity of the thermal-relaxation channel (zero temperature) over
``t_idle`` - the channel Aer's ``thermal_relaxation_error(T1, T2, t)`` builds. Before its first
gate a qubit is in |0> and loses nothing: ALAP starts each qubit as late as it can. Barriers
synchronise their qubits; delays count as idle time. A qubit without T1 (or T2) in the target
contributes that term as 1 (no decay known); a gate without a duration makes the result NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qiskit import QuantumCircuit
from qiskit.transpiler import Target

from hq_qiskit.hardware.layout import estimated_success_probability


def idle_times(circuit: QuantumCircuit, target: Target) -> dict[int, float]:
    """Idle seconds of every active qubit of an ISA circuit under an ALAP schedule.

    Returns:
        physical qubit -> t_idle (seconds); NaN for all when a gate has no duration.
    """
    window: dict[int, float] = {}  # seconds from the end back to the qubit's earliest gate
    busy: dict[int, float] = {}
    unknown = False
    for ins in reversed(circuit.data):  # ASAP on the reversed circuit = ALAP forward
        name = ins.operation.name
        qubits = [circuit.find_bit(q).index for q in ins.qubits]
        if name == "delay":
            continue  # a delay is idle time: the window covers it
        start = max((window.get(q, 0.0) for q in qubits), default=0.0)
        if name == "barrier":
            for q in qubits:
                if q in window:
                    window[q] = start
            continue
        props = target[name].get(tuple(qubits)) if name in target else None
        duration = getattr(props, "duration", None)
        if duration is None:
            unknown = True
            duration = 0.0
        for q in qubits:
            window[q] = start + duration
            busy[q] = busy.get(q, 0.0) + duration
    return {q: math.nan if unknown else max(0.0, window[q] - busy[q]) for q in window}


def idle_fidelity(t_idle: float, t1: float | None, t2: float | None) -> float:
    """(1 + exp(-t/T1) + 2 exp(-t/T2)) / 4; a missing T1 or T2 counts as no decay."""
    d1 = math.exp(-t_idle / t1) if t1 else 1.0
    d2 = math.exp(-t_idle / t2) if t2 else 1.0
    return (1.0 + d1 + 2.0 * d2) / 4.0


def esp_with_idle(circuit: QuantumCircuit, target: Target, measured: Sequence[int]) -> float:
    """ESP_idle = gate-and-readout ESP x the idle qubits' thermal-relaxation fidelities.

    Args:
        circuit: ISA circuit whose qubit i is the target's physical qubit i.
        target: the device target (durations, errors, ``qubit_properties`` T1/T2 in seconds).
        measured: physical qubits read out at the end.
    """
    esp = estimated_success_probability(circuit, target, measured)
    props = target.qubit_properties
    factor = 1.0
    for q, t in idle_times(circuit, target).items():
        if math.isnan(t):
            return math.nan
        qp = props[q] if props is not None and q < len(props) else None
        factor *= idle_fidelity(t, getattr(qp, "t1", None), getattr(qp, "t2", None))
    return esp * factor
