"""Where the transpiler put every logical gate: its layout and routing, replayed.

The device model (``device_noise.py``) needs the block's logical circuit as the device runs
it: which physical qubits each logical gate acts on and where routing inserted SWAPs, in the
transpiler's own order, so that its pieces line up with the ISA circuit's two-qubit gates
(``isa_frames.py`` walks both in step). The run that made the ISA circuit is repeated (same
target or region of it, same seed) with an analysis pass right after routing that keeps the
circuit there (logical gates and SWAPs on physical qubits) and the layout at the end of the
run: a later pass of the run can still relabel the physical qubits (on the 2x3 enrichment
block, FakeBrisbane: 61 and 72 exchanged), and running the layout and routing stages alone did
not reproduce the ISA circuit's layouts there, so the block was routed afresh and its pieces
did not line up with the ISA circuit's gates.
"""

from __future__ import annotations

import logging

from qiskit import QuantumCircuit
from qiskit.transpiler import Target, generate_preset_pass_manager

from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.hardware.layout import MappedCircuit, restrict_target

log = logging.getLogger(__name__)


def _run_keeping_routed(block: QuantumBlock, target: Target, level: int, seed: int, initial=None):
    """The preset pass manager run whole, its circuit kept right after routing (logical gates
    plus SWAPs) with the layout it had there. (Its layout and routing stages run alone routed
    the 2x3 enrichment block on FakeBrisbane otherwise than the whole run did.)

    Returns:
        (routed circuit, its qubit holding each logical qubit at the start, at the end).
    """
    from qiskit.converters import dag_to_circuit
    from qiskit.transpiler import AnalysisPass, PassManager

    kept: dict = {}

    class _Keep(AnalysisPass):
        def __init__(self, stage: str) -> None:
            super().__init__()
            self.stage = stage

        def run(self, dag):
            kept[self.stage] = self.property_set["layout"]
            if self.stage == "routed":
                kept["circuit"] = dag_to_circuit(dag)

    pm = generate_preset_pass_manager(
        optimization_level=level, target=target, initial_layout=initial, seed_transpiler=seed
    )
    pm.post_routing = PassManager([_Keep("routed")])
    pm.post_scheduling = PassManager([_Keep("end")])
    pm.run(block.circuit)
    routed, layout = kept["circuit"], kept["end"]
    if layout is not None and kept["routed"] is not None:  # a later pass relabels qubits
        moved = {kept["routed"][v]: layout[v] for v in kept["routed"].get_virtual_bits()}
        relabelled = QuantumCircuit(routed.num_qubits)
        for inst in routed.data:
            relabelled.append(
                inst.operation, [moved[routed.find_bit(q).index] for q in inst.qubits]
            )
        routed = relabelled
    n = block.circuit.num_qubits
    first = list(range(n)) if layout is None else [layout[q] for q in block.circuit.qubits]
    at = {p: v for v, p in enumerate(first)}  # routed qubit -> logical, moved by the SWAPs
    for inst in routed.data:
        if inst.operation.name == "swap":
            a, b = (routed.find_bit(q).index for q in inst.qubits)
            va, vb = at.pop(a, None), at.pop(b, None)
            at.update({p: v for p, v in ((b, va), (a, vb)) if v is not None})
    last = [next(p for p, u in at.items() if u == v) for v in range(n)]
    return routed, first, last


def replay_routing(block: QuantumBlock, target: Target, mapped: MappedCircuit, level: int):
    """Where the transpiler put every logical gate: the run that made ``mapped``, replayed.

    The run that produced ``mapped`` is repeated (same target or the same region of it, same
    seed, no initial layout) and its circuit kept right after routing, so the SWAPs are the
    transpiler's own; it is kept when its initial and final layouts are the ISA circuit's.
    Otherwise the logical circuit is routed afresh from the ISA circuit's initial layout on
    its active qubits.

    Returns:
        The routed circuit, the device qubit of each of its qubits, and the routed circuit's
        qubit holding each logical qubit at the start.
    """
    region = tuple(sorted(set(mapped.active_qubits) | set(mapped.initial_layout)))
    candidates = [(region, restrict_target(target, region))]  # noise_aware: its region
    whole = (tuple(range(target.num_qubits)), target)  # preset runs: the whole device
    candidates.insert(0 if mapped.strategy != "noise_aware" else 1, whole)
    for qubits, sub in candidates:
        try:
            routed, first, last = _run_keeping_routed(block, sub, level, mapped.seed)
        except Exception:  # noqa: BLE001 - a replay that fails falls back to fresh routing
            continue
        if [qubits[i] for i in first] == list(mapped.initial_layout) and [
            qubits[i] for i in last
        ] == list(mapped.final_layout):
            return routed, qubits, first
    sub = restrict_target(target, region)
    initial = [region.index(p) for p in mapped.initial_layout]
    routed, first, _ = _run_keeping_routed(block, sub, level, mapped.seed, initial)
    log.info("device noise: the transpiler's routing was not reproduced; routed afresh")
    return routed, region, first
