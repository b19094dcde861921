"""Gate fusion for the noisy engine: runs of noisy gates composed into one superoperator.

Each op of the program is a channel ``S_i = N_i @ (U_i (x) conj U_i)`` on its qubits (N_i its
error, the identity when it is noiseless). Consecutive ops on a few qubits are grouped by the
ideal engine's greedy rule (``fast/fusion.py``): a gate joins a group only when no later group
touches any of its qubits, so moving it back to the group's place commutes it past channels on
disjoint qubits only, and the groups in creation order are the circuit. A group's channel is
the product ``S_n ... S_1`` of its ops' channels, each embedded on the group's qubits: every
error stays right after its own gate, so fusion is exact with any local noise, and the planner
(``plan.py``) then sees one op per group. The composition is batched over samples when any of
the group's gates depends on the inputs, and differentiable like the per-gate channels.

Why: the planner's cost is dominated by passes over the block and cone density matrices, one
per op (a copy of 4**s entries per sample for an s-qubit block); a group of g gates makes one
pass where there were g, and its own composition acts on 4**k x 4**k matrices (k <= 3 qubits
by default: 64 x 64; on the 6x6 QCNN 3 was faster than 2 or 4, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from hq_qiskit.quantum.fast.fusion import fuse
from hq_qiskit.quantum.fast.program import Op
from hq_qiskit.quantum.noisy.density_ops import apply_superop

FUSE_QUBITS = 3  # widest fused channel, (64, 64) per sample; see docs/benchmarks.md


@dataclass(frozen=True)
class FusedOp:
    """One fused channel.

    Attributes:
        qubits: the group's qubits, in order of first use (the first is the least significant
            bit of its superoperator's row and column indices).
        members: indices of the program ops it composes, in the order they apply.
    """

    qubits: tuple[int, ...]
    members: tuple[int, ...]


def fuse_ops(ops: Sequence[Op], max_qubits: int = FUSE_QUBITS) -> tuple[FusedOp, ...]:
    """Group the program's ops into fused channels; ``max_qubits`` 0 keeps one op per group.

    Args:
        ops: the program's ops, in circuit order.
        max_qubits: the widest group (a gate wider than that stays alone).

    Returns:
        The groups in execution order; every op index appears in exactly one.
    """
    if max_qubits <= 0:
        return tuple(FusedOp(op.qubits, (i,)) for i, op in enumerate(ops))
    index = {id(op): i for i, op in enumerate(ops)}
    return tuple(
        FusedOp(tuple(g.qubits), tuple(index[id(op)] for op in g.ops))
        for g in fuse(list(ops), max_qubits)
    )


def compose(
    groups: Sequence[FusedOp], superops: Sequence[Tensor], op_qubits: Sequence[tuple[int, ...]]
) -> list[Tensor]:
    """Each group's channel ``S_n ... S_1`` on its qubits: (Bm, 4**k, 4**k), Bm in {1, B}.

    Args:
        groups: from ``fuse_ops``.
        superops: every program op's channel, (Bm, 4**k_i, 4**k_i) on its own qubits.
        op_qubits: every program op's qubits (Qiskit order).
    """
    out = []
    for g in groups:
        if len(g.members) == 1 and op_qubits[g.members[0]] == g.qubits:
            out.append(superops[g.members[0]])
            continue
        k = len(g.qubits)
        d2 = 4**k
        first = superops[g.members[0]]
        # columns of the identity channel as a batch of density tensors (1, D, 2,..,2, 2,..,2)
        eye = torch.eye(d2, dtype=first.dtype, device=first.device)
        state = eye.reshape(1, d2, *([2] * (2 * k)))
        order = list(reversed(g.qubits))  # row axis 0 is the most significant qubit
        for i in g.members:
            state = apply_superop(state, superops[i], order, op_qubits[i], lead=2)
        # state[b, D, out...] = M[b][out, D]
        out.append(state.reshape(state.shape[0], d2, d2).transpose(-1, -2))
    return out
