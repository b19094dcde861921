"""Batched tensor operations on qubit axes: apply a gate, trace out, Kronecker products.

A state of n qubits is a tensor (B, 2, ..., 2) with one axis per qubit; a density matrix on c
qubits is (B, 2**c, 2**c). Gate matrices follow Qiskit's little-endian convention, so callers
pass the target axes most significant bit first (``reversed(qargs)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def apply_matrix(state: Tensor, u: Tensor, axes: Sequence[int], lead: int = 1) -> Tensor:
    """Apply a k-qubit matrix to some axes of a batched tensor of qubit axes.

    Args:
        state: (*L, ...) with ``lead`` leading batch axes L and a size-2 axis for each qubit
            named in ``axes``.
        u: (2**k, 2**k) or (*Lu, 2**k, 2**k) with Lu broadcastable against L.
        axes: the k axes of ``state`` the matrix acts on, most significant bit first.
        lead: how many leading axes are batch axes.

    Returns:
        The transformed tensor, batch axes broadcast, qubit axes in place.
    """
    k = len(axes)
    end = list(range(state.dim() - k, state.dim()))
    moved = torch.movedim(state, list(axes), end)
    shape = moved.shape
    flat = moved.reshape(*shape[:lead], -1, 2**k)  # (*L, R, 2**k)
    out = torch.matmul(flat, u.transpose(-1, -2))  # (*L', R, 2**k)
    out = out.reshape(*out.shape[:lead], *shape[lead:])
    return torch.movedim(out, end, list(axes))


def reduced_density(state: Tensor, order: Sequence[int], keep: Sequence[int]) -> Tensor:
    """Reduced density matrix of a block state on the qubits ``keep``.

    Args:
        state: (Bs, 2, ..., 2), axis i + 1 holds qubit ``order[i]``.
        order: the block's qubits in axis order.
        keep: the qubits to keep, most significant first in the result.

    Returns:
        (Bs, 2**len(keep), 2**len(keep)) complex.
    """
    axes = [1 + order.index(q) for q in keep]
    psi = torch.movedim(state, axes, list(range(1, 1 + len(axes))))
    psi = psi.reshape(psi.shape[0], 2 ** len(keep), -1)  # (Bs, d_keep, d_rest)
    return torch.matmul(psi, psi.conj().transpose(-1, -2))


def kron_density(a: Tensor, b: Tensor) -> Tensor:
    """(Ba, da, da) x (Bb, db, db) -> (B, da * db, da * db); a holds the more significant bits."""
    da, db = a.shape[-1], b.shape[-1]
    out = a[:, :, None, :, None] * b[:, None, :, None, :]
    return out.reshape(out.shape[0], da * db, da * db)
