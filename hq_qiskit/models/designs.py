"""HQ-UNet designs in which the bottleneck's block is load-bearing (``docs/design.md``, Designs).

In the papers' HQ-UNet the decoder receives every encoder scale through a skip connection, so
it can segment without the bottleneck (``hq-qiskit diagnose``: replacing the block's output by
its mean costs nothing). Two changes make the decoder depend on the block:

    kept_skips(depth, skips)   ``--skips N``: keep only the N shallowest skip connections, so
                               the deeper scales reach the decoder only through the bottleneck
    DecoderGate                ``--design gated``: the block's 2n outputs set a per-channel
                               scale and shift of every decoder scale, y + y * a + b (HQF-Net's
                               QSkip gate x + x * a, with a shift)
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from hq_qiskit.errors import ConfigError

DESIGNS = ("unet", "gated")
Design = Literal["unet", "gated"]


def kept_skips(depth: int, skips: int | None) -> int:
    """How many skip connections HQ-UNet keeps: ``skips`` (None: all ``depth``, the papers').

    Skip i (0 = the stem's full-resolution map, depth - 1 = the deepest) is kept when i < the
    returned count.

    Raises:
        ConfigError: ``skips`` outside 0..depth, naming the option and the range.
    """
    if skips is None:
        return depth
    if not 0 <= skips <= depth:
        raise ConfigError(
            f"--skips {skips}: choose 0 (no skip: the image passes the bottleneck) to "
            f"--depth {depth} (all, the papers' design)"
        )
    return skips


def check_design(design: str) -> Design:
    """``design`` if it is one of ``DESIGNS``, else ``ConfigError`` naming them."""
    if design not in DESIGNS:
        raise ConfigError(f"--design {design!r}: choose one of {', '.join(DESIGNS)}")
    return design  # type: ignore[return-value]


class DecoderGate(nn.Module):
    """Per-channel scale and shift of a decoder map from the block's outputs: y + y * a + b.

    ``a`` and ``b`` (B, C) come from one linear map of the block's outputs z (B, 2n); with no
    core (z of width 0) they are learned constants, the same for every patch.

    Example:
        >>> DecoderGate(32, 16)(torch.rand(2, 16, 8, 8), torch.rand(2, 32)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(self, code_features: int, channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(code_features, 2 * channels) if code_features else None
        self.constant = None if code_features else nn.Parameter(torch.zeros(2 * channels))

    def forward(self, y: Tensor, z: Tensor) -> Tensor:
        """y (B, C, H, W) gated by z (B, 2n) -> (B, C, H, W)."""
        if self.linear is not None:
            ab = self.linear(z)  # (B, 2C)
        else:
            ab = self.constant.expand(z.shape[0], -1)  # type: ignore[union-attr]
        a, b = ab.chunk(2, dim=1)  # (B, C) each
        return y + y * a[:, :, None, None] + b[:, :, None, None]
