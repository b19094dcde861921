"""Native errors in the ISA circuit's own frame, for ``device_noise.py``.

The device model translates each piece of the routed logical circuit alone and carries its
native errors to the end of the piece through the piece's own native gates. The transpiler,
though, translates the whole circuit and merges one-qubit gates across pieces, so around a
two-qubit native gate the ISA circuit's local rotations can differ from the piece's: where
they differ by more than a Z rotation (an X flip around an ECR, say), thermal relaxation
during and after the gate acts in another frame, and pulls towards another state.

Here the frame is taken from the ISA circuit itself. Qubit by qubit, both circuits are walked
in step: the routed logical circuit (``device_noise._walk``'s events) and the ISA circuit
(physical qubit ``region[s]`` for routed qubit s). Each qubit's frame W (ISA state = W .
logical state, a one-qubit unitary) is known after every two-qubit operation: a piece (the
logical one-qubit gates l since the qubits' previous two-qubit operations, then the
operation G_log on (a, b)) matches the ISA gates since the previous two-qubit gates on a and
b up to the end of their run of two-qubit gates on the pair (unitary S), and the frame after
it is S (W_a x W_b) (G_log l)^dagger, factored into two one-qubit unitaries. The piece's
native errors are those ISA gates' errors (Aer's ``from_backend`` errors, and the ISA
circuit's idle window after each two-qubit gate, ALAP, as thermal relaxation), carried to the
end of the segment through its gates and moved into the logical frame:
F = Ad(W^dagger) . N . Ad(S)^dagger . Ad(W). A qubit's ISA gates after its last two-qubit gate
go the same way to its trailing logical run. Channels are computed at uniform angle draws of
the block's parameters and averaged over them (the two-qubit parts agree across draws on the
enrichment QCNN; one-qubit errors carried through parametrised rotations do not, the limit
that is left).

Where the walk cannot match the two circuits (a qubit's next ISA two-qubit gate is not on the
same pair, or the frame after an operation is not a product), the qubits involved keep the
piece's own translation from then on (``device_noise`` falls back to
``NativeErrors.channel``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterExpression

from hq_qiskit.hardware.native_errors import SKIP, bound_matrix, embed
from hq_qiskit.hardware.native_schedule import isa_windows
from hq_qiskit.quantum.noisy.channels import unitary_superop

I2 = np.eye(2, dtype=complex)


def _on_pair(u: np.ndarray, positions: Sequence[int]) -> np.ndarray:
    """A one- or two-qubit unitary on local ``positions`` of a pair: (4, 4), little-endian."""
    if len(positions) == 1:
        return np.kron(I2, u) if positions[0] == 0 else np.kron(u, I2)
    if tuple(positions) == (0, 1):
        return u
    swap = np.eye(4, dtype=complex)[[0, 2, 1, 3]]
    return swap @ u @ swap


def _factor(m: np.ndarray, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray] | None:
    """(A, B) with m = kron(B, A) (A on local qubit 0), or None when m is not a product."""
    t = m.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)  # (b b'), (a a')
    u, s, vh = np.linalg.svd(t)
    if s[1] > tol * s[0]:
        return None
    b = np.sqrt(s[0]) * u[:, 0].reshape(2, 2)
    a = np.sqrt(s[0]) * vh[0].reshape(2, 2)
    return a, b


class _IsaWalk:
    """The ISA circuit's gates per physical qubit, consumed in step with the logical walk."""

    def __init__(self, isa: QuantumCircuit) -> None:
        self.gates: list[tuple[object, tuple[int, ...]]] = []
        self.per_qubit: dict[int, list[int]] = {}
        for inst in isa.data:
            if inst.operation.name in SKIP or inst.operation.name == "measure":
                continue
            qubits = tuple(isa.find_bit(q).index for q in inst.qubits)
            for q in qubits:
                self.per_qubit.setdefault(q, []).append(len(self.gates))
            self.gates.append((inst.operation, qubits))
        self.at = {q: 0 for q in self.per_qubit}

    def peek(self, q: int) -> int | None:
        """Index of qubit q's next ISA gate, or None at its end."""
        ops = self.per_qubit.get(q, [])
        return ops[self.at[q]] if self.at.get(q, 0) < len(ops) else None

    def ones(self, q: int) -> list[int]:
        """Consume qubit q's one-qubit gates up to its next two-qubit gate."""
        out = []
        while (g := self.peek(q)) is not None and len(self.gates[g][1]) == 1:
            out.append(g)
            self.at[q] += 1
        return out

    def run(self, a: int, b: int) -> list[int] | None:
        """Consume the run of two-qubit gates on {a, b} (with one-qubit gates between them,
        not after the last): None when the next two-qubit gate of a or b is not on the pair."""
        first_a, first_b = self.peek(a), self.peek(b)
        if first_a is None or first_a != first_b or set(self.gates[first_a][1]) != {a, b}:
            return None
        out: list[int] = []
        while True:
            g = self.peek(a)
            if g is None or g != self.peek(b) or set(self.gates[g][1]) != {a, b}:
                break
            out.append(g)
            self.at[a] += 1
            self.at[b] += 1
            gap = []
            for q in (a, b):  # one-qubit gates, kept only if the pair's run goes on
                saved = self.at[q]
                ones = self.ones(q)
                gap.append((q, saved, ones))
            nxt = self.peek(a)
            if nxt is not None and nxt == self.peek(b) and set(self.gates[nxt][1]) == {a, b}:
                out.extend(g for _, _, ones in gap for g in ones)
            else:
                for q, saved, _ in gap:
                    self.at[q] = saved
                break
        return sorted(out)


@dataclass
class IsaFrames:
    """The pieces' native errors in the ISA circuit's frame.

    Attributes:
        pairs: piece id -> (16, 16) row-major channel on the piece's pair (local 0 =
            pair[0]), to act right after the piece's two-qubit operation.
        trailing: routed qubit -> (4, 4) channel of the ISA gates after its last two-qubit
            gate, to act after the qubit's last logical gate.
        counts: native gate name -> how many of the ISA circuit's gates these carry.
    """

    pairs: dict[int, np.ndarray] = field(default_factory=dict)
    trailing: dict[int, np.ndarray] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def pair_channels(
    events: list[dict],
    blocks: list,
    loose: dict[int, list[int]],
    region: Sequence[int],
    isa: QuantumCircuit,
    natives,
    draws: int = 8,
) -> IsaFrames:
    """Each piece's native errors in the ISA circuit's frame, where it matches.

    A piece's channel carries the errors of the ISA gates between the previous two-qubit
    gates on its qubits and the end of its run of two-qubit gates (one-qubit gates' errors,
    two-qubit gates' errors and the idle window after each two-qubit gate), as the piece
    itself holds the logical gates since the previous two-qubit operations.

    Args:
        events: the routed circuit's events (``device_noise._walk``).
        blocks: the pieces ((sub pair), event indices), as ``device_noise._pair_blocks``.
        loose: routed qubit -> its one-qubit events after its last two-qubit one.
        region: device qubit of each routed (sub) qubit.
        isa: the transpiler's ISA circuit on the device's qubits.
        natives: ``NativeErrors`` (or ``ScaledNatives``) of the target: errors, relaxation.
        draws: uniform angle draws of the parameters the channels are averaged over.

    Returns:
        The ``IsaFrames``; pieces and runs not matched are left out of it.
    """
    windows = isa_windows(isa, natives.target)
    params = sorted(
        {
            p
            for ev in events
            for v in ev["op"].params
            if isinstance(v, ParameterExpression)
            for p in v.parameters
        }
        | set(isa.parameters),
        key=lambda p: p.name,
    )
    last_of = {members[-1]: bid for bid, (_, members) in enumerate(blocks)}
    rng = np.random.default_rng(0)
    n = draws if params else 1
    out = IsaFrames()
    for d in range(n):
        values = dict(zip(params, rng.uniform(-np.pi, np.pi, len(params)), strict=True))
        walk = _Walk(events, region, isa, natives, windows, values)
        pairs, trailing = walk.pairs(last_of), walk.trailing(loose)
        if d == 0:
            out.pairs, out.trailing, out.counts = pairs, trailing, walk.counts
            continue
        out.pairs = {b: f + pairs[b] for b, f in out.pairs.items() if b in pairs}
        out.trailing = {q: f + trailing[q] for q, f in out.trailing.items() if q in trailing}
    out.pairs = {b: f / n for b, f in out.pairs.items()}
    out.trailing = {q: f / n for q, f in out.trailing.items()}
    return out


class _Walk:
    """Both circuits walked in step at one set of parameter values (module docstring)."""

    def __init__(self, events, region, isa, natives, windows, values) -> None:
        self.events, self.region, self.natives = events, region, natives
        self.windows, self.values = windows, values
        self.isa = _IsaWalk(isa)
        self.frame = {p: I2 for p in region}  # ISA state = frame . logical state, per qubit
        self.pending = {p: I2 for p in region}  # logical one-qubit gates since the last 2q op
        self.seen = {p: 0 for p in region}  # two-qubit ISA gates so far, per physical qubit
        self.broken: set[int] = set()
        self.counts: dict[str, int] = {}

    def _noisy(self, gates: list[int], pair: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(unitary, noisy superoperator) of ISA gates on ``pair`` (local 0 = pair[0])."""
        k = len(pair)
        u_total = np.eye(2**k, dtype=complex)
        noisy = np.eye(4**k, dtype=complex)
        for g in gates:
            op, qubits = self.isa.gates[g]
            local = [pair.index(q) for q in qubits]
            u = bound_matrix(op, self.values)
            u = _on_pair(u, local) if k == 2 else u
            u_total = u @ u_total
            noisy = unitary_superop(u) @ noisy
            self.counts[op.name] = self.counts.get(op.name, 0) + 1
            err = self.natives.error(op.name, qubits)
            if err is not None:
                noisy = embed(err, local, k) @ noisy
            if len(qubits) != 2:
                continue
            for q in qubits:
                self.seen[q] += 1
                seconds = self.windows.get(q, {}).get(self.seen[q], 0.0)
                relax = self.natives.relaxation(q, seconds) if seconds > 0 else None
                if relax is not None:
                    noisy = embed(relax, [pair.index(q)], k) @ noisy
        return u_total, noisy

    def pairs(self, last_of: dict[int, int]) -> dict[int, np.ndarray]:
        """Piece id -> its channel, walking every event (see ``pair_channels``)."""
        out: dict[int, np.ndarray] = {}
        for e, ev in enumerate(self.events):
            phys = tuple(self.region[s] for s in ev["sub"])
            if len(phys) == 1:
                self.pending[phys[0]] = bound_matrix(ev["op"], self.values) @ self.pending[phys[0]]
                continue
            a, b = phys
            ones = [] if {a, b} & self.broken else self.isa.ones(a) + self.isa.ones(b)
            run = None if {a, b} & self.broken else self.isa.run(a, b)
            if run is None:
                self.broken |= {a, b}
                continue
            segment, noisy = self._noisy(sorted(ones + run), (a, b))
            logical = _on_pair(bound_matrix(ev["op"], self.values), [0, 1])
            logical = logical @ np.kron(self.pending[b], self.pending[a])
            self.pending[a] = self.pending[b] = I2
            before = np.kron(self.frame[b], self.frame[a])
            after = _factor(segment @ before @ logical.conj().T)
            if after is None:
                self.broken |= {a, b}
                continue
            self.frame[a], self.frame[b] = after
            if e in last_of:
                out[last_of[e]] = _to_logical(np.kron(after[1], after[0]), noisy, segment)
        return out

    def trailing(self, loose: dict[int, list[int]]) -> dict[int, np.ndarray]:
        """Routed qubit -> channel of its ISA gates after its last two-qubit gate, for the
        qubits with a trailing logical run (``loose``)."""
        out: dict[int, np.ndarray] = {}
        for s in loose:
            p = self.region[s]
            if p in self.broken:
                continue
            pending = self.pending[p]  # pairs() walked the trailing logical gates too
            segment, noisy = self._noisy(self.isa.ones(p), (p,))
            if self.isa.peek(p) is not None:  # two-qubit gates the logical circuit lacks
                continue
            out[s] = _to_logical(segment @ self.frame[p] @ pending.conj().T, noisy, segment)
        return out


def _to_logical(w: np.ndarray, noisy: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """The channel after a segment in the logical frame: Ad(W^dagger) N Ad(S)^dagger Ad(W),
    W the frame after it (ISA state = W . logical state), S its unitary, N its noisy map."""
    to_logical = unitary_superop(w.conj().T)
    return to_logical @ noisy @ unitary_superop(segment).conj().T @ to_logical.conj().T
