"""Classical cores matched to the enrichment QCNN, for the ablation of a design: each maps the
bottleneck's 3n inputs (B, 3n) in [-1, 1] to 2n outputs (B, 2n) in [-1, 1] (n = R * C qubits;
48 -> 32 on the 4x4 grid), as the circuit does, with as many trainable numbers as it has angles.

    CosSinSurrogate  the circuit's encoding features (cos and sin of each RX/RY/RZ angle), a
                     fixed random projection to 2n, a trainable gain and bias per output group
    SharedMLP        one small MLP applied to every qubit's 3 inputs -> its (Z, X) pair, weights
                     shared across qubits (as the circuit shares its filter angles); as many
                     trainable numbers as angles ("mlp"), or as many multiply-adds per sample
                     as the engine's plan estimates for the circuit ("mlp-macs", ``macs_hidden``)

The other matched cores live elsewhere: the circuit without its entangling gates is
``circuits.product.without_entanglers`` (run on the same engine), the frozen random circuit is
the quantum core with ``freeze_quantum``, the linear core is ``layers.ClassicalQ``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from hq_qiskit.models.layers import Q_CHANNELS, Q_INPUTS, Q_OUTPUTS, ClassicalSmall


class CosSinSurrogate(ClassicalSmall):
    """The circuit's encoding features with as many trainable numbers as the circuit has angles.

    Each input x becomes its encoding angle s * x (radians, s = ``angle_scale``, pi as in the
    circuit), and the features are cos and sin of every angle: (B, 3n) -> (B, 6n), the numbers a
    single-qubit rotation's output is made of. A fixed random projection (a buffer from torch's
    generator, scaled by 1/sqrt(6n)) maps them to 2n outputs, and ``n_params`` trainable numbers
    (a gain and a bias per output group, as ``ClassicalSmall``) then tanh set the output: 8 on
    the default one-layer QCNN.

    Example:
        >>> CosSinSurrogate(8)(torch.rand(2, 48)).shape
        torch.Size([2, 32])
    """

    def __init__(
        self,
        n_params: int = 8,
        in_features: int = Q_INPUTS,
        out_features: int = Q_OUTPUTS,
        angle_scale: float = math.pi,
    ) -> None:
        super().__init__(n_params, 2 * in_features, out_features)
        self.angle_scale = angle_scale

    def forward(self, x: Tensor) -> Tensor:
        """x (B, 3n) in [-1, 1] -> (B, 2n) in [-1, 1]."""
        angles = self.angle_scale * x  # (B, 3n), radians
        features = torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)  # (B, 6n)
        return super().forward(features)


def mlp_hidden(n_params: int) -> int:
    """Hidden width h of ``SharedMLP`` with at most ``n_params`` trainable numbers: the MLP
    3 -> h -> 2 with biases has 6h + 2 (8 at h = 1, the one-layer QCNN's angle count)."""
    return max(1, (n_params - 2) // 6)


def macs_hidden(real_macs: float, n_qubits: int) -> int:
    """Hidden width h of ``SharedMLP`` whose forward pass costs ``real_macs`` multiply-adds
    per sample: n qubits x (3h + 2h) weights applied, so h = real_macs / (5n), at least 1."""
    return max(1, round(real_macs / (5 * n_qubits)))


class SharedMLP(nn.Module):
    """A small MLP per qubit, weights shared across qubits: (B, 3n) -> (B, 2n) in [-1, 1].

    Qubit q's inputs (columns q, n + q, 2n + q: its RX, RY, RZ inputs) go through Linear(3, h),
    tanh, Linear(h, 2), tanh to its two outputs (columns q and n + q: where the circuit puts
    <Z_q> and <X_q>). 6h + 2 trainable numbers, h = ``mlp_hidden(n_params)``: exactly 8 for the
    one-layer QCNN's 8 angles (for other counts the largest h that stays within them). Like the
    product circuit, it mixes no qubits; unlike it, its nonlinearity is learned.

    Example:
        >>> SharedMLP(8)(torch.rand(2, 48)).shape
        torch.Size([2, 32])
        >>> sum(p.numel() for p in SharedMLP(8).parameters())
        8
    """

    def __init__(
        self, n_params: int = 8, n_qubits: int = Q_OUTPUTS // 2, hidden: int | None = None
    ) -> None:
        """``hidden`` (e.g. ``macs_hidden``) overrides the width ``mlp_hidden(n_params)``."""
        super().__init__()
        hidden = mlp_hidden(n_params) if hidden is None else hidden
        self.n_qubits = n_qubits
        self.net = nn.Sequential(
            nn.Linear(Q_CHANNELS, hidden), nn.Tanh(), nn.Linear(hidden, 2), nn.Tanh()
        )

    def forward(self, x: Tensor) -> Tensor:
        """x (B, 3n) -> (B, 2n), n = ``n_qubits``."""
        b, n = x.shape[0], self.n_qubits
        per_qubit = x.reshape(b, Q_CHANNELS, n).transpose(1, 2)  # (B, n, 3)
        out = self.net(per_qubit)  # (B, n, 2)
        return out.transpose(1, 2).reshape(b, 2 * n)  # (B, 2n): Z-like then X-like outputs
