"""The two phases of the cut route's forward pass, as functions of a plan and group matrices.

``simulate_blocks`` runs the product blocks (state vectors, one per set of entangled qubits)
through every group before the plan's last cut and keeps a snapshot of the blocks at each cut
a contraction uses. ``cone_values`` reads one contraction's Pauli terms off such a snapshot:
the Kronecker product of the blocks' reduced states on the cone, evolved through the cone's
later groups (or, when those do not depend on the inputs, the observables evolved backwards
once: ``evolve_observables``). ``FastEngine._forward`` calls both; shapes are in the docstrings.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from hq_qiskit.quantum.fast.adjoint import evolve
from hq_qiskit.quantum.fast.cones import cone_blocks
from hq_qiskit.quantum.fast.fusion import Group
from hq_qiskit.quantum.fast.plan import Contraction, Plan, heisenberg
from hq_qiskit.quantum.fast.tensor_ops import (
    apply_matrix,
    expect_product,
    kron_density,
    reduced_density,
)

# A block of at most this many qubits that a cone reads one qubit of gives every qubit's
# state at once (k traces in one product, at most 4x one trace's 2 * 2**k multiply-adds):
# the enrichment QCNN's 4 columns read one qubit each of the same 4 row blocks.
ALL_TRACES_QUBITS = 4
Entry = tuple  # (qubit order, state (Bs, 2, ..., 2)): one product block
Snapshot = dict  # qubit -> the Entry of the block holding it


def evolve_observables(
    paulis: Tensor, c: Contraction, groups: list[Group], matrix: Callable[[int], Tensor]
) -> Tensor:
    """Heisenberg picture: the transposed observables (T, d, d) of ``c`` as U^dagger P U.

    For a cone whose remaining groups do not depend on the inputs, Tr(P U rho U^dagger) =
    Tr(U^dagger P U rho): the T observables are evolved once per forward pass instead of the B
    density matrices (an 8-qubit column of the 8x8 QCNN: 16 matrices of 256 x 256 instead of
    64). Matrices keep the order of ``c.qubits`` (the first most significant).
    """
    n, qubits = len(c.qubits), list(c.qubits)
    obs = paulis.transpose(-1, -2)  # (T, d, d) the observables themselves
    for i in reversed(c.groups):  # U = U_m ... U_1: conjugate by U_m first
        u = matrix(i)  # (d_g, d_g): no input dependence
        if len(groups[i].qubits) == n:  # on the whole cone: U in the cone's order, 2 products
            perm = [n - 1 - groups[i].qubits.index(q) for q in qubits]  # u's axis a: bit n-1-a
            full = u.reshape([2] * (2 * n)).permute(*perm, *[n + p for p in perm])
            full = full.reshape(2**n, 2**n)  # (d, d), rows and columns in the cone's order
            obs = full.conj().transpose(-1, -2) @ obs @ full  # (T, d, d)
            continue
        tensor = obs.reshape(obs.shape[0], *([2] * (2 * n)))
        rows = [1 + qubits.index(q) for q in reversed(groups[i].qubits)]
        tensor = apply_matrix(tensor, u.conj().transpose(-1, -2), rows)  # U^dagger P
        tensor = apply_matrix(tensor, u.transpose(-1, -2), [a + n for a in rows])  # (.) U
        obs = tensor.reshape(obs.shape[0], 2**n, 2**n)
    return obs.transpose(-1, -2)


def _kron_states(parts: list[Entry]) -> tuple[list[int], Tensor]:
    """One block of several: (order, state (Bs, 2, .., 2)), the first part's qubits first."""
    order, state = parts[0]
    for other_order, other in parts[1:]:
        # (B1, 2.., 1..) * (B2, 1.., 2..) -> Kronecker product as a state
        a = state.reshape(state.shape[0], -1, 1)
        b = other.reshape(other.shape[0], 1, -1)
        state = (a * b).reshape(-1, *([2] * (len(order) + len(other_order))))
        order = order + other_order
    return order, state


def simulate_blocks(
    plan: Plan,
    groups: list[Group],
    adjoint_groups: frozenset[int],
    num_qubits: int,
    matrix: Callable[[int], Tensor],
    zero: Tensor,
) -> dict[int, Snapshot]:
    """Product blocks through groups[:plan.last_cut]; a snapshot at every cut in ``plan.cuts``.

    Args:
        plan: the contractions and their cuts.
        groups: the fused groups; ``matrix(i)`` gives group i's (d, d) or (B, d, d) matrix.
        adjoint_groups: groups run by adjoint differentiation (``adjoint.evolve``).
        num_qubits: the register.
        zero: (1, 2) the state |0> in the compute dtype.

    Returns:
        cut -> snapshot (qubit -> (order, state (Bs, 2, ..., 2)), Bs in {1, B}).
    """
    blocks: Snapshot = {q: ([q], zero) for q in range(num_qubits)}
    snapshots = {0: dict(blocks)} if 0 in plan.cuts else {}
    # groups in adjoint_groups wait in a run per block, applied by adjoint.evolve (backward
    # without intermediates) when the block merges, a cut needs its state, or the run ends
    pending: dict[int, tuple[tuple, list, list]] = {}  # id(entry) -> entry, matrices, axes

    def flush(entry: tuple) -> tuple:
        if id(entry) not in pending:
            return entry
        _, mats, run_axes = pending.pop(id(entry))
        done = (entry[0], evolve(entry[1], mats, run_axes))
        for q in done[0]:
            blocks[q] = done
        return done

    for i in range(plan.last_cut):
        g = groups[i]
        parts = []
        for q in g.qubits:
            if all(blocks[q] is not p for p in parts):
                parts.append(blocks[q])
        adjoint = i in adjoint_groups
        if not adjoint and all(state is zero for _, state in parts):
            order = list(reversed(g.qubits))  # fresh qubits: u |0..0> is u's first column,
            column = matrix(i)[..., :, 0]  # (d,) or (Bm, d); axis 1 + j: bit k-1-j of u
            entry = (order, column.reshape(-1, *([2] * len(order))))  # (Bm, 2, .., 2)
        else:
            if len(parts) > 1 or not adjoint:
                parts = [flush(p) for p in parts]
            order, state = _kron_states(parts)
            axes = [1 + order.index(q) for q in reversed(g.qubits)]
            if adjoint:
                entry = parts[0] if len(parts) == 1 else (order, state)
                _, mats, run_axes = pending.setdefault(id(entry), (entry, [], []))
                mats.append(matrix(i))
                run_axes.append(axes)
            else:
                entry = (order, apply_matrix(state, matrix(i), axes))
        for q in order:
            blocks[q] = entry
        if i + 1 in plan.cuts:
            for waiting, _, _ in list(pending.values()):
                flush(waiting)
            snapshots[i + 1] = dict(blocks)
    return snapshots


def one_qubit_states(state: Tensor) -> tuple[Tensor, ...]:
    """Every qubit's reduced state of a block state (Bs, 2, .., 2): k of (Bs, 2, 2), axis order."""
    k = state.dim() - 1
    psi = torch.stack([torch.movedim(state, 1 + j, 1) for j in range(k)])  # (k, Bs, 2, ..)
    psi = psi.reshape(k, state.shape[0], 2, -1)  # (k, Bs, 2, 2**(k-1))
    return torch.matmul(psi, psi.conj().transpose(-1, -2)).unbind(0)


def _reduced(state: Tensor, order: list[int], keep: list[int], traces: dict | None) -> Tensor:
    """``reduced_density``; a one-qubit read of a block of <= ``ALL_TRACES_QUBITS`` qubits takes
    every qubit's state of the block at once, kept in ``traces`` for the other contractions."""
    if traces is None or len(keep) != 1 or len(order) > ALL_TRACES_QUBITS:
        return reduced_density(state, order, keep)
    key = (id(state), torch.is_grad_enabled())  # a trace made without grad serves no graph
    if key not in traces:
        traces[key] = (state, one_qubit_states(state))  # the state keeps its id unique
    return traces[key][1][order.index(keep[0])]


def cone_values(
    c: Contraction,
    paulis: Tensor,
    snap: Snapshot,
    groups: list[Group],
    matrix: Callable[[int], Tensor],
    traces: dict | None = None,
) -> Tensor:
    """Values (Bs, T_c) of contraction ``c``'s terms from the blocks' snapshot at its cut.

    Args:
        paulis: (T_c, d, d) the terms' transposed Pauli matrices on ``c.qubits``.
        snap: the snapshot at ``c.cut`` (``simulate_blocks``).
        traces: one dict shared by the contractions of one forward pass (``_reduced``), or
            None.
    """
    parts = [  # (reduced state on the block's part of the cone, its qubits)
        (_reduced(state, order, keep, traces), keep)
        for order, state, keep in cone_blocks(c.qubits, snap)
    ]
    if heisenberg(groups, c.groups):  # evolve the T observables once, not B states
        paulis = evolve_observables(paulis, c, groups, matrix)
        return expect_product(paulis, list(c.qubits), parts).real  # (Bs, T_c)
    rho, rho_order = parts[0][0], list(parts[0][1])
    for part, keep in parts[1:]:
        rho = kron_density(rho, part)
        rho_order += keep
    n = len(rho_order)
    for i in c.groups:
        g, u = groups[i], matrix(i)
        tensor = rho.reshape(rho.shape[0], *([2] * (2 * n)))
        rows = [1 + rho_order.index(q) for q in reversed(g.qubits)]
        tensor = apply_matrix(tensor, u, rows)
        tensor = apply_matrix(tensor, u.conj(), [a + n for a in rows])
        rho = tensor.reshape(tensor.shape[0], 2**n, 2**n)
    if rho_order != list(c.qubits):  # bring rho to the sorted order of the Pauli mats
        perm = [rho_order.index(q) for q in c.qubits]
        tensor = rho.reshape(rho.shape[0], *([2] * (2 * n)))
        tensor = tensor.permute(0, *[1 + p for p in perm], *[1 + n + p for p in perm])
        rho = tensor.reshape(rho.shape[0], 2**n, 2**n)
    return torch.einsum("tij,bij->bt", paulis, rho).real  # (Bs, T_c)
