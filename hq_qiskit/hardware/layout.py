"""ISA circuits for a device target, with a noise-aware layout that keeps the width small.

Three layout strategies (``Backend.layout``):

- ``preset``: the preset pass manager's own layout and routing (VF2, then Sabre); routing may
  borrow ancilla qubits, which a noisy simulation then has to carry (18-20 active qubits for
  the 16-qubit enrichment QCNN on heavy-hex, each extra qubit doubling Aer's cost);
- ``trivial``: virtual qubit q starts on physical qubit q (a baseline, usually poor);
- ``noise_aware``: candidate regions of exactly ``n`` connected physical qubits are grown from
  every qubit of the device, ranked by the target's error rates, and the circuit is transpiled
  onto each of the best regions alone (a 16-qubit sub-target: routing cannot leave it) over a
  few seeds; the candidate with the highest estimated success probability (ESP) wins. The
  preset results for the same seeds compete too when they borrow no ancilla, so the choice is
  never worse than a narrow preset layout and the simulated width stays at ``n``. Only Qiskit's own
  passes and a scorer are used (mapomatic is unmaintained and does not target BackendV2).

ESP is the product of (1 - error) over every gate of the ISA circuit and one measurement per
measured qubit, the errors taken from the target (its calibration snapshot).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import Target, generate_preset_pass_manager

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.hardware.backends import Backend

if TYPE_CHECKING:
    from qiskit.providers import BackendV2

STRATEGIES = ("preset", "trivial", "noise_aware")
_SKIP = ("barrier", "delay")


@dataclass(frozen=True)
class MappedCircuit:
    """A circuit transpiled to a device target (ISA) and its observables mapped to match.

    Attributes:
        circuit: the ISA circuit, on all of the device's qubits.
        observables: the block's observables on the device's qubits, in the block's order.
        initial_layout: physical qubit of each virtual qubit at the start, (n_virtual,).
        final_layout: physical qubit holding each virtual qubit at the end (after routing
            permutations): where its observables are measured, (n_virtual,).
        strategy: "preset", "trivial" or "noise_aware".
        optimization_level: the preset pass manager level used, 0..3.
        seed: the transpiler seed of the kept candidate.
        swaps: swaps inserted by routing (before translation to the native 2q gate).
        transpile_s: wall time of the whole search, seconds.
    """

    circuit: QuantumCircuit
    observables: tuple[SparsePauliOp, ...]
    initial_layout: tuple[int, ...]
    final_layout: tuple[int, ...]
    strategy: str
    optimization_level: int
    seed: int
    swaps: int
    transpile_s: float

    @property
    def active_qubits(self) -> tuple[int, ...]:
        """Physical qubits touched by a gate: the width a simulator has to carry."""
        return active_qubits(self.circuit)


def active_qubits(circuit: QuantumCircuit) -> tuple[int, ...]:
    """Sorted indices of the qubits that any non-delay, non-barrier instruction acts on."""
    used: set[int] = set()
    for ins in circuit.data:
        if ins.operation.name not in _SKIP:
            used.update(circuit.find_bit(q).index for q in ins.qubits)
    return tuple(sorted(used))


def with_readout(isa: QuantumCircuit) -> QuantumCircuit:
    """The ISA circuit with a final measurement on each active qubit: what a device runs (an
    estimator appends readout), so its duration includes the measurements."""
    qc = isa.copy()
    active = active_qubits(isa)
    creg = ClassicalRegister(len(active), "meas")
    qc.add_register(creg)
    for i, q in enumerate(active):
        qc.measure(q, creg[i])
    return qc


def estimated_success_probability(
    circuit: QuantumCircuit, target: Target, measured: Sequence[int]
) -> float:
    """ESP: product of (1 - error) over the gates of an ISA circuit and one readout per qubit.

    Args:
        circuit: ISA circuit whose qubit i is the target's physical qubit i.
        target: the device target with per-instruction error rates (None counts as 0).
        measured: physical qubits read out at the end.
    """
    log_esp = 0.0
    for ins in circuit.data:
        name = ins.operation.name
        if name in _SKIP:
            continue
        qargs = tuple(circuit.find_bit(q).index for q in ins.qubits)
        props = target[name].get(qargs) if name in target else None
        if props is not None and props.error:
            log_esp += math.log1p(-min(props.error, 1 - 1e-12))
    for q in measured:
        props = target["measure"].get((q,)) if "measure" in target else None
        if props is not None and props.error:
            log_esp += math.log1p(-min(props.error, 1 - 1e-12))
    return math.exp(log_esp)


FRACTIONAL = ("rzz", "rx")  # IBM's fractional gates (Heron, use_fractional_gates=True)


def offers_fractional(target: Target) -> bool:
    """True when the target has IBM's fractional gates, RZZ(theta) and RX(theta)."""
    return all(name in target.operation_names for name in FRACTIONAL)


def fractional_target(target: Target, use: bool) -> Target:
    """The target to transpile for: as given when ``use`` is True (a device fetched with
    ``use_fractional_gates=True`` carries rzz/rx), else without rzz/rx, as IBM's devices are
    served by default (a fake twin's target lists them whenever its snapshot has them)."""
    if use or not any(name in target.operation_names for name in FRACTIONAL):
        return target
    return restrict_target(target, range(target.num_qubits), drop=FRACTIONAL)


def restrict_target(target: Target, qubits: Sequence[int], drop: Sequence[str] = ()) -> Target:
    """A Target on ``len(qubits)`` qubits: sub-qubit i is the device's ``qubits[i]``.

    Instructions, durations and errors are copied for every qubit tuple inside ``qubits``, and
    the qubits' properties (T1, T2, frequency); control-flow and other global entries are left
    out, and so are the instructions named in ``drop``.
    """
    index = {q: i for i, q in enumerate(qubits)}
    props = target.qubit_properties
    sub = Target(
        num_qubits=len(qubits),
        dt=target.dt,
        qubit_properties=None if props is None else [props[q] for q in qubits],
    )
    for name in target.operation_names:
        props = target[name]
        if name in drop or props is None or None in props:  # control flow: skip
            continue
        kept = {
            tuple(index[q] for q in qargs): value
            for qargs, value in props.items()
            if qargs is not None and all(q in index for q in qargs)
        }
        if kept:
            sub.add_instruction(target.operation_from_name(name), kept, name=name)
    return sub


def _edges(target: Target) -> dict[tuple[int, int], float]:
    """Undirected 2q edges -> the lowest error among the gates on that pair."""
    out: dict[tuple[int, int], float] = {}
    for name in target.operation_names:
        props = target[name]
        if props is None or None in props:
            continue
        for qargs, p in props.items():
            if qargs is not None and len(qargs) == 2:
                key = (min(qargs), max(qargs))
                err = p.error if p is not None and p.error is not None else 0.0
                out[key] = min(err, out.get(key, 1.0))
    return out


def _readout(target: Target, q: int) -> float:
    props = target["measure"].get((q,)) if "measure" in target else None
    return props.error if props is not None and props.error is not None else 0.0


def candidate_regions(target: Target, n: int, keep: int = 8) -> list[tuple[int, ...]]:
    """Connected sets of ``n`` physical qubits, best first by a cheap error score.

    A region is grown from every qubit: repeatedly add the neighbour with the most edges into
    the region (compact regions need fewer swaps), ties broken by the lowest mean error of those
    edges. Regions are ranked by the sum of -log(1 - e) over their edges and readouts.
    """
    edges = _edges(target)
    neighbours: dict[int, dict[int, float]] = {}
    for (a, b), e in edges.items():
        neighbours.setdefault(a, {})[b] = e
        neighbours.setdefault(b, {})[a] = e
    if n > target.num_qubits:
        raise CircuitError(
            f"the circuit needs {n} qubits but the device has "
            f"{target.num_qubits}; choose a larger backend"
        )
    seen: set[frozenset[int]] = set()
    scored: list[tuple[float, tuple[int, ...]]] = []
    for start in sorted(neighbours):
        region = [start]
        members = {start}
        while len(region) < n:
            best, best_key = None, None
            for q in {nb for r in region for nb in neighbours[r]} - members:
                links = [neighbours[q][r] for r in neighbours[q] if r in members]
                key = (-len(links), sum(links) / len(links), q)
                if best_key is None or key < best_key:
                    best, best_key = q, key
            if best is None:
                break
            region.append(best)
            members.add(best)
        if len(region) < n or frozenset(region) in seen:
            continue
        seen.add(frozenset(region))
        cost = sum(
            -math.log1p(-min(e, 0.999))
            for (a, b), e in edges.items()
            if a in members and b in members
        )
        cost += sum(-math.log1p(-min(_readout(target, q), 0.999)) for q in region)
        scored.append((cost, tuple(sorted(region))))
    scored.sort()
    return [r for _, r in scored[:keep]]


def _permutation(isa: QuantumCircuit, n_virtual: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(initial, final) physical qubit of each virtual qubit from a transpiled circuit."""
    if isa.layout is None:
        ident = tuple(range(n_virtual))
        return ident, ident
    initial = tuple(isa.layout.initial_index_layout(filter_ancillas=True)[:n_virtual])
    final = tuple(isa.layout.final_index_layout(filter_ancillas=True)[:n_virtual])
    return initial, final


def map_observables(
    observables: Sequence[SparsePauliOp], final_layout: Sequence[int], width: int
) -> tuple[SparsePauliOp, ...]:
    """Move each observable's virtual qubit v onto physical qubit ``final_layout[v]``."""
    return tuple(op.apply_layout(list(final_layout), num_qubits=width) for op in observables)


def _run(pm, circuit: QuantumCircuit) -> tuple[QuantumCircuit, int]:
    """Run a pass manager; returns the output and the swaps routing inserted."""
    swaps = [0]

    def count(pass_, dag, **_):
        swaps[0] = max(swaps[0], dag.count_ops().get("swap", 0))

    return pm.run(circuit, callback=count), swaps[0]


def _preset(circuit, target, level, seed, initial_layout=None):
    pm = generate_preset_pass_manager(
        optimization_level=level, target=target, seed_transpiler=seed, initial_layout=initial_layout
    )
    isa, swaps = _run(pm, circuit)
    initial, final = _permutation(isa, circuit.num_qubits)
    return isa, swaps, initial, final


def _embed(sub_isa: QuantumCircuit, region: Sequence[int], width: int) -> QuantumCircuit:
    """Place a circuit on a sub-target's qubits onto the full device (qubit i -> region[i])."""
    full = QuantumCircuit(width, global_phase=sub_isa.global_phase)
    for ins in sub_isa.data:
        qargs = [region[sub_isa.find_bit(q).index] for q in ins.qubits]
        full.append(ins.operation, qargs, [])
    return full


def transpile_block(
    circuit: QuantumCircuit,
    observables: Sequence[SparsePauliOp],
    target: Target,
    *,
    optimization_level: int = 3,
    seed: int = 0,
    strategy: str = "preset",
    regions: int = 6,
    seeds: int = 3,
) -> MappedCircuit:
    """Transpile a block's circuit to ISA for ``target`` and map its observables.

    Args:
        circuit: the logical circuit, parameters unbound, no measurements.
        observables: its observables on ``circuit.num_qubits`` qubits.
        target: the device target (e.g. ``FakeBrisbane().target``).
        optimization_level: preset pass manager level, 0..3.
        seed: transpiler seed (noise_aware: the first of ``seeds`` consecutive seeds).
        strategy: "preset", "trivial" or "noise_aware" (see the module docstring).
        regions: noise_aware only: how many candidate regions are transpiled.
        seeds: noise_aware only: transpiler seeds tried per region.

    Raises:
        CircuitError: the circuit is wider than the device.
        ConfigError: an unknown strategy.
    """
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"unknown layout strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}"
        )
    n = circuit.num_qubits
    if n > target.num_qubits:
        raise CircuitError(
            f"circuit {circuit.name!r} needs {n} qubits but the device has only "
            f"{target.num_qubits}; choose a larger backend"
        )
    width = target.num_qubits
    start = time.perf_counter()
    if strategy == "trivial":
        isa, swaps, initial, final = _preset(
            circuit, target, optimization_level, seed, initial_layout=list(range(n))
        )
        best = (isa, swaps, initial, final, seed)
    elif strategy == "noise_aware":
        best = _noise_aware(circuit, target, optimization_level, seed, regions, seeds)
    else:
        best = (*_preset(circuit, target, optimization_level, seed), seed)
    isa, swaps, initial, final, used_seed = best
    return MappedCircuit(
        circuit=isa,
        observables=map_observables(observables, final, width),
        initial_layout=initial,
        final_layout=final,
        strategy=strategy,
        optimization_level=optimization_level,
        seed=used_seed,
        swaps=swaps,
        transpile_s=time.perf_counter() - start,
    )


def _noise_aware(
    circuit: QuantumCircuit, target: Target, level: int, seed: int, regions: int, seeds: int
) -> tuple:
    """The "noise_aware" strategy: the best ESP over ``regions`` candidate regions x ``seeds``
    seeds, never worse than a narrow preset result (the preset's own layout at each seed).

    Returns:
        (ISA circuit on the whole target, swaps, initial layout, final layout, seed used).
    """
    n, width = circuit.num_qubits, target.num_qubits
    preset = _preset(circuit, target, level, seed)
    best, best_esp = (*preset, seed), -1.0
    for region in candidate_regions(target, n, keep=regions):
        sub = restrict_target(target, region)
        for s in range(seed, seed + seeds):
            sub_isa, sw, ini, fin = _preset(circuit, sub, level, s)
            full = _embed(sub_isa, region, width)
            fin_phys = tuple(region[i] for i in fin)
            value = estimated_success_probability(full, target, fin_phys)
            if value > best_esp:
                best_esp = value
                best = (full, sw, tuple(region[i] for i in ini), fin_phys, s)
    for s in range(seed, seed + seeds):  # never worse than a narrow preset result
        p_isa, p_sw, p_ini, p_fin = preset if s == seed else _preset(circuit, target, level, s)
        value = estimated_success_probability(p_isa, target, p_fin)
        narrow = len(active_qubits(p_isa)) <= n
        if best_esp < 0 or (narrow and value > best_esp):
            best_esp = value
            best = (p_isa, p_sw, p_ini, p_fin, s)
    return best


_ISA_CACHE: dict[tuple, MappedCircuit] = {}


def isa_block(block: QuantumBlock, entry: Backend, device: BackendV2) -> MappedCircuit:
    """The block transpiled for ``device`` with the entry's level, layout and seed (cached).

    Args:
        block: the logical block.
        entry: the ``backends.toml`` entry (optimization_level, layout, seed_transpiler,
            fractional_gates: rzz/rx are used only when it asks and the device offers them).
        device: a real device or its fake twin (anything with ``.target``, ``.name``).

    The cache key holds the circuit's hash and its parameters' identities (a rebuilt block has
    new ``Parameter`` objects, which the mapped circuit must carry).
    """
    key = (
        block.key,
        tuple(p.uuid for p in block.circuit.parameters),
        getattr(device, "name", "?"),
        device.num_qubits,
        entry.optimization_level,
        entry.layout,
        entry.seed_transpiler,
        entry.fractional_gates,
    )
    if key not in _ISA_CACHE:
        _ISA_CACHE[key] = transpile_block(
            block.circuit,
            block.observables,
            fractional_target(device.target, entry.fractional_gates),
            optimization_level=entry.optimization_level,
            seed=entry.seed_transpiler,
            strategy=entry.layout,
        )
    return _ISA_CACHE[key]
