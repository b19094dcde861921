"""Two-qubit native errors in the ISA circuit's own frame, for ``device_noise.py``.

The device model translates each piece of the routed logical circuit alone and carries its
native errors to the end of the piece through the piece's own native gates. The transpiler,
though, translates the whole circuit and merges one-qubit gates across pieces, so around a
two-qubit native gate the ISA circuit's local rotations can differ from the piece's: where
they differ by more than a Z rotation (an X flip around an ECR, say), thermal relaxation
during and after the gate acts in another frame, and pulls towards another state.

Here the frame is taken from the ISA circuit itself. Qubit by qubit, both circuits are walked
in step: the routed logical circuit (``device_noise._walk``'s events) and the ISA circuit
(physical qubit ``region[s]`` for routed qubit s). Between two-qubit operations each qubit's
frame W (ISA state = W . logical state, a one-qubit unitary per qubit) moves on by the
one-qubit gates of both, W <- r W l^dagger; at a two-qubit operation on (a, b) whose ISA gates
(the run of two-qubit gates on that pair, with the one-qubit gates between them) implement
it, the frame after it is G_isa (W_a x W_b) G_log^dagger, factored into two one-qubit
unitaries. The operation's native errors are those of the ISA gates (Aer's ``from_backend``
errors, and the ISA circuit's idle window after each two-qubit gate, ALAP, as thermal
relaxation), carried to the end of the run through the ISA gates and moved into the logical
frame: F = Ad(W^dagger) . N . Ad(G_isa)^dagger . Ad(W). Frames are computed at uniform angle
draws of the block's parameters and F averaged over them (they agree when the frame does not
depend on the angles).

Where the walk cannot match the two circuits (a qubit's next ISA two-qubit gate is not on the
same pair, or the frame after an operation is not a product), the qubits involved keep the
piece's own frame from then on (``device_noise`` falls back to ``NativeErrors.channel``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterExpression

from hq_qiskit.hardware.native_errors import SKIP, embed
from hq_qiskit.hardware.native_schedule import isa_windows
from hq_qiskit.quantum.noisy.channels import unitary_superop

I2 = np.eye(2, dtype=complex)


def _matrix(op, values: dict) -> np.ndarray:
    """Unitary of one gate with its parameters bound from ``values`` (Parameter -> float)."""
    if not any(isinstance(v, ParameterExpression) for v in op.params):
        return np.asarray(op.to_matrix(), dtype=complex)
    angles = [
        float(v.bind({p: values[p] for p in v.parameters}))
        if isinstance(v, ParameterExpression)
        else float(v)
        for v in op.params
    ]
    gate = op.to_mutable() if hasattr(op, "to_mutable") else op.copy()
    gate.params = angles
    return np.asarray(gate.to_matrix(), dtype=complex)


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


def pair_channels(
    events: list[dict],
    blocks: list,
    region: Sequence[int],
    isa: QuantumCircuit,
    natives,
    draws: int = 8,
) -> dict[int, np.ndarray]:
    """Each piece's two-qubit native errors in the ISA circuit's frame, where it matches.

    Args:
        events: the routed circuit's events (``device_noise._walk``).
        blocks: the pieces ((sub pair), event indices), as ``device_noise._pair_blocks``.
        region: device qubit of each routed (sub) qubit.
        isa: the transpiler's ISA circuit on the device's qubits.
        natives: ``NativeErrors`` (or ``ScaledNatives``) of the target: errors, relaxation.
        draws: uniform angle draws of the parameters the channel is averaged over.

    Returns:
        piece id -> (16, 16) row-major channel on the piece's pair (local 0 = pair[0]), to
        act right after the piece's two-qubit operation; pieces not matched are left out.
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
    total: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for _ in range(draws if params else 1):
        values = dict(zip(params, rng.uniform(-np.pi, np.pi, len(params)), strict=True))
        for bid, f in _one_draw(events, last_of, region, isa, natives, windows, values).items():
            total[bid] = total.get(bid, 0) + f
            counts[bid] = counts.get(bid, 0) + 1
    n = draws if params else 1
    return {bid: total[bid] / n for bid in total if counts[bid] == n}


def _one_draw(events, last_of, region, isa, natives, windows, values) -> dict[int, np.ndarray]:
    """``pair_channels`` at one set of parameter values."""
    walk = _IsaWalk(isa)
    frame = {p: I2 for p in region}
    pending = {p: I2 for p in region}  # logical one-qubit gates since the last 2q operation
    seen = {p: 0 for p in region}  # two-qubit ISA gates so far, per physical qubit
    broken: set[int] = set()
    out: dict[int, np.ndarray] = {}
    for e, ev in enumerate(events):
        phys = [region[s] for s in ev["sub"]]
        if len(phys) == 1:
            pending[phys[0]] = _matrix(ev["op"], values) @ pending[phys[0]]
            continue
        a, b = phys
        ok = not ({a, b} & broken)
        before = []
        for p in (a, b):
            r = I2
            for g in walk.ones(p):
                r = _matrix(walk.gates[g][0], values) @ r
            before.append(r @ frame[p] @ pending[p].conj().T)
            pending[p] = I2
        run = walk.run(a, b) if ok else None
        if run is None:
            broken |= {a, b}
            continue
        g_isa = np.eye(4, dtype=complex)
        noisy = np.eye(16, dtype=complex)
        for g in run:
            op, qubits = walk.gates[g]
            local = [(a, b).index(q) for q in qubits]
            u = _on_pair(_matrix(op, values), local)
            g_isa = u @ g_isa
            noisy = unitary_superop(u) @ noisy
            if len(qubits) != 2:
                continue
            err = natives.error(op.name, qubits)
            if err is not None:
                noisy = embed(err, local, 2) @ noisy
            for q in qubits:
                seen[q] += 1
                seconds = windows.get(q, {}).get(seen[q], 0.0)
                relax = natives.relaxation(q, seconds) if seconds > 0 else None
                if relax is not None:
                    noisy = embed(relax, [(a, b).index(q)], 2) @ noisy
        g_log = _on_pair(_matrix(ev["op"], values), [0, 1])
        after = _factor(g_isa @ np.kron(before[1], before[0]) @ g_log.conj().T)
        if after is None:
            broken |= {a, b}
            continue
        frame[a], frame[b] = after
        w = np.kron(after[1], after[0])
        to_logical = unitary_superop(w.conj().T)
        f = to_logical @ noisy @ unitary_superop(g_isa).conj().T @ to_logical.conj().T
        if e in last_of:
            out[last_of[e]] = f
    return out
