"""QSkip: a quantum-computed channel gate on an encoder skip, out = x + x * a.

a is computed by the enrichment QCNN from the whole feature map: pre-Q interface (pool to 4x4,
1x1 conv to 3 channels, tanh: 48 angles), the 16-qubit circuit (32 expectation values), and a
linear map 32 -> C. HQF-Net puts one on the skips of encoder blocks 2, 3, 4 and the Conv Block.
"""

from __future__ import annotations

import math
from typing import Literal

from torch import Tensor, nn

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.models.layers import Q_OUTPUTS, PreQ
from hq_qiskit.quantum import connect_block


class QSkip(nn.Module):
    """Quantum skip gate, out = x + x * a, with a computed by the enrichment QCNN.

    Args:
        channels: C, the skip's channels.
        engine: how the circuit runs ("fast": exact torch engine; "qiskit": Aer via
            EstimatorQNN, minutes per sample).
        qcnn_layers: repetitions of the QCNN's (horizontal, vertical) filter pass.
        angle_scale: encoding angle per unit pre-Q output, radians.

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
    ) -> None:
        super().__init__()
        self.block = enrichment_qcnn(layers=qcnn_layers, angle_scale=angle_scale)
        self.pre_q = PreQ(channels)
        self.qcnn = connect_block(self.block, engine=engine)
        self.post_q = nn.Linear(Q_OUTPUTS, channels)

    def forward(self, x: Tensor) -> Tensor:
        """Gate an encoder feature x of shape (B, C, H, W); returns the same shape."""
        q = self.pre_q(x)  # (B, 48) in [-1, 1]: pool to 4x4, 1x1 conv to 3, tanh
        a = self.post_q(self.qcnn(q).to(x.dtype))  # (B, 32) -> (B, C)
        return x + x * a[:, :, None, None]
