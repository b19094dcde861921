"""QSkip: a quantum-computed channel gate on an encoder skip, out = x + x * a.

a is computed by the enrichment QCNN from the whole feature map: pre-Q interface (pool to 4x4,
1x1 conv to 3 channels, tanh: 48 angles), the 16-qubit circuit (32 expectation values), and a
linear map 32 -> C. On an R x C qubit grid (``qubit_grid``) the pre-Q pools to R x C: 3RC
angles, R * C qubits, 2RC values. HQF-Net puts one on the skips of encoder blocks 2, 3, 4
and the Conv Block.
"""

from __future__ import annotations

import math
from typing import Literal

from torch import Tensor, nn

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.models.layers import Q_GRID, PreQ
from hq_qiskit.quantum import connect_block


class QSkip(nn.Module):
    """Quantum skip gate, out = x + x * a, with a computed by the enrichment QCNN.

    Args:
        channels: C, the skip's channels.
        engine: how the circuit runs ("fast": exact torch engine; "qiskit": Aer via
            EstimatorQNN, minutes per sample).
        qcnn_layers: repetitions of the QCNN's (horizontal, vertical) filter pass.
        angle_scale: encoding angle per unit pre-Q output, radians.
        qubit_grid: (R, C), the QCNN's qubit grid; the feature map is pooled to it.

    Attributes:
        block: the ``QuantumBlock`` the circuit module runs (for Aer checks and exports).

    Example:
        >>> QSkip(channels=256)(torch.rand(2, 256, 28, 28)).shape
        torch.Size([2, 256, 28, 28])
    """

    def __init__(
        self,
        channels: int,
        *,
        engine: Literal["fast", "qiskit"] = "fast",
        qcnn_layers: int = 1,
        angle_scale: float = math.pi,
        qubit_grid: tuple[int, int] = (Q_GRID, Q_GRID),
    ) -> None:
        super().__init__()
        rows, cols = qubit_grid
        self.block = enrichment_qcnn(
            rows=rows, cols=cols, layers=qcnn_layers, angle_scale=angle_scale
        )
        self.pre_q = PreQ(channels, (rows, cols))
        self.qcnn = connect_block(self.block, engine=engine)
        self.post_q = nn.Linear(self.block.n_outputs, channels)

    def forward(self, x: Tensor) -> Tensor:
        """Gate an encoder feature x of shape (B, C, H, W); returns the same shape."""
        q = self.pre_q(x)  # (B, 3RC) in [-1, 1]: pool to R x C (4x4: 48), 1x1 conv to 3, tanh
        a = self.post_q(self.qcnn(q).to(x.dtype))  # (B, 2RC) -> (B, C)
        return x + x * a[:, :, None, None]
