"""The hand contraction: the enrichment QCNN's values by a formula written for it alone.

The yardstick of ``docs/benchmarks.md`` and of issue 24's "enrichment <= 1.5x the hand
contraction": not a design to copy (the engine must find its speed in any circuit), but what
a person who knows this circuit would write. On an R x C grid (``hq_qiskit/circuits/
enrichment.py``, one layer, forward pair order, control on the first qubit of each pair):

1. each qubit's encoded state RZ RY RX |0>, (B, n, 2);
2. each row's state vector, the product of its C qubit states through the row filters
   F(w[0:4]) on (c, c + 1), all rows at once: (B, R, 2, .., 2);
3. each row's state traced to each of its qubits: (B, R, C, 2, 2);
4. each column's density matrix, the Kronecker product of its R one-qubit states:
   (B, C, 2**R, 2**R);
5. the column pass U (the filters F(w[4:8]) on (r, r + 1), one 2**R x 2**R unitary shared by
   every column) moved onto the 2R observables Z_r and X_r (Heisenberg: U^dag O U), and
   ``Tr(A rho)`` for every column at once.

Outputs Z0..Z(n-1) then X0..X(n-1) (qubit q = C * row + col), as the block's observables.
Complex64 like the fast engine; ``HandContraction(...).double()`` computes in complex128.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _ry(theta: Tensor) -> Tensor:
    """RY(theta) for angles of any shape (...): (..., 2, 2), real."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def _filter(w: Tensor, cdtype: torch.dtype) -> Tensor:
    """F = [RY(w2) x RY(w3)] CX [RY(w0) x RY(w1)] on (a, b), index a * 2 + b: (4, 4)."""
    cx = torch.tensor(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=w.dtype, device=w.device
    )
    before = torch.kron(_ry(w[0]), _ry(w[1]))
    after = torch.kron(_ry(w[2]), _ry(w[3]))
    return (after @ cx @ before).to(cdtype)


def _embed(m: Tensor, first: int, rows: int) -> Tensor:
    """I x m x I: m on rows first.. of a column of ``rows`` qubits, row 0 most significant."""
    k = m.shape[-1].bit_length() - 1  # m acts on k qubits
    left = torch.eye(2**first, dtype=m.dtype, device=m.device)
    right = torch.eye(2 ** (rows - first - k), dtype=m.dtype, device=m.device)
    return torch.kron(torch.kron(left, m), right)


def _column_observables(w: Tensor, rows: int, cdtype: torch.dtype) -> Tensor:
    """U^dag O U for O = Z_r then X_r, U the column pass F(w) on (r, r + 1): (2R, 2**R, 2**R)."""
    f = _filter(w, cdtype)
    u = torch.eye(2**rows, dtype=cdtype, device=w.device)
    for row in range(rows - 1):
        u = _embed(f, row, rows) @ u
    paulis = [[[1, 0], [0, -1]], [[0, 1], [1, 0]]]  # Z, X
    obs = [
        u.conj().T @ _embed(torch.tensor(p, dtype=cdtype, device=w.device), row, rows) @ u
        for p in paulis
        for row in range(rows)
    ]
    return torch.stack(obs)


class HandContraction(nn.Module):
    """The enrichment QCNN (one layer) on an R x C grid, x (B, 3n) -> (B, 2n) in [-1, 1].

    Example:
        >>> HandContraction(torch.zeros(8))(torch.rand(2, 48)).shape
        torch.Size([2, 32])
    """

    def __init__(
        self, weight: Tensor, rows: int = 4, cols: int = 4, angle_scale: float = math.pi
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())
        self.rows, self.cols, self.scale = rows, cols, angle_scale

    def _rows(self, x: Tensor, cdtype: torch.dtype) -> Tensor:
        """Steps 1-2: the row states (B, R, 2, .., 2), axis 2 + c holds column c."""
        b, r, c = x.shape[0], self.rows, self.cols
        n = r * c
        a = (self.scale * x).reshape(b, 3, n)  # (B, 3, n): RX, RY, RZ angles, radians
        half = a / 2
        rx0 = torch.stack([torch.cos(half[:, 0]), -1j * torch.sin(half[:, 0])], -1)  # (B, n, 2)
        psi = torch.einsum("bnij,bnj->bni", _ry(a[:, 1]).to(cdtype), rx0.to(cdtype))
        phase = torch.exp(-0.5j * a[:, 2].to(cdtype))  # RZ = diag(e^{-ia/2}, e^{ia/2})
        psi = psi * torch.stack([phase, phase.conj()], -1)  # (B, n, 2)
        psi = psi.reshape(b, r, c, 2)
        state = psi[:, :, 0]  # (B, R, 2)
        for col in range(1, c):  # (B, R, 2**col) x (B, R, 2) -> (B, R, 2**(col+1))
            state = (state[..., :, None] * psi[:, :, col, None, :]).reshape(b, r, -1)
        f = _filter(self.weight[0:4], cdtype)
        state = state.reshape(b, r, *([2] * c))
        for col in range(c - 1):  # F on (col, col + 1) of every row
            moved = torch.movedim(state, (2 + col, 3 + col), (-2, -1))
            shape = moved.shape
            moved = (moved.reshape(*shape[:-2], 4) @ f.T).reshape(shape)
            state = torch.movedim(moved, (-2, -1), (2 + col, 3 + col))
        return state

    def forward(self, x: Tensor) -> Tensor:
        """Values for inputs x (B, 3n): (B, 2n), Z then X, qubit q = C * row + col."""
        cdtype = torch.complex128 if self.weight.dtype == torch.float64 else torch.complex64
        b, r, c = x.shape[0], self.rows, self.cols
        state = self._rows(x.to(self.weight.dtype), cdtype)  # (B, R, 2, .., 2)
        # 3. one-qubit states rho[b, r, col] = Tr_others |psi><psi|: (B, R, C, 2, 2)
        rho = []
        for col in range(c):
            s = torch.movedim(state, 2 + col, 2).reshape(b, r, 2, -1)  # (B, R, 2, rest)
            rho.append(s @ s.conj().transpose(-1, -2))
        one = torch.stack(rho, 2)  # (B, R, C, 2, 2)
        # 4. column density matrices, row 0 most significant: (B, C, 2**R, 2**R)
        col_rho = one[:, 0]
        for row in range(1, r):
            d = col_rho.shape[-1]
            col_rho = (col_rho[..., :, None, :, None] * one[:, row, :, None, :, None, :]).reshape(
                b, c, 2 * d, 2 * d
            )
        # 5. column pass on the observables: A = U^dag O U, then Tr(A rho)
        a = _column_observables(self.weight[4:8], r, cdtype)  # (2R, 2**R, 2**R)
        # Tr(A rho) = sum_ij A[i, j] rho[j, i]
        vals = col_rho.transpose(-1, -2).reshape(b * c, -1) @ a.reshape(2 * r, -1).T
        vals = vals.real.reshape(b, c, 2, r)  # (B, col, pauli, row)
        return vals.permute(0, 2, 3, 1).reshape(b, 2 * r * c)  # q = C * row + col
