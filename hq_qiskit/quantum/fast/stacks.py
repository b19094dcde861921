"""Build the matrices of all fused groups of the same shape at once.

Groups with the same signature (the same gates on the same local positions, e.g. the four row
filters of the enrichment QCNN, or sixteen identical encoding rotations) differ only in which
angles they read. Stacking them along an extra axis turns hundreds of tiny torch operations into
a few larger ones, which is where a circuit of ~100 small gates spends its time.

Two ways to build a stack's matrix from its steps (``Stack.product`` picks one):

- step by step: the identity, then each gate applied to the matrix's row axes
  (``apply_matrix``), about ten torch operations and six autograd nodes per step;
- as one product (stacks whose matrices are shared by the batch, or of at most two qubits):
  the gate matrices of every step of one gate kind come from one ``GateModel.matrix`` call,
  each step's d x d embedding (the gate on its qubits, the identity on the others) is read
  from them by one ``index_select`` for all steps (``product_index``), and the m embeddings
  are multiplied as a tree, E_m-1 ... E_1 E_0 in log2(m) batched products. It does
  d / d_op times the multiply-adds of a step (16 x 16 embeddings of one-qubit gates: 8x),
  nothing next to the ~30 operations per step it saves when the matrices are not batched
  (the enrichment QCNN's row and column filters: 15 and 11 steps on 4 qubits, 4 groups).
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

    @property
    def product(self) -> bool:
        """Build the matrix as one product of embedded steps (module docstring): the
        matrices are shared by the batch, or have at most 4 rows."""
        return len(self.steps) > 1 and (not self.batched or self.num_qubits <= 2)


@dataclass(frozen=True)
class Run:
    """The steps of one gate kind in a stack built as a product.

    Attributes:
        model: the gate; ``batched`` whether its angles depend on the inputs.
        steps: the indices of its steps in ``Stack.steps``.
        slots: (n, S, k) angle-table index of each step's angles in each stacked group.
    """

    model: GateModel
    batched: bool
    steps: tuple[int, ...]
    slots: np.ndarray


def product_runs(stack: Stack) -> list[Run]:
    """The steps of ``stack`` gathered by (gate kind, batched), in order of first use."""
    members: dict[tuple[int, bool], list[int]] = {}
    for j, step in enumerate(stack.steps):
        members.setdefault((id(step.model), step.batched), []).append(j)
    return [
        Run(
            stack.steps[js[0]].model,
            stack.steps[js[0]].batched,
            tuple(js),
            np.stack([stack.steps[j].slots for j in js]),
        )  # fmt: skip
        for js in members.values()
    ]


def product_index(stack: Stack, runs: list[Run]) -> np.ndarray:
    """(m * d * d,) where each step's embedded d x d matrix reads the runs' gate matrices.

    The runs' matrices, flattened, are laid end to end (run by run, step by step within a
    run, each d_op x d_op row-major) and followed by one zero: entry [i, j] of step s's
    embedding is its gate's [g(i), g(j)] when i and j agree on every qubit the gate does not
    touch, else the zero. g(i) gathers the gate's qubits' bits of i, Qiskit order (the gate's
    first qubit is its least significant bit; group-local qubit p is bit p of i).
    """
    d = 2**stack.num_qubits
    offsets, at = {}, 0
    for run in runs:
        d_op = 2**run.model.num_qubits
        for n, j in enumerate(run.steps):
            offsets[j] = at + n * d_op * d_op
        at += len(run.steps) * d_op * d_op
    zero = at  # the padding entry
    i = np.arange(d)
    index = np.empty((len(stack.steps), d, d), dtype=np.int64)
    for j, step in enumerate(stack.steps):
        d_op = 2 ** len(step.positions)
        g = sum(((i >> p) & 1) << a for a, p in enumerate(step.positions))  # (d,)
        mask = sum(1 << p for p in step.positions)
        same = (i[:, None] & ~mask) == (i[None, :] & ~mask)  # untouched bits agree
        index[j] = np.where(same, offsets[j] + g[:, None] * d_op + g[None, :], zero)
    return index.reshape(-1)


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


def product_tables(stack: Stack, device: torch.device) -> dict:
    """The index tensors ``stack_matrices`` reads, on ``device``: per step (S, k) slots, or
    for a product, the runs' (n, S, k) slots and the embedding index."""
    if not stack.product:
        return {"slots": [torch.as_tensor(step.slots, device=device) for step in stack.steps]}
    runs = product_runs(stack)
    return {
        "runs": runs,
        "slots": [torch.as_tensor(run.slots, device=device) for run in runs],
        "index": torch.as_tensor(product_index(stack, runs), device=device),
    }


def _product(
    stack: Stack, angles_b: Tensor, angles_u: Tensor, coefs: dict[int, Tensor], tables: dict
) -> Tensor:
    """``stack_matrices`` as one product of embedded steps (module docstring): (S, Bm, d, d)."""
    s, d, m = len(stack.groups), 2**stack.num_qubits, len(stack.steps)
    bm = angles_b.shape[0] if stack.batched else 1
    flats = []
    for run, idx in zip(tables["runs"], tables["slots"], strict=True):
        n, coef = len(run.steps), coefs[id(run.model)]
        if run.model.num_params == 0:
            u = coef[0].expand(n, s, 1, *coef.shape[-2:])  # (n, S, 1, d_op, d_op)
        elif run.batched:
            u = run.model.matrix(torch.movedim(angles_b[:, idx], 0, 2), coef)  # (n, S, B, ..)
        else:
            u = run.model.matrix(angles_u[idx][:, :, None], coef)  # (n, S, 1, d_op, d_op)
        u = u.expand(n, s, bm, *u.shape[-2:]).permute(0, 3, 4, 1, 2)  # (n, d_op, d_op, S, Bm)
        flats.append(u.reshape(-1, s, bm))
    flats.append(flats[0].new_zeros(1, s, bm))  # the padding entry of product_index
    source = torch.cat(flats)  # (L, S, Bm); rows, as index_select on a last axis is slow
    mats = source.index_select(0, tables["index"]).view(m, d, d, s, bm)  # E_0 .. E_m-1
    mats = mats.permute(3, 4, 0, 1, 2)  # (S, Bm, m, d, d)
    while mats.shape[2] > 1:  # E_m-1 ... E_1 E_0, pairs multiplied in one batched product
        pairs = mats.shape[2] // 2
        prod = mats[:, :, 1 : 2 * pairs : 2] @ mats[:, :, 0 : 2 * pairs : 2]
        mats = torch.cat([prod, mats[:, :, 2 * pairs :]], dim=2) if mats.shape[2] % 2 else prod
    return mats[:, :, 0]


def stack_matrices(
    stack: Stack,
    angles_b: Tensor,
    angles_u: Tensor,
    coefs: dict[int, Tensor],
    tables: dict,
) -> Tensor:
    """The fused matrices of a stack, (S, Bm, d, d), little-endian in each group's qubits.

    Args:
        angles_b: (B, P) angles of every slot for every sample, radians.
        angles_u: (P,) angles of every slot that no input touches, radians.
        coefs: gate coefficient tensors by ``id(model)``.
        tables: ``product_tables(stack, device)``.
    """
    if stack.product:
        return _product(stack, angles_b, angles_u, coefs, tables)
    return step_by_step(stack, angles_b, angles_u, coefs, tables["slots"])


def step_by_step(
    stack: Stack,
    angles_b: Tensor,
    angles_u: Tensor,
    coefs: dict[int, Tensor],
    slots: list[Tensor],
) -> Tensor:
    """``stack_matrices`` one step at a time; ``slots`` the steps' (S, k) slot tensors."""
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
