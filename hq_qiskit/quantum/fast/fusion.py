"""Fuse consecutive gates into groups of at most a few qubits, one matrix per group.

Greedy rule: a gate joins the latest group that touches any of its qubits when the union of
qubits stays within ``max_qubits`` and that group is the last to act on each of the gate's
qubits it already holds; otherwise it starts a new group. Executing the groups in creation order
is then equivalent to the circuit. Single-qubit gates that act before a qubit's first multi-qubit
gate form single-qubit groups of their own: they prepare the product state the engine starts
from, and a multi-qubit group never absorbs them.

Fusion must not hide product structure. Joining a group moves the gate back to the group's
place in the order; if the gate entangles qubits that are in different product blocks at that
place, the merge moves before every group created since, and every cut in between loses the
product form (on an 8x8 grid a vertical filter would join the last group of a row, and every
row state would double). So a multi-qubit gate joins an older group only if its new qubits
are already in the group's block just after that group; the newest group takes any gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hq_qiskit.quantum.fast.program import Op


@dataclass
class Group:
    """A run of gates applied as one matrix.

    Attributes:
        qubits: the qubits the group acts on, in order of first use.
        ops: the gates, in circuit order.
    """

    qubits: list[int]
    ops: list[Op] = field(default_factory=list)

    @property
    def batched(self) -> bool:
        return any(op.batched for op in self.ops)

    @property
    def constant(self) -> bool:
        return all(op.constant for op in self.ops)


def fuse(ops: tuple[Op, ...] | list[Op], max_qubits: int = 4) -> list[Group]:
    """Group ``ops`` greedily; returns the groups in execution order."""
    groups: list[Group] = []
    last: dict[int, int] = {}  # qubit -> index of the last group acting on it
    block: dict[int, frozenset] = {}  # qubit -> its product block after the newest group
    block_after: list[frozenset] = []  # group -> the block of its qubits just after it
    for op in ops:
        touching = [last[q] for q in op.qubits if q in last]
        target = max(touching) if touching else None
        if target is not None:
            group = groups[target]
            new = [q for q in op.qubits if q not in group.qubits]
            single = len(op.qubits) == 1  # joins whatever group last touched its qubit
            multi_into_multi = len(op.qubits) > 1 and len(group.qubits) > 1
            newest = target == len(groups) - 1
            keeps_cuts = newest or all(q in block_after[target] for q in new)
            if (
                (single or multi_into_multi)
                and keeps_cuts
                and len(group.qubits) + len(new) <= max_qubits
            ):
                group.qubits.extend(new)
                group.ops.append(op)
                for q in op.qubits:
                    last[q] = target
                if newest:
                    block_after[target] = _merge(block, group.qubits)
                continue
        groups.append(Group(list(op.qubits), [op]))
        block_after.append(_merge(block, op.qubits))
        for q in op.qubits:
            last[q] = len(groups) - 1
    return groups


def _merge(block: dict[int, frozenset], qubits: list[int] | tuple[int, ...]) -> frozenset:
    """Merge the blocks of ``qubits`` in place; return the merged block."""
    merged = frozenset(qubits).union(*(block.get(q, frozenset()) for q in qubits))
    for q in merged:
        block[q] = merged
    return merged
