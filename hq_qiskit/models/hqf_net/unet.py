"""HQF-Net's classical U-Net: a depthwise-separable encoder and a transposed-conv decoder.

At 224 px with the paper's widths (64, 128, 256, 512, 1024) the encoder gives
112x112x64 -> 56x56x128 -> 28x28x256 -> 14x14x512 and a Conv Block at 14x14x1024; in general
an input of P px gives P/2, P/4, P/8, P/16 and P/16 (P a multiple of 16), which matches the
backbone's P/16 token grid for a patch-16 ViT. Each encoder block is a DoubleConv (two DS-convs)
followed by 2x2 max pooling, so block 1 sees full-resolution pixels.

The decoder first fuses, at P/16, the bottleneck output with the Conv Block's and block 4's
skips (DoubleConv), then three ``Up`` stages (transposed conv x2, concatenate the block 3, 2, 1
skip, DoubleConv) reach P/2, and a last transposed conv x2, DoubleConv and 1x1 conv give the
class logits at P x P. Block 1's skip is a plain one (the figure has no QSkip there).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from hq_qiskit.errors import ConfigError
from hq_qiskit.models.layers import DoubleConv, Up

PAPER_WIDTHS = (64, 128, 256, 512, 1024)


def check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    """Five positive channel counts (blocks 1-4 and the Conv Block), else ``ConfigError``."""
    widths = tuple(int(w) for w in widths)
    if len(widths) != 5 or min(widths) < 1:
        raise ConfigError(
            f"HQF-Net widths must be 5 positive channel counts (blocks 1-4 and the "
            f"Conv Block), e.g. {','.join(map(str, PAPER_WIDTHS))}; got {widths}"
        )
    return widths


def parse_widths(text: str) -> list[int]:
    """``--widths 64,128,256,512,1024`` -> [64, 128, 256, 512, 1024], else ``ConfigError``."""
    try:
        widths = [int(v) for v in text.split(",")]
    except ValueError:
        widths = []
    if len(widths) != 5 or min(widths) < 1:
        raise ConfigError(
            f"--widths {text!r}: give 5 positive integers, e.g. {','.join(map(str, PAPER_WIDTHS))}"
        )
    return widths


class EncoderBlock(nn.Sequential):
    """DoubleConv then 2x2 max pooling: (B, C_in, H, W) -> (B, C_out, H/2, W/2).

    Example:
        >>> EncoderBlock(3, 64)(torch.rand(2, 3, 224, 224)).shape
        torch.Size([2, 64, 112, 112])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(DoubleConv(in_channels, out_channels), nn.MaxPool2d(2))


class Encoder(nn.Module):
    """Blocks 1-4 and the Conv Block: (B, C_in, P, P) -> five feature maps.

    Example:
        >>> [f.shape[1:] for f in Encoder(3)(torch.rand(1, 3, 224, 224))][-1]
        torch.Size([1024, 14, 14])
    """

    def __init__(self, in_channels: int, widths: Sequence[int] = PAPER_WIDTHS) -> None:
        super().__init__()
        w = check_widths(widths)
        self.blocks = nn.ModuleList(
            EncoderBlock(c_in, c_out)
            for c_in, c_out in zip((in_channels, *w[:3]), w[:4], strict=True)
        )
        self.conv_block = DoubleConv(w[3], w[4])

    def stage(self, i: int, x: Tensor) -> Tensor:
        """Run stage i (0-3: blocks 1-4, 4: the Conv Block) on the previous stage's output."""
        return self.conv_block(x) if i == 4 else self.blocks[i](x)

    def forward(self, x: Tensor) -> list[Tensor]:
        """x (B, C_in, P, P) -> [(B, w1, P/2), (B, w2, P/4), (B, w3, P/8), (B, w4, P/16),
        (B, w5, P/16)] (square maps)."""
        features = []
        for i in range(5):
            x = self.stage(i, x)
            features.append(x)
        return features


class Decoder(nn.Module):
    """Bottleneck plus skips -> logits (B, num_classes, P, P).

    Example:
        >>> dec = Decoder(5)
        >>> skips = [torch.rand(1, c, s, s) for c, s in
        ...          zip(PAPER_WIDTHS, (112, 56, 28, 14, 14))]
        >>> dec(torch.rand(1, 1024, 14, 14), skips).shape
        torch.Size([1, 5, 224, 224])
    """

    def __init__(self, num_classes: int, widths: Sequence[int] = PAPER_WIDTHS) -> None:
        super().__init__()
        w = check_widths(widths)
        self.fuse = DoubleConv(w[4] + w[4] + w[3], w[3])  # bottleneck + Conv Block + block 4
        self.ups = nn.ModuleList([Up(w[3], w[2], w[2]), Up(w[2], w[1], w[1]), Up(w[1], w[0], w[0])])
        head = max(w[0] // 2, 1)
        self.last_up = nn.ConvTranspose2d(w[0], head, 2, stride=2)
        self.last_conv = DoubleConv(head, head)
        self.head = nn.Conv2d(head, num_classes, 1)

    def forward(self, bottleneck: Tensor, skips: Sequence[Tensor]) -> Tensor:
        """bottleneck (B, w5, P/16, P/16) and skips of blocks 1-4 and the Conv Block (the
        encoder's shapes) -> logits (B, num_classes, P, P)."""
        y = self.fuse(torch.cat([bottleneck, skips[4], skips[3]], dim=1))  # (B, w4, P/16, P/16)
        for up, skip in zip(self.ups, (skips[2], skips[1], skips[0]), strict=True):
            y = up(y, skip)  # (B, w3, P/8) -> (B, w2, P/4) -> (B, w1, P/2)
        y = self.last_conv(self.last_up(y))  # (B, w1/2, P, P)
        return self.head(y)
