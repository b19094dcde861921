"""Heisenberg partial traces: a block's reduced state read backward from its last batched op.

A contraction of the plan (``plan.py``) reads, at its cut t, each product block's state traced
down to the cone's qubits K in that block. Forward, that costs B block density matrices
(4**size entries per sample) evolved through every channel of the block. But the channels of
an encode-then-train circuit carry no batch axis after the encoding: if block b's ops from
``start`` (one past its last batched op) to t depend on weights only, the reduced state is a
fixed linear map of the (smaller) blocks at ``start``:

    vec(rho_K) = Tr_{L \\ K} S_n ... S_1 vec(rho_L),    rho_L = (x) of the blocks at ``start``

where S_1..S_n are the channels of K's backward light cone L inside [start, t). The map is
built backward on the 4**|K| matrix units of K (``T S_n ... S_1``, row vectors, one
``apply_superop`` with ``S^T`` per channel; no batch axis) and applied to the B states rho_L
in one product. Exact, like the tails of ``NoisyEngine._cone_values``; it pays when
4**|K| operators cost less than B block states, which the cost model below decides per piece
for the batch at hand (``plan_traces``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from hq_qiskit.quantum.noisy.density_ops import apply_superop, product_values
from hq_qiskit.quantum.noisy.plan import NoisyPlan, block_history

MAX_TRACE_QUBITS = 8  # widest light cone L a backward trace reads (4**8 entries per sample)
MAX_MAP_QUBITS = 10  # |K| + |L| at most: the map holds 4**(|K| + |L|) entries (no batch axis)


@dataclass(frozen=True)
class BackTrace:
    """The reduced state on ``keep`` at some cut, read backward from the blocks at ``start``.

    Attributes:
        start: the cut whose (forward) block states feed the map: the cone's first channel
            (after the block's last batched one; nothing between them touches L).
        keep: K, sorted; the traced state's qubits, most significant first.
        qubits: L, sorted: K's backward light cone at ``start``.
        ops: the channels of that cone in [start, cut), circuit order; none is batched.
    """

    start: int
    keep: tuple[int, ...]
    qubits: tuple[int, ...]
    ops: tuple[int, ...]


@dataclass(frozen=True)
class Piece:
    """One block of a contraction: its qubits in the cone (sorted), read forward or backward."""

    keep: tuple[int, ...]
    trace: BackTrace | None


@dataclass(frozen=True)
class TracePlan:
    """How each contraction of a ``NoisyPlan`` reads its blocks, for one batch size.

    Attributes:
        pieces: per contraction, one piece per block its cone touches.
        snaps: sorted cuts at which the forward block states are read.
        block_ops: the ops simulated forward on B density matrices.
        entries_per_sample: complex entries kept per sample (as ``NoisyPlan``'s).
    """

    pieces: tuple[tuple[Piece, ...], ...]
    snaps: tuple[int, ...]
    block_ops: tuple[int, ...]
    entries_per_sample: int


def _back_trace(
    ops: Sequence[tuple[int, ...]],
    batched: Sequence[bool],
    t: int,
    block: frozenset,
    keep: tuple[int, ...],
) -> BackTrace | None:
    """K's backward trace from one past the block's last batched op, or None (no channel to
    skip, or a cone over the limits)."""
    start = max((i + 1 for i in range(t) if batched[i] and ops[i][0] in block), default=0)
    cone, members = set(keep), []
    for i in range(t - 1, start - 1, -1):
        if cone.intersection(ops[i]):
            cone.update(ops[i])
            members.append(i)
    if not members or len(cone) > MAX_TRACE_QUBITS or len(cone) + len(keep) > MAX_MAP_QUBITS:
        return None
    # no op in [start, members[-1]) touches L (it would be a member): read L's blocks at the
    # first member, so that reads of one K through the same channels share one trace
    return BackTrace(members[-1], keep, tuple(sorted(cone)), tuple(reversed(members)))


class BlockCosts:
    """Prices a block read at a cut for batch B, forward or backward; keeps the cheaper.

    Cost in complex multiply-adds for the whole batch: forward, B times the block's channels
    (4**size * 4**k each) and its partial trace; backward, 4**|K| times the channels of K's
    light cone on L, plus B times the feeding blocks' channels and the map's product with
    their states. Forward simulation is shared by the cones that read one block, backward
    maps by those that read one (K, cut); the prices ignore sharing on both sides.

    Attributes:
        batch: B; None prices every read forward (and ``best`` never goes backward).
        batched: whether each op has a batch axis (depends on the inputs).
        history, sizes: ``plan.block_history`` of the ops.
    """

    def __init__(
        self,
        ops: Sequence[tuple[int, ...]],
        batched: Sequence[bool],
        num_qubits: int,
        batch: int | None,
    ) -> None:
        self.ops, self.batched, self.batch = ops, batched, batch
        self.history, self.sizes = block_history(ops, num_qubits)
        self._best: dict[tuple, tuple[float, BackTrace | None]] = {}

    def feed(self, t: int, qubits) -> set[int]:
        """Ops before t in the blocks (at t) that hold any of ``qubits``."""
        blocks = {self.history[t][q] for q in qubits}
        return {i for i in range(t) if self.history[t][self.ops[i][0]] in blocks}

    def _channels(self, ids) -> int:
        return sum(4 ** self.sizes[i] * 4 ** len(self.ops[i]) for i in ids)

    def best(
        self, t: int, block: frozenset, keep: tuple[int, ...]
    ) -> tuple[float, BackTrace | None]:
        """(cost, trace): the cheaper read of ``block`` at t traced to ``keep`` (sorted)."""
        key = (t, keep)  # keep's qubits determine their block at t
        if key not in self._best:
            batch = self.batch or 1
            own = self._channels(self.feed(t, keep)) + 4 ** len(block)
            best: tuple[float, BackTrace | None] = (batch * own, None)
            trace = (
                None if self.batch is None else _back_trace(self.ops, self.batched, t, block, keep)
            )
            if trace is not None:
                k, n_l = 4 ** len(keep), 4 ** len(trace.qubits)
                work = k * sum(n_l * 4 ** len(self.ops[i]) for i in trace.ops)
                fed = self._channels(self.feed(trace.start, trace.qubits)) + n_l + k * n_l
                if work + batch * fed < best[0]:
                    best = (work + batch * fed, trace)
            self._best[key] = best
        return self._best[key]

    def cost(self, t: int, block: frozenset, keep: tuple[int, ...]) -> float:
        """``plan.BlockReader``'s price: that of the cheaper read."""
        return self.best(t, block, keep)[0]


def plan_traces(plan: NoisyPlan, costs: BlockCosts) -> TracePlan:
    """Read every block of every contraction of ``plan`` the cheaper way (``BlockCosts``)."""
    history = costs.history
    pieces, needed, snaps, traces = [], set(), set(), set()
    for c in plan.contractions:
        row = []
        for block in dict.fromkeys(history[c.cut][q] for q in c.qubits):
            keep = tuple(sorted(block.intersection(c.qubits)))
            _, trace = costs.best(c.cut, block, keep)
            row.append(Piece(keep, trace))
            if trace is None:
                needed |= costs.feed(c.cut, keep)
                snaps.add(c.cut)
            else:
                needed |= costs.feed(trace.start, trace.qubits)
                snaps.add(trace.start)
                traces.add(trace)
        pieces.append(tuple(row))
    entries = sum(4 ** costs.sizes[i] for i in needed)
    entries += sum(4 ** len(c.qubits) * (len(c.ops) + 2) for c in plan.contractions)
    for tr in traces:  # rho_L and the traced state per sample; the map once per batch
        n_l, k = 4 ** len(tr.qubits), 4 ** len(tr.keep)
        entries += n_l + k + k * n_l * (len(tr.ops) + 1) // (costs.batch or 1)
    return TracePlan(tuple(pieces), tuple(sorted(snaps)), tuple(sorted(needed)), entries)


def back_trace_state(
    parts: Sequence[tuple[Tensor, Sequence[int]]],
    trace: BackTrace,
    sup: Sequence[Tensor],
    op_qubits: Sequence[Sequence[int]],
) -> Tensor:
    """The reduced state on ``trace.keep`` from the blocks on its light cone.

    Args:
        parts: (rho_p, qubits_p): the blocks at ``trace.start`` traced to the light cone,
            density tensors (Bs_p, 2,..,2, 2,..,2) on disjoint qubits covering ``trace.qubits``.
        sup: every fused channel, (1, 4**k, 4**k) for those of ``trace.ops``.
        op_qubits: every fused channel's qubits.

    Returns:
        (Bs, 2,..,2, 2,..,2) on ``trace.keep`` (sorted, most significant first).
    """
    keep = list(trace.keep)
    lo = keep + [q for q in trace.qubits if q not in trace.keep]  # the map's order: K first
    dk, dr, n = 2 ** len(keep), 2 ** (len(lo) - len(keep)), len(lo)
    dtype, device = parts[0][0].dtype, parts[0][0].device
    eye_k = torch.eye(dk * dk, dtype=dtype, device=device).reshape(dk * dk, dk, dk)
    # row u = (i, j) of the partial trace: T[u, (i', r), (j', r')] = d(i,i') d(j,j') d(r,r')
    a = torch.einsum("uij,rs->uirjs", eye_k, torch.eye(dr, dtype=dtype, device=device))
    a = a.reshape(dk * dk, *([2] * (2 * n)))  # (4**|K|, 2,..,2) on ``lo``
    for i in reversed(trace.ops):  # T S_n ... S_1, one channel at a time from the right
        a = apply_superop(a, sup[i].transpose(-1, -2), lo, op_qubits[i])
    out = product_values(a, lo, parts)  # (Bs, 4**|K|), index i * dk + j
    return out.reshape(out.shape[0], *([2] * (2 * len(keep))))
