"""Where to cut a noisy circuit for each Pauli term: light cone plus mixed product blocks.

The ideal engine's two facts survive local noise (every channel acts on its gate's qubits):

1. Light cone. Channels are trace preserving, so their adjoints are unital: in the Heisenberg
   picture a channel acting where the observable is the identity leaves it unchanged. Gates
   after a cut that do not touch the growing cone C (read backwards) drop out, with their noise.
2. Product structure. Before a cut, the (now mixed) state is a product over blocks of qubits,
   since a local channel never correlates blocks. The reduced density matrix on C is the
   Kronecker product of each block's partial trace.

So the engine evolves each block's density matrix (4**size entries per sample) up to the cut,
traces down to C and evolves the density matrix on C through the cone's remaining gates and
channels. A cost model in complex multiply-adds picks the cut per distinct support; terms with
the same cut and cone share one density matrix. Memory is counted in complex entries per
sample, all intermediates kept for autograd, so the engine can refuse a batch before
allocating it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hq_qiskit.errors import CircuitError

MAX_CONE_QUBITS = 8  # a density matrix on 8 qubits: 65 536 entries per sample


@dataclass(frozen=True)
class Contraction:
    """One shared density matrix on ``qubits`` (sorted), evolved through ``ops`` after ``cut``."""

    cut: int
    qubits: tuple[int, ...]
    ops: tuple[int, ...]
    terms: tuple[int, ...]
    cost: float


@dataclass(frozen=True)
class NoisyPlan:
    """Contractions, the ops simulated as blocks before the last cut, and the memory they need.

    Attributes:
        contractions: one per (cut, cone).
        cuts: the distinct cuts, sorted.
        block_ops: indices of the ops (all before the last cut) whose blocks some cone reads.
        entries_per_sample: complex entries kept per sample (block states and cone states,
            every intermediate, as autograd keeps them).
    """

    contractions: tuple[Contraction, ...]
    cuts: tuple[int, ...]
    block_ops: tuple[int, ...]
    entries_per_sample: int

    @property
    def last_cut(self) -> int:
        return max(self.cuts, default=0)


def block_history(
    ops: Sequence[tuple[int, ...]], n: int
) -> tuple[list[dict[int, frozenset]], list]:
    """Blocks at every cut (qubit -> block) and each op's block size once applied."""
    block = {q: frozenset([q]) for q in range(n)}
    history, sizes = [dict(block)], []
    for qubits in ops:
        merged = frozenset().union(*(block[q] for q in qubits))
        for q in merged:
            block[q] = merged
        history.append(dict(block))
        sizes.append(len(merged))
    return history, sizes


def _cones(ops: Sequence[tuple[int, ...]], support: tuple[int, ...]) -> list:
    """For every cut t = 0..m: the cone before op t and the cone's op indices from t on."""
    cone, members = frozenset(support), []
    out: list[tuple[frozenset[int], tuple[int, ...]]] = [(cone, ())]
    for i in range(len(ops) - 1, -1, -1):
        if cone.intersection(ops[i]):
            cone = cone.union(ops[i])
            members.append(i)
        out.append((cone, tuple(reversed(members))))
    out.reverse()
    return out


class BlockReader(Protocol):
    """Prices reading a block's state at a cut for a batch (``traces.BlockCosts``)."""

    batch: int | None
    batched: Sequence[bool]

    def cost(self, t: int, block: frozenset, keep: tuple[int, ...]) -> float:
        """Multiply-adds for the whole batch to get ``block`` at cut t traced to ``keep``."""
        ...


def _cut_cost(
    ops: Sequence[tuple[int, ...]],
    history: list,
    sizes: list,
    t: int,
    cone: frozenset,
    members: tuple[int, ...],
    terms: int,
    reader: BlockReader | None,
) -> float:
    """Complex multiply-adds of reading ``terms`` terms through the cut t (cone ``cone``).

    Without a reader: per sample, every block simulated forward, the cone evolved forward.
    With one: for the reader's batch, each block read as the reader prices it, and the cone's
    trailing channels without a batch axis run on the T observables when T < B (the engine's
    Heisenberg tails), the rest on B density matrices.
    """
    blocks = {history[t][q] for q in cone}
    dim2 = 4 ** len(cone)
    if reader is None:
        ids = [i for i in range(t) if history[t][ops[i][0]] in blocks]
        simulate = sum(4 ** sizes[i] * 4 ** len(ops[i]) for i in ids)
        trace = sum(4 ** len(b) for b in blocks) + dim2
        evolve = sum(dim2 * 4 ** len(ops[i]) for i in members)
        return simulate + trace + evolve + dim2
    batch = reader.batch or 1
    read = sum(reader.cost(t, b, tuple(sorted(b & cone))) for b in blocks)
    split = len(members)
    if terms < batch:
        while split and not reader.batched[members[split - 1]]:
            split -= 1
    forward = batch * sum(dim2 * 4 ** len(ops[i]) for i in members[:split])
    backward = terms * sum(dim2 * 4 ** len(ops[i]) for i in members[split:])
    product = batch * dim2 if split else 0  # the cone's density matrix, formed only then
    return read + forward + backward + product + batch * terms * dim2


def make_noisy_plan(
    ops: Sequence[tuple[int, ...]],
    supports: Sequence[tuple[int, ...]],
    num_qubits: int,
    max_cone_qubits: int = MAX_CONE_QUBITS,
    reader: BlockReader | None = None,
) -> NoisyPlan:
    """Pick the cheapest exact cut for every distinct support; group terms by (cut, cone).

    Args:
        ops: the qubits of each op, in circuit order.
        supports: the qubits of each Pauli term.
        num_qubits: the circuit's width.
        max_cone_qubits: widest density matrix a cone may use.
        reader: prices each block read at a batch size (``_cut_cost``); None: the per-sample
            model of an all-forward engine.

    Raises:
        CircuitError: a term wider than ``max_cone_qubits``.
    """
    history, sizes = block_history(ops, num_qubits)
    by_support: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for k, s in enumerate(supports):
        by_support[tuple(s)].append(k)
    chosen: dict[tuple, list[int]] = defaultdict(list)
    costs: dict[tuple, float] = {}
    for support, ids in by_support.items():
        if len(support) > max_cone_qubits:
            raise CircuitError(
                f"observable term on {len(support)} qubits {support}: the noisy engine supports "
                f"Pauli terms of weight <= {max_cone_qubits}"
            )
        best = None
        for t, (cone, members) in enumerate(_cones(ops, support)):
            if len(cone) > max_cone_qubits:
                continue
            cost = _cut_cost(ops, history, sizes, t, cone, members, len(ids), reader)
            if best is None or cost < best[0]:
                best = (cost, t, tuple(sorted(cone)), members)
        assert best is not None  # t = m has cone == support, within the limit
        cost, t, cone, members = best
        chosen[(t, cone, members)].extend(ids)
        costs[(t, cone, members)] = cost
    contractions = tuple(
        Contraction(t, cone, members, tuple(ids), costs[(t, cone, members)])
        for (t, cone, members), ids in chosen.items()
    )
    # ops whose block at some later cut meets that contraction's cone
    needed = set()
    for c in contractions:
        cone = set(c.qubits)
        for i in range(c.cut):
            if history[c.cut][ops[i][0]] & cone:
                needed.add(i)
    entries = sum(4 ** sizes[i] for i in needed)
    entries += sum(4 ** len(c.qubits) * (len(c.ops) + 2) for c in contractions)
    cuts = tuple(sorted({c.cut for c in contractions}))
    return NoisyPlan(contractions, cuts, tuple(sorted(needed)), entries)
