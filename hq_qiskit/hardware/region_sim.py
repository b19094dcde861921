"""The device region a block uses, as a local simulator for qiskit-ibm-runtime's Executor.

qiskit-ibm-runtime 0.51's client-side ``Estimator`` (``executor_estimator.Estimator``) turns a
PUB into a quantum program that measures *every* qubit of its circuit; on a 127-qubit ISA
circuit its local mode would need a 127-qubit statevector. Locally, hq-qiskit therefore hands
it the ISA circuit cut to its active qubits (``compact``) and a simulator of just those
physical qubits (``region_simulator``): the same Estimator, options and program as a device run,
on the device's region.

``ScheduledSimulator`` schedules every circuit it runs as the device does (ALAP with the
target's durations, a delay on every idle window, ``schedule.scheduled_circuit``'s passes), and
its noise model (``schedule.device_noise_on``) relaxes every delay: idle qubits decohere in every
program the Estimator builds (plain, twirled, ZNE-folded or DD-padded), not only in those that
happen to contain delays.
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator

from hq_qiskit.hardware.layout import MappedCircuit, restrict_target
from hq_qiskit.hardware.schedule import device_noise_on


class ScheduledSimulator(AerSimulator):
    """An ``AerSimulator`` that schedules each circuit ALAP with its target's durations
    (``TimeUnitConversion``, ``ALAPScheduleAnalysis``, ``PadDelay``) before simulating it."""

    def run(self, run_input, **run_options):
        """``AerSimulator.run`` on the scheduled circuit(s); everything else unchanged."""
        if isinstance(run_input, QuantumCircuit):
            return super().run(self.schedule(run_input), **run_options)
        return super().run([self.schedule(c) for c in run_input], **run_options)

    def schedule(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """``circuit`` with a delay (in dt) on every idle window, gates placed ALAP."""
        from qiskit.transpiler import PassManager
        from qiskit.transpiler.passes import ALAPScheduleAnalysis, PadDelay, TimeUnitConversion

        target = self.target
        passes = PassManager(
            [
                TimeUnitConversion(target=target),
                ALAPScheduleAnalysis(target=target),
                PadDelay(target=target),
            ]
        )
        return passes.run(circuit)


def compact(mapped: MappedCircuit) -> tuple[QuantumCircuit, list[SparsePauliOp]]:
    """The ISA circuit and its observables on its active qubits only (qubit i of the result
    is ``mapped.active_qubits[i]``); the gates are unchanged."""
    active = mapped.active_qubits
    index = {q: i for i, q in enumerate(active)}
    isa = mapped.circuit
    qc = QuantumCircuit(len(active), name=isa.name, global_phase=isa.global_phase)
    for ins in isa.data:
        qubits = [isa.find_bit(q).index for q in ins.qubits]
        if ins.operation.name in ("barrier", "delay") and not all(q in index for q in qubits):
            continue
        qc.append(ins.operation, [index[q] for q in qubits])
    observables = [
        SparsePauliOp.from_sparse_list(
            [(p, [index[q] for q in qs], c) for p, qs, c in op.to_sparse_list()], len(active)
        )
        for op in mapped.observables
    ]
    return qc, observables


def region_simulator(mapped: MappedCircuit, device, *, noisy: bool = True) -> AerSimulator:
    """A simulator of the physical qubits ``mapped.active_qubits`` of ``device`` (qubit i is
    ``active_qubits[i]``, as in ``compact``).

    Args:
        mapped: the block's ISA circuit on the device.
        device: a ``BackendV2`` (a fake twin, or an ``AerSimulator`` with its target).
        noisy: the device's noise (``ScheduledSimulator`` with ``device_noise_on``: gate
            errors, thermal relaxation over gates and idle windows, asymmetric readout); False:
            a noiseless ``AerSimulator`` with the region's target.
    """
    active = list(mapped.active_qubits)
    region = restrict_target(device.target, active)
    if not noisy:
        return AerSimulator(target=region)
    return ScheduledSimulator(target=region, noise_model=device_noise_on(device, active))
