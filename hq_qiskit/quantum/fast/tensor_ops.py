"""Batched tensor operations on qubit axes: apply a gate, trace out, Kronecker products, and
expectation values on a Kronecker product without building it.

A state of n qubits is a tensor (B, 2, ..., 2) with one axis per qubit; a density matrix on c
qubits is (B, 2**c, 2**c). Gate matrices follow Qiskit's little-endian convention, so callers
pass the target axes most significant bit first (``reversed(qargs)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import opt_einsum as oe
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


_PRODUCT_READOUTS: dict[tuple, object] = {}


def expect_product(
    obs_t: Tensor, qubits: Sequence[int], parts: Sequence[tuple[Tensor, Sequence[int]]]
) -> Tensor:
    """Tr(O_t rho) for every t, with rho the Kronecker product of ``parts``, never built.

    value_t = sum_ij O_t[j, i] rho[i, j] and rho[i, j] = prod_k rho_k[i_k, j_k], so the sum is
    one einsum of the observables with the factors; opt_einsum contracts the factors in one at
    a time, the first as a single matrix product over all samples (a 256 x 256 column of the
    8x8 QCNN costs T * B * 4**8 multiply-adds, and no (B, 4**8) Kronecker product is written).

    Args:
        obs_t: (T, d, d) the observables, transposed, qubits in the order ``qubits`` (the
            first most significant).
        qubits: the qubits of ``obs_t``.
        parts: (rho_k, qubits_k): (Bk, d_k, d_k) reduced states with Bk 1 or B, on disjoint
            qubits whose union is ``qubits``, each in its own order.

    Returns:
        (B, T) complex, or (1, T) if no part depends on the sample.
    """
    n = len(qubits)
    order = [q for _, keep in parts for q in keep]
    perm = [qubits.index(q) for q in order]
    tensor = obs_t.reshape(obs_t.shape[0], *([2] * (2 * n)))
    tensor = tensor.permute(0, *[1 + p for p in perm], *[1 + n + p for p in perm])
    dims = [2 ** len(keep) for _, keep in parts]
    tensor = tensor.reshape(obs_t.shape[0], *dims, *dims)  # (T, d_1.., d_1..)
    batched = any(rho.shape[0] > 1 for rho, _ in parts)
    letters = "abcdefghijklmnopqrsuvwxyABCDEFGHIJKLMNOPQRSUVWXY"  # no t, z
    rows, cols = letters[: len(parts)], letters[len(parts) : 2 * len(parts)]
    subs = ["t" + rows + cols]
    operands = [tensor]
    for k, (rho, _) in enumerate(parts):
        if rho.shape[0] > 1:
            subs.append("z" + rows[k] + cols[k])
            operands.append(rho)
        else:
            subs.append(rows[k] + cols[k])
            operands.append(rho[0])
    equation = ",".join(subs) + "->" + ("zt" if batched else "t")
    key = (equation, *(tuple(o.shape) for o in operands))
    if key not in _PRODUCT_READOUTS:
        _PRODUCT_READOUTS[key] = oe.contract_expression(
            equation, *(tuple(o.shape) for o in operands)
        )
    out = _PRODUCT_READOUTS[key](*operands, backend="torch")
    return out if batched else out[None]
