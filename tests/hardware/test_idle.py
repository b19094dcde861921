"""ESP with idle decoherence (``hardware/idle.py``) on a hand-checkable two-qubit circuit, and
against Aer's own thermal-relaxation channel."""

from __future__ import annotations

import math

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import CZGate, Measure, XGate
from qiskit.providers import QubitProperties
from qiskit.quantum_info import process_fidelity
from qiskit.transpiler import InstructionProperties, Target
from qiskit_aer.noise import thermal_relaxation_error

from hq_qiskit.hardware.idle import esp_with_idle, idle_fidelity, idle_times
from hq_qiskit.hardware.layout import estimated_success_probability

T1, T2 = (100e-6, 50e-6), (80e-6, 60e-6)  # seconds, qubits 0 and 1


def tiny_target() -> Target:
    """Two qubits: X 50 ns (error 1e-3), CZ 100 ns (error 1e-2), readout 1 us (error 2e-2)."""
    t = Target(
        num_qubits=2,
        qubit_properties=[QubitProperties(t1=T1[q], t2=T2[q]) for q in range(2)],
    )
    t.add_instruction(XGate(), {(q,): InstructionProperties(50e-9, 1e-3) for q in range(2)})
    t.add_instruction(CZGate(), {(0, 1): InstructionProperties(100e-9, 1e-2)})
    t.add_instruction(Measure(), {(q,): InstructionProperties(1e-6, 2e-2) for q in range(2)})
    return t


def test_idle_time_and_esp_by_hand():
    qc = QuantumCircuit(2)
    qc.cz(0, 1)
    qc.x(0)
    qc.x(0)  # qubit 1 waits 100 ns after the CZ while qubit 0 runs two X
    target = tiny_target()
    assert idle_times(qc, target) == pytest.approx({0: 0.0, 1: 100e-9})
    gate_esp = (1 - 1e-2) * (1 - 1e-3) ** 2 * (1 - 2e-2) ** 2
    assert estimated_success_probability(qc, target, [0, 1]) == pytest.approx(gate_esp)
    t = 100e-9
    idle = (1 + math.exp(-t / T1[1]) + 2 * math.exp(-t / T2[1])) / 4
    assert esp_with_idle(qc, target, [0, 1]) == pytest.approx(gate_esp * idle, rel=1e-12)
    assert esp_with_idle(qc, target, [0, 1]) < gate_esp


def test_alap_leaves_a_late_starting_qubit_without_idle_time():
    qc = QuantumCircuit(2)
    qc.x(0)
    qc.x(0)
    qc.cz(0, 1)  # qubit 1 sits in |0> until the CZ: no decay, no idle time
    assert idle_times(qc, tiny_target()) == pytest.approx({0: 0.0, 1: 0.0})


def test_the_idle_factor_is_aers_thermal_relaxation_process_fidelity():
    for t in (0.0, 1e-7, 5e-6, 4e-5):
        channel = thermal_relaxation_error(T1[0], T2[0], t)
        assert idle_fidelity(t, T1[0], T2[0]) == pytest.approx(
            process_fidelity(channel.to_quantumchannel()), abs=1e-12
        )


def test_a_gate_without_duration_gives_nan():
    target = tiny_target()
    target.update_instruction_properties("cz", (0, 1), InstructionProperties(None, 1e-2))
    qc = QuantumCircuit(2)
    qc.cz(0, 1)
    assert math.isnan(esp_with_idle(qc, target, [0, 1]))


def test_alap_gaps_by_hand():
    """The device model's native schedule (``native_schedule.alap_gaps``): a CZ (100 ns) then
    two X (50 ns) on qubit 0: qubit 1 waits 100 ns after the CZ until the common end."""
    from hq_qiskit.hardware.native_schedule import alap_gaps

    gaps = alap_gaps([((0, 1), 100e-9), ((0,), 50e-9), ((0,), 50e-9)])
    assert gaps == [pytest.approx({0: 0.0, 1: 100e-9}), {0: 0.0}, {0: 0.0}]
    # ALAP: a qubit's first gate starts as late as it can, so nothing idles before it
    gaps = alap_gaps([((0,), 50e-9), ((0,), 50e-9), ((0, 1), 100e-9), ((1,), 30e-9)])
    assert gaps[2] == pytest.approx({0: 30e-9, 1: 0.0}) and gaps[0] == {0: 0.0}
