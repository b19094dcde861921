"""Build the matrices of all fused groups of the same shape at once.

Groups with the same signature (the same gates on the same local positions, e.g. the four row
filters of the enrichment QCNN, or sixteen identical encoding rotations) differ only in which
angles they read. Stacking them along an extra axis turns hundreds of tiny torch operations into
a few larger ones, which is where a circuit of ~100 small gates spends its time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from hq_qiskit.quantum.fast.fusion import Group
from hq_qiskit.quantum.fast.gates import GateModel
from hq_qiskit.quantum.fast.tensor_ops import apply_matrix


@dataclass(frozen=True)
class Step:
    """One gate position of a signature.

    Attributes:
        model: the gate.
        positions: indices of its qubits in the group's qubit list, in Qiskit order.
        batched: its angles depend on the inputs.
        slots: (S, k) angle-table index of each stacked group's angles.
    """

    model: GateModel
    positions: tuple[int, ...]
    batched: bool
    slots: np.ndarray


@dataclass(frozen=True)
class Stack:
    """Groups that share a signature; their matrices are built together as (S, Bm, d, d)."""

    groups: tuple[int, ...]
    num_qubits: int
    steps: tuple[Step, ...]

    @property
    def batched(self) -> bool:
        return any(step.batched for step in self.steps)


def _signature(group: Group) -> tuple:
    return (
        len(group.qubits),
        tuple(
            (id(op.model), tuple(group.qubits.index(q) for q in op.qubits), op.batched)
            for op in group.ops
        ),
    )


def make_stacks(groups: list[Group]) -> tuple[list[Stack], dict[int, tuple[int, int]]]:
    """Stacks of same-signature groups, and for each group its (stack, row) position."""
    members: dict[tuple, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(_signature(g), []).append(i)
    stacks, where = [], {}
    for (n_qubits, _), ids in members.items():
        first = groups[ids[0]]
        steps = []
        for j, op in enumerate(first.ops):
            slots = np.array([groups[i].ops[j].slots for i in ids], dtype=np.int64)
            positions = tuple(first.qubits.index(q) for q in op.qubits)
            steps.append(Step(op.model, positions, op.batched, slots.reshape(len(ids), -1)))
        for row, i in enumerate(ids):
            where[i] = (len(stacks), row)
        stacks.append(Stack(tuple(ids), n_qubits, tuple(steps)))
    return stacks, where


def stack_matrices(
    stack: Stack,
    angles_b: Tensor,
    angles_u: Tensor,
    coefs: dict[int, Tensor],
    slots: list[Tensor],
) -> Tensor:
    """The fused matrices of a stack, (S, Bm, d, d), little-endian in each group's qubits.

    Args:
        angles_b: (B, P) angles of every slot for every sample, radians.
        angles_u: (P,) angles of every slot that no input touches, radians.
        coefs: gate coefficient tensors by ``id(model)``.
        slots: the steps' (S, k) slot indices as tensors on the right device.
    """
    k = stack.num_qubits
    d = 2**k
    mat = None
    for step, idx in zip(stack.steps, slots, strict=True):
        if step.batched:
            angles = angles_b[:, idx].transpose(0, 1)  # (S, B, k_op)
        else:
            angles = angles_u[idx][:, None]  # (S, 1, k_op)
        u = step.model.matrix(angles, coefs[id(step.model)])  # (S, Bu, d_op, d_op)
        if step.model.num_params == 0:
            u = u.expand(len(stack.groups), 1, *u.shape[-2:])
        if mat is None and step.positions == tuple(range(k)):
            mat = u
            continue
        if mat is None:
            mat = torch.eye(d, dtype=u.dtype, device=u.device).expand(len(stack.groups), 1, d, d)
        rows = mat.reshape(*mat.shape[:2], *([2] * k), d)  # row axis 2 + i: local qubit k-1-i
        axes = [2 + (k - 1 - p) for p in reversed(step.positions)]
        mat = apply_matrix(rows, u, axes, lead=2).reshape(*mat.shape[:1], -1, d, d)
    return mat
