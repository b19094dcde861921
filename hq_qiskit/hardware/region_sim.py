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
(``compact(mapped, region)``), and the simulator drops every qubit the block leaves alone
(``idle_qubits``: no gate before the Estimator's measurement layer, no two-qubit gate; ``trim``)
before simulating, when what is left is exactly one block's qubits; so a PUB costs its own
block's width, not the union's (HQF-Net's 8 blocks span 32 qubits of FakeBrisbane: a 32-qubit
statevector needs 64 GiB). Such a qubit's state is a product factor that no observable of the
block reads, so the values are unchanged (HQF-Net's run gave bit-identical values to one job
per block). A circuit of any other shape runs whole. Runs apply no mitigation locally, so the
Estimator's programs there keep the plain shape (block, full barrier, basis change, measure).
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


def idle_qubits(circuit: QuantumCircuit) -> set[int]:
    """The qubits of ``circuit`` that no gate of the block touches.

    The runtime's Estimator ends every PUB circuit with its measurement layer on every qubit
    (basis-change rotations and measurements, after a barrier across all qubits): a qubit of
    the region that the block leaves alone gets single-qubit gates there too. So a qubit is
    idle when no gate acts on it before the first barrier across every qubit (or, without one,
    nowhere) and no multi-qubit gate acts on it anywhere; its state stays a product factor
    that no observable of the block reads. hq-qiskit's blocks hold no barriers, and ``compact``
    keeps only a block's own ones, so that first full barrier is always the Estimator's.
    """
    n = circuit.num_qubits
    gated, joined, full = set(), set(), False
    for ins in circuit.data:
        qubits = [circuit.find_bit(q).index for q in ins.qubits]
        name = ins.operation.name
        if name == "barrier" and len(qubits) == n:
            full = True
        elif name not in _PASSIVE:
            if not full:
                gated.update(qubits)
            if len(qubits) > 1:
                joined.update(qubits)
    return set(range(n)) - gated - joined


def trim(circuit: QuantumCircuit, blocks: Iterable[Iterable[int]]) -> QuantumCircuit:
    """``circuit`` without the instructions on its ``idle_qubits`` (their measurements,
    delays, basis changes, barrier legs), when the qubits left are exactly one of ``blocks``
    (each block's qubits, as circuit indices); else ``circuit`` unchanged. Aer then leaves the
    idle qubits out, so a block costs its own width in a wider region. The check keeps a
    circuit of another shape whole (a TREX calibration, a twirled program whose first barrier
    comes before the block's gates, a block whose qubits meet no two-qubit gate): slower, never
    wrong. Same qubits, clbits and metadata; an idle qubit's clbit reads 0."""
    idle = idle_qubits(circuit)
    kept = frozenset(range(circuit.num_qubits)) - idle
    if not idle or kept not in {frozenset(b) for b in blocks}:
        return circuit
    out = circuit.copy_empty_like()
    for ins in circuit.data:
        legs = [q for q in ins.qubits if circuit.find_bit(q).index not in idle]
        if ins.operation.name == "barrier":
            if legs:
                out.barrier(*legs, label=ins.operation.label)
        elif len(legs) == len(ins.qubits):
            out.append(ins)
    return out


class RegionSimulator(AerSimulator):
    """An ``AerSimulator`` of a device region that simulates each circuit ``trim``-med to the
    block it belongs to: a PUB of one block costs that block's width even when the region
    holds several blocks.

    Attributes:
        block_sets: each block's qubits as region indices (set by ``region_simulator``);
            empty: nothing is trimmed.
    """

    block_sets: tuple[frozenset[int], ...] = ()

    def run(self, run_input, **run_options):
        """``AerSimulator.run`` on the prepared circuit(s); everything else unchanged."""
        if isinstance(run_input, QuantumCircuit):
            return super().run(self.prepare(run_input), **run_options)
        return super().run([self.prepare(c) for c in run_input], **run_options)

    def prepare(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """The circuit as simulated: ``trim``-med."""
        return trim(circuit, self.block_sets)


class ScheduledSimulator(RegionSimulator):
    """A ``RegionSimulator`` that schedules each circuit ALAP with its target's durations
    (``TimeUnitConversion``, ``ALAPScheduleAnalysis``, ``PadDelay``) before simulating it."""

    def prepare(self, circuit: QuantumCircuit) -> QuantumCircuit:
        """The circuit as simulated: scheduled, then ``trim``-med (an idle qubit's padding
        goes with it)."""
        return trim(self.schedule(circuit), self.block_sets)

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
    mapped: MappedCircuit | Sequence[int],
    device,
    *,
    noisy: bool = True,
    blocks: Iterable[Sequence[int]] = (),
) -> AerSimulator:
    """A simulator of the physical qubits ``mapped.active_qubits`` (or the qubits given) of
    ``device`` (qubit i is the i-th of them, as in ``compact``).

    Args:
        mapped: the block's ISA circuit on the device, or a region (``run_region``).
        device: a ``BackendV2`` (a fake twin, or an ``AerSimulator`` with its target).
        noisy: the device's noise (``ScheduledSimulator`` with ``device_noise_on``: gate
            errors, thermal relaxation over gates and idle windows, asymmetric readout); False:
            a noiseless ``RegionSimulator`` with the region's target.
        blocks: the active qubits (physical) of the blocks that share a region: a circuit
            holding exactly one of them is simulated without the rest (``trim``).
    """
    active = list(mapped.active_qubits if isinstance(mapped, MappedCircuit) else mapped)
    region = restrict_target(device.target, active)
    if noisy:
        sim: RegionSimulator = ScheduledSimulator(
            target=region, noise_model=device_noise_on(device, active)
        )
    else:
        sim = RegionSimulator(target=region)
    sim.block_sets = tuple(frozenset(active.index(q) for q in b) for b in blocks)
    return sim
