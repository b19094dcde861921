"""Idle windows of the device model's native circuit, for ``device_noise.py``.

The device model cuts the routed logical circuit into pieces (two-qubit blocks and trailing
one-qubit runs) and translates each alone to native gates (``native_errors.py``). Here those
native gates, piece after piece, are scheduled as a device runs them: as late as possible
(ALAP) with the target's durations, every qubit read at the end, together. A qubit then waits
after a native gate until its next gate (or the end): that window is where it decoheres, and
``NativeErrors.channel`` puts the qubit's thermal relaxation over it right after that gate, in
the frame where it acts. Before its first gate a qubit is in |0> and loses nothing (ALAP
starts it as late as it can), so nothing is put there.

Pieces are ordered by their last event: a piece closes before the next piece on any of its
qubits opens (``device_noise._pair_blocks``), so this order is a valid circuit order.
"""

from __future__ import annotations

from collections.abc import Sequence

from qiskit import QuantumCircuit

Gaps = list[dict[int, float]]  # per native gate of a piece: piece-local qubit -> idle seconds


def pair_fragment(members: list[int], events: list[dict], pair: tuple[int, int]) -> QuantumCircuit:
    """A two-qubit block's gates on (pair[0], pair[1]) = local (0, 1); a routing SWAP as three
    CX (a final swap would otherwise be elided by the translation)."""
    frag = QuantumCircuit(2)
    for e in members:
        ev = events[e]
        local = [pair.index(p) for p in ev["sub"]]
        if ev["index"] is None:
            frag.cx(local[0], local[1])
            frag.cx(local[1], local[0])
            frag.cx(local[0], local[1])
        else:
            frag.append(ev["op"], local)
    return frag


def loose_fragment(members: list[int], events: list[dict]) -> QuantumCircuit:
    """A one-qubit run's gates on local qubit 0."""
    frag = QuantumCircuit(1)
    for e in members:
        frag.append(events[e]["op"], [0])
    return frag


def alap_gaps(gates: Sequence[tuple[tuple[int, ...], float]]) -> list[dict[int, float]]:
    """Idle seconds after each gate on each of its qubits, ALAP, all qubits ending together.

    Args:
        gates: (qubits, duration in seconds) in circuit order.

    Returns:
        Per gate, qubit -> seconds from the gate's end to the qubit's next gate (or the end).
    """
    after: dict[int, float] = {}  # reverse time: from the end back to the qubit's next gate
    out: list[dict[int, float]] = [{} for _ in gates]
    for i in range(len(gates) - 1, -1, -1):
        qubits, duration = gates[i]
        start = max(after.get(q, 0.0) for q in qubits)
        out[i] = {q: start - after.get(q, 0.0) for q in qubits}
        for q in qubits:
            after[q] = start + duration
    return out


def isa_windows(circuit: QuantumCircuit, target) -> dict[int, dict[int, float]]:
    """Idle seconds of each qubit of an ISA circuit (ALAP), by how many two-qubit gates the
    qubit has had before the window: physical qubit -> {k: seconds}.

    ALAP pushes one-qubit gates late, right before the next two-qubit gate, so a qubit's
    window after its k-th two-qubit gate opens right after that gate. Windows before a qubit's
    first two-qubit gate (k = 0) find it in |0>, where relaxation does nothing: left out.
    """
    gates, counts = [], []
    seen: dict[int, int] = {}
    for inst in circuit.data:
        name = inst.operation.name
        if name in ("barrier", "delay"):
            continue
        qubits = tuple(circuit.find_bit(q).index for q in inst.qubits)
        props = target[name].get(qubits) if name in target else None
        gates.append((qubits, float(getattr(props, "duration", None) or 0.0)))
        if len(qubits) == 2:
            for q in qubits:
                seen[q] = seen.get(q, 0) + 1
        counts.append({q: seen.get(q, 0) for q in qubits})
    out: dict[int, dict[int, float]] = {}
    for gap, k in zip(alap_gaps(gates), counts, strict=True):
        for q, seconds in gap.items():
            if seconds > 0 and k[q] > 0:
                out.setdefault(q, {})
                out[q][k[q]] = out[q].get(k[q], 0.0) + seconds
    return out


def _from_isa(timeline: list, region: Sequence[int], isa: dict, gaps: list) -> list:
    """Replace the model's own windows by the ISA circuit's, qubit by qubit, where the qubit
    has as many two-qubit gates in both: the ISA window after its k-th two-qubit gate goes
    right after the model's k-th (the same place, ALAP). Other qubits keep the model's."""
    two_q: dict[int, list[int]] = {}  # sub qubit -> timeline indices of its 2q natives
    for t, (_, _, qubits, _) in enumerate(timeline):
        if len(qubits) == 2:
            for q in qubits:
                two_q.setdefault(q, []).append(t)
    isa_counts: dict[int, int] = {}
    out = [dict(g) for g in gaps]
    for q, where in two_q.items():
        windows = isa.get(region[q], {})
        if windows and max(windows) > len(where):
            continue  # the ISA circuit has more two-qubit gates on it: keep the model's
        for g in out:
            g.pop(q, None)
        for k, seconds in windows.items():
            out[where[k - 1]][q] = seconds
        isa_counts[q] = len(where)
    return out


def idle_windows(
    blocks: list,
    loose: dict[int, list[int]],
    events: list[dict],
    natives,
    region: Sequence[int],
    isa: QuantumCircuit | None = None,
) -> dict[tuple, Gaps]:
    """The idle window after every native gate of every piece.

    Args:
        blocks: two-qubit pieces ((sub pair), event indices), as ``device_noise._pair_blocks``.
        loose: sub qubit -> its trailing one-qubit events.
        events: the routed circuit's events (``device_noise._walk``).
        natives: the ``NativeErrors`` of the target (translations and durations).
        region: device qubit of each sub qubit.
        isa: the transpiler's ISA circuit: where given, its windows (``isa_windows``) replace
            the model's own schedule on the qubits whose two-qubit gates match.

    Returns:
        ("pair", block id) or ("loose", sub qubit) -> per native gate of the piece's
        translation, piece-local qubit -> idle seconds after it.
    """
    pieces = [
        (("pair", bid), members[-1], pair, pair_fragment(members, events, pair))
        for bid, (pair, members) in enumerate(blocks)
    ]
    pieces += [
        (("loose", p), members[-1], (p,), loose_fragment(members, events))
        for p, members in loose.items()
    ]
    pieces.sort(key=lambda piece: piece[1])
    timeline: list[tuple[tuple, int, tuple[int, ...], float]] = []
    sizes: dict[tuple, int] = {}
    for key, _, sub, frag in pieces:
        gates, _ = natives.translate(frag, tuple(region[s] for s in sub))
        sizes[key] = len(gates)
        for g, (name, local, _op) in enumerate(gates):
            qubits = tuple(sub[i] for i in local)
            duration = natives.duration(name, tuple(region[q] for q in qubits))
            timeline.append((key, g, qubits, duration))
    gaps = alap_gaps([(qubits, duration) for _, _, qubits, duration in timeline])
    if isa is not None:
        gaps = _from_isa(timeline, region, isa_windows(isa, natives.target), gaps)
    out: dict[tuple, Gaps] = {key: [{} for _ in range(n)] for key, n in sizes.items()}
    subs = {key: sub for key, _, sub, _ in pieces}
    for (key, g, _, _), gap in zip(timeline, gaps, strict=True):
        out[key][g] = {subs[key].index(q): s for q, s in gap.items() if s > 0}
    return out
