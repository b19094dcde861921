"""QMoE: HQF-Net's quantum mixture-of-experts bottleneck.

X (B, C, h, w) -> pre-Q interface (48 angles) -> enrichment QCNN -> f_q (B, 32); a gating MLP
on f_q with a softmax gives dense routing weights g (B, 3) over the expert circuits "local",
"global" and "diagonal"; every expert reads f_q and returns e_k (B, 32); the mixture
sum_k g_k e_k goes through Linear 32 -> C * s * s, a reshape to (B, C, s, s) and bilinear
interpolation back to (B, C, h, w). The output replaces the bottleneck feature.

On an R x C qubit grid (``qubit_grid``) the pre-Q pools to R x C and the QCNN gives
f_q (B, 2RC); the gate reads all of it, and the experts, 16-qubit circuits on the 4x4 grid,
read its <Z> and <X> maps average-pooled from R x C to 4 x 4 (32 values, no new parameters;
on the 4x4 grid the pooling is the identity and is skipped).

Optional load-balancing loss (off by default): ``balance_weight`` times the squared
coefficient of variation of the experts' batch importance sum_b g_bk (Shazeer et al. 2017),
0 when every expert gets the same total weight. It is left in ``self.balance_loss`` after each
forward; the model adds it to its ``aux_loss()``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hq_qiskit.circuits import QuantumBlock, enrichment_qcnn, expert_circuit
from hq_qiskit.models.layers import Q_GRID, Q_OUTPUTS, PreQ
from hq_qiskit.quantum import connect_block

EXPERTS = ("local", "global", "diagonal")


def balance_loss(gates: Tensor) -> Tensor:
    """Squared coefficient of variation of the expert importance; gates (B, K) -> scalar."""
    importance = gates.sum(dim=0)  # (K,)
    return importance.var(unbiased=False) / (importance.mean() ** 2 + 1e-10)


class QMoE(nn.Module):
    """Quantum mixture-of-experts bottleneck: (B, C, h, w) -> (B, C, h, w).

    Args:
        channels: C (1024 in the paper).
        experts: names of the expert circuits, from ``EXPERTS``.
        engine: how every circuit runs ("fast" or "qiskit").
        out_grid: s, the side of the map the output linear layer produces before interpolation.
        gate_hidden: hidden width of the gating MLP (32 -> hidden -> K).
        qcnn_layers, expert_layers: circuit depths (8 and 32 angles per layer).
        angle_scale: encoding angle per unit input, radians, for the QCNN and the experts.
        balance_weight: weight of the load-balancing loss; 0 turns it off.
        qubit_grid: (R, C), the QCNN's qubit grid; the feature map is pooled to it.

    Example:
        >>> QMoE(channels=1024)(torch.rand(2, 1024, 14, 14)).shape
        torch.Size([2, 1024, 14, 14])
    """

    def __init__(
        self,
        channels: int,
        *,
        experts: tuple[str, ...] = EXPERTS,
        engine: Literal["fast", "qiskit"] = "fast",
        out_grid: int = 4,
        gate_hidden: int = 32,
        qcnn_layers: int = 1,
        expert_layers: int = 1,
        angle_scale: float = math.pi,
        balance_weight: float = 0.0,
        qubit_grid: tuple[int, int] = (Q_GRID, Q_GRID),
    ) -> None:
        super().__init__()
        self.channels, self.out_grid, self.balance_weight = channels, out_grid, balance_weight
        rows, cols = self.qubit_grid = tuple(qubit_grid)
        self.block = enrichment_qcnn(
            rows=rows, cols=cols, layers=qcnn_layers, angle_scale=angle_scale
        )
        self.pre_q = PreQ(channels, (rows, cols))
        self.qcnn = connect_block(self.block, engine=engine)
        self.gate = nn.Sequential(
            nn.Linear(self.block.n_outputs, gate_hidden),
            nn.ReLU(),
            nn.Linear(gate_hidden, len(experts)),
        )
        self.expert_blocks: dict[str, QuantumBlock] = {
            name: expert_circuit(name, layers=expert_layers, angle_scale=angle_scale)
            for name in experts
        }
        self.experts = nn.ModuleDict(
            {name: connect_block(b, engine=engine) for name, b in self.expert_blocks.items()}
        )
        self.post_q = nn.Linear(Q_OUTPUTS, channels * out_grid * out_grid)
        self.balance_loss: Tensor = torch.zeros(())
        self.last_gates: Tensor | None = None

    def expert_inputs(self, f_q: Tensor) -> Tensor:
        """The QCNN's values f_q (B, 2RC) -> the experts' inputs (B, 32): the <Z> and <X> maps
        (R x C each) average-pooled to the experts' 4 x 4 grid; f_q itself on a 4x4 grid."""
        rows, cols = self.qubit_grid
        if (rows, cols) == (Q_GRID, Q_GRID):
            return f_q
        maps = f_q.view(f_q.shape[0], 2, rows, cols)  # (B, [Z, X], R, C), q = C * row + col
        return F.adaptive_avg_pool2d(maps, (Q_GRID, Q_GRID)).flatten(1)  # (B, 32)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, h, w) -> (B, C, h, w)."""
        b = x.shape[0]
        f_q = self.qcnn(self.pre_q(x)).to(x.dtype)  # (B, 3RC) -> (B, 2RC) in [-1, 1]
        g = self.gate(f_q).softmax(dim=-1)  # (B, K) dense routing weights
        u = self.expert_inputs(f_q)  # (B, 32)
        e = torch.stack([expert(u).to(x.dtype) for expert in self.experts.values()], dim=1)
        mixed = (g.unsqueeze(-1) * e).sum(dim=1)  # (B, K, 32) -> (B, 32)
        s = self.out_grid
        y = self.post_q(mixed).view(b, self.channels, s, s)  # (B, C, s, s)
        self.last_gates = g.detach()
        self.balance_loss = (
            self.balance_weight * balance_loss(g) if self.balance_weight else g.new_zeros(())
        )
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
