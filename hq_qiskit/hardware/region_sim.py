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

Several blocks share one simulator (one job of several PUBs, one Batch for a run): the region is
then the union of their active qubits (``run_region``), each block's circuit is cut onto it
(``compact(mapped, region)``), and the simulator drops every qubit a circuit leaves untouched
(``trim``: only measured, delayed or crossed by a barrier) before simulating, so a PUB costs its
own block's width, not the union's; a qubit no gate touches stays in |0>, a product factor that
no observable of the block reads, so the values are unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer import AerSimulator

from hq_qiskit.hardware.layout import MappedCircuit, restrict_target
from hq_qiskit.hardware.schedule import device_noise_on

# what leaves a qubit untouched: it is only measured, padded or crossed by a barrier
_PASSIVE = frozenset({"measure", "delay", "barrier"})


def trim(circuit: QuantumCircuit) -> QuantumCircuit:
    """``circuit`` without the instructions on qubits no gate touches (their measurements,
    delays, barrier legs): Aer then leaves those qubits out. Same qubits, clbits and metadata;
    a trimmed qubit's clbit reads 0."""
    touched = {
        circuit.find_bit(q).index
        for ins in circuit.data
        if ins.operation.name not in _PASSIVE
        for q in ins.qubits
    }
    if len(touched) == circuit.num_qubits:
        return circuit
    out = circuit.copy_empty_like()
    for ins in circuit.data:
        kept = [q for q in ins.qubits if circuit.find_bit(q).index in touched]
        if ins.operation.name == "barrier":
            if kept:
                out.barrier(*kept)
        elif len(kept) == len(ins.qubits):
            out.append(ins)
    return out


class RegionSimulator(AerSimulator):
    """An ``AerSimulator`` of a device region that simulates each circuit ``trim``-med: a PUB
    of one block costs that block's width even when the region holds several blocks."""

    def run(self, run_input, **run_options):
        """``AerSimulator.run`` on the prepared circuit(s); everything else unchanged."""
        if isinstance(run_input, QuantumCircuit):
            return super().run(self.prepare(run_input), **run_options)
        return super().run([self.prepare(c) for c in run_input], **run_options)

    def prepare(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """The circuit as simulated: ``trim``-med."""
        return trim(circuit)


class ScheduledSimulator(RegionSimulator):
    """A ``RegionSimulator`` that schedules each circuit ALAP with its target's durations
    (``TimeUnitConversion``, ``ALAPScheduleAnalysis``, ``PadDelay``) before simulating it."""

    def prepare(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """The circuit as simulated: scheduled, then ``trim``-med (a trimmed qubit's idle
        padding goes with it)."""
        return trim(self.schedule(circuit))

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


def run_region(blocks: Iterable[MappedCircuit]) -> tuple[int, ...]:
    """The physical qubits a simulator must carry for ``blocks``: their active qubits' union,
    sorted."""
    return tuple(sorted({q for m in blocks for q in m.active_qubits}))


def compact(
    mapped: MappedCircuit, region: Sequence[int] | None = None
) -> tuple[QuantumCircuit, list[SparsePauliOp]]:
    """The ISA circuit and its observables on the physical qubits ``region`` only (default:
    its active qubits; qubit i of the result is ``region[i]``, which must hold every active
    qubit); the gates are unchanged."""
    active = tuple(mapped.active_qubits if region is None else region)
    if not set(mapped.active_qubits) <= set(active):
        raise ValueError(f"region {active} lacks active qubits of {mapped.active_qubits}")
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


def region_simulator(
    mapped: MappedCircuit | Sequence[int], device, *, noisy: bool = True
) -> AerSimulator:
    """A simulator of the physical qubits ``mapped.active_qubits`` (or the qubits given) of
    ``device`` (qubit i is the i-th of them, as in ``compact``).

    Args:
        mapped: the block's ISA circuit on the device, or a region (``run_region``).
        device: a ``BackendV2`` (a fake twin, or an ``AerSimulator`` with its target).
        noisy: the device's noise (``ScheduledSimulator`` with ``device_noise_on``: gate
            errors, thermal relaxation over gates and idle windows, asymmetric readout); False:
            a noiseless ``RegionSimulator`` with the region's target.
    """
    active = list(mapped.active_qubits if isinstance(mapped, MappedCircuit) else mapped)
    region = restrict_target(device.target, active)
    if not noisy:
        return RegionSimulator(target=region)
    return ScheduledSimulator(target=region, noise_model=device_noise_on(device, active))
