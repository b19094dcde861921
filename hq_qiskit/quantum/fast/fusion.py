"""Fuse consecutive gates into groups of at most a few qubits, one matrix per group.

Greedy rule: a gate joins the latest group that touches any of its qubits when the union of
qubits stays within ``max_qubits`` and that group is the last to act on each of the gate's
qubits it already holds; otherwise it starts a new group. Executing the groups in creation order
is then equivalent to the circuit. Single-qubit gates that act before a qubit's first multi-qubit
gate form single-qubit groups of their own: they prepare the product state the engine starts
from, and a multi-qubit group never absorbs them.
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
    for op in ops:
        touching = [last[q] for q in op.qubits if q in last]
        target = max(touching) if touching else None
        if target is not None:
            group = groups[target]
            new = [q for q in op.qubits if q not in group.qubits]
            single = len(op.qubits) == 1  # joins whatever group last touched its qubit
            multi_into_multi = len(op.qubits) > 1 and len(group.qubits) > 1
            if (single or multi_into_multi) and len(group.qubits) + len(new) <= max_qubits:
                group.qubits.extend(new)
                group.ops.append(op)
                for q in op.qubits:
                    last[q] = target
                continue
        groups.append(Group(list(op.qubits), [op]))
        for q in op.qubits:
            last[q] = len(groups) - 1
    return groups
