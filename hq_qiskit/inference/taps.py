"""Taps: wrap each quantum module of a model so its inputs can be recorded and its outputs
replayed from values computed elsewhere (a device, a noisy simulator)."""

from __future__ import annotations

from torch import Tensor, nn

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.models import HybridSegmenter


class BlockTap(nn.Module):
    """Wraps one quantum module: x (B, n_in) -> (B, n_obs), exact or replayed.

    Attributes:
        inner: the exact module (fast engine).
        block: its ``QuantumBlock``.
        record: when True, inputs (B, n_in) and exact outputs (B, n_obs) are kept, float64.
        replay: (N, n_obs) values handed out in call order instead of the exact ones.
        first: rank of this tap's first call among all taps since the last ``reset`` (None:
            not called); the blocks are sent to the device in that order.
    """

    def __init__(self, inner: nn.Module, block: QuantumBlock, clock: list[int]) -> None:
        super().__init__()
        self.inner = inner
        self.block = block
        self.clock = clock  # shared by the taps of one model: [next rank]
        self.record = False
        self.replay: Tensor | None = None
        self.reset()

    def reset(self) -> None:
        self.inputs: list[Tensor] = []
        self.exact: list[Tensor] = []
        self.pos = 0
        self.first: int | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Exact values of ``inner`` (recorded if asked), or the next B replayed rows."""
        if self.first is None:
            self.first, self.clock[0] = self.clock[0], self.clock[0] + 1
        if self.replay is not None:
            rows = self.replay[self.pos : self.pos + x.shape[0]]  # (B, n_obs)
            if rows.shape[0] != x.shape[0]:
                raise RuntimeError(
                    f"{self.block.name}: replay has {self.replay.shape[0]} rows,"
                    " fewer than the forward calls ask for"
                )
            self.pos += x.shape[0]
            return rows.to(dtype=x.dtype, device=x.device)
        y = self.inner(x)  # (B, n_obs)
        if self.record:
            self.inputs.append(x.detach().double().cpu())
            self.exact.append(y.detach().double().cpu())
        return y


def install_taps(model: HybridSegmenter) -> list[BlockTap]:
    """Replace each quantum module of ``model`` by a BlockTap around it, in place."""
    taps, clock = [], [0]
    for block, module in model.quantum_blocks():
        tap = BlockTap(module, block, clock)
        model.replace_quantum_module(module, tap)
        taps.append(tap)
    return taps
