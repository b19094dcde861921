"""Adjoint differentiation: a run of gates on one state whose backward keeps no intermediates.

Autograd through ``apply_matrix`` keeps every intermediate state of a block for the backward
pass: a run of m gates on an n-qubit block costs m states of 2**n amplitudes per sample (a
16-qubit block with 40 groups at B=64: 40 x 32 MB). ``evolve`` returns the same final state
but saves only the final state and the matrices. Its backward walks the run in reverse,
recomputing each earlier state with the inverse of a unitary gate, psi_{k-1} = U_k^dagger
psi_k, next to the gradient g_k of the state (the adjoint method of PennyLane's
``diff_method="adjoint"`` and Jones & Gacon, arXiv:2009.02823):

    grad U_k     = sum over the other axes of g_k psi_{k-1}^dagger   ((B, d, d) or summed to (d, d))
    g_{k-1}      = U_k^dagger g_k

(PyTorch's convention for complex tensors: the gradient of a real loss L is dL/d conj(z), as
``torch.matmul`` passes it.) Peak memory is about three states, whatever m is; the backward
does about twice the forward's work. The matrices must be unitary (every gate group is); the
recomputed states carry rounding of order m x machine epsilon. The initial state's gradient
is returned too, so a run may start from a product state that depends on the inputs.

Second derivatives (``torch.autograd.grad(..., create_graph=True)``, then a second backward)
are exact: the backward is written in differentiable torch operations, so under
``create_graph`` autograd records it, and the recomputed states depend on the run's saved
output, whose own backward is this one. Only then does the backward keep its intermediates (the
memory bound holds for first derivatives). Before, the backward was marked
``once_differentiable`` and a double backward returned wrong values without an error (issue 24,
item 3; tests/quantum/test_second_derivatives.py). ``torch.func`` transforms (``hessian``,
``jacrev``, ``vmap``) are not supported on this route and raise torch's own error; use
``gradient="autograd"`` for them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from hq_qiskit.quantum.fast.tensor_ops import apply_matrix


def _flat(state: Tensor, axes: Sequence[int]) -> Tensor:
    """(Bs, 2, ..., 2) -> (Bs, R, 2**k): the ``axes`` last (msb first), the rest flattened."""
    k = len(axes)
    moved = torch.movedim(state, list(axes), list(range(state.dim() - k, state.dim())))
    return moved.reshape(moved.shape[0], -1, 2**k)


def _reduce_like(gu: Tensor, u: Tensor) -> Tensor:
    """The per-sample matrix gradient (B, d, d) summed to ``u``'s shape."""
    if u.dim() == 2:  # one matrix shared by the batch
        return gu.sum(0)
    return gu if gu.shape[0] == u.shape[0] else gu.sum(0, keepdim=True).expand_as(u)


def _unflat(flat: Tensor, like: Tensor, axes: Sequence[int]) -> Tensor:
    """Inverse of ``_flat``: (B', R, 2**k) back to (B', 2, ..., 2) with ``axes`` in place."""
    k = len(axes)
    moved = flat.reshape(flat.shape[0], *([2] * (like.dim() - 1)))
    return torch.movedim(moved, list(range(like.dim() - k, like.dim())), list(axes))


class _Evolve(torch.autograd.Function):
    """psi_m = U_m ... U_1 psi_0 with an adjoint backward; see the module docstring."""

    @staticmethod
    def forward(ctx, state: Tensor, axes: tuple, *matrices: Tensor) -> Tensor:
        ctx.axes, ctx.in_batch = axes, state.shape[0]
        for u, ax in zip(matrices, axes, strict=True):
            state = apply_matrix(state, u, ax)
        ctx.save_for_backward(state, *matrices)
        return state

    @staticmethod
    def backward(ctx, grad: Tensor):
        state, *matrices = ctx.saved_tensors
        grads: list[Tensor | None] = [None] * len(matrices)
        psi, g = state, grad
        for k in range(len(matrices) - 1, -1, -1):
            u, ax = matrices[k], ctx.axes[k]
            # psi and g are flattened once, with the gate's axes last, and both steps and the
            # matrix gradient work on those layouts (two axis moves per gate instead of four)
            psi_flat, g_flat = _flat(psi, ax), _flat(g, ax)  # (Bs, R, d), (B', R, d)
            psi_flat = psi_flat @ u.conj()  # psi_{k-1} = U^dagger psi_k on the last axis
            if ctx.needs_input_grad[2 + k]:
                gu = g_flat.transpose(-1, -2) @ psi_flat.conj()  # (B', d, d)
                grads[k] = _reduce_like(gu, u)
            g_flat = g_flat @ u.conj()  # g_{k-1}
            psi, g = _unflat(psi_flat, psi, ax), _unflat(g_flat, g, ax)
        if ctx.needs_input_grad[0] and g.shape[0] != ctx.in_batch:
            g = g.sum(0, keepdim=True)  # the initial state was shared by the batch
        return (g if ctx.needs_input_grad[0] else None), None, *grads


def evolve(state: Tensor, matrices: Sequence[Tensor], axes: Sequence[Sequence[int]]) -> Tensor:
    """Apply ``matrices`` in turn to ``state``, differentiated by the adjoint method.

    Args:
        state: (Bs, 2, ..., 2) with one axis per qubit of the block (Bs 1 or B).
        matrices: unitary (d_k, d_k) or (B, d_k, d_k) gate matrices, complex, in circuit order.
        axes: for each matrix, the state axes it acts on, most significant bit first.

    Returns:
        The final state (B', 2, ..., 2), B' the broadcast batch size: what
        ``apply_matrix`` in a loop returns, with a backward that keeps no intermediates.
    """
    if not matrices:
        return state
    return _Evolve.apply(state, tuple(tuple(a) for a in axes), *matrices)
