"""Building blocks of the U-Net family: depthwise-separable convolutions, Down/Up stages, and
the pre-Q / post-Q interfaces that connect a feature map to a 48-in, 32-out quantum block.

Shapes: B batch, C channels, H and W pixels.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

Q_GRID = 4  # the enrichment QCNN's qubits sit on a 4x4 grid
Q_CHANNELS = 3  # RX, RY, RZ angles per qubit
Q_INPUTS = Q_CHANNELS * Q_GRID * Q_GRID  # 48
Q_OUTPUTS = 32  # <Z_q> and <X_q> for 16 qubits


class DSConv(nn.Sequential):
    """Depthwise 3x3 conv, pointwise 1x1 conv, BatchNorm, ReLU: (B, C_in, H, W) -> (B, C_out, H, W).

    Example:
        >>> DSConv(8, 16)(torch.rand(2, 8, 32, 32)).shape
        torch.Size([2, 16, 32, 32])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class DoubleConv(nn.Sequential):
    """Two DSConv: (B, C_in, H, W) -> (B, C_out, H, W).

    Example:
        >>> DoubleConv(3, 8)(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 8, 32, 32])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(DSConv(in_channels, out_channels), DSConv(out_channels, out_channels))


class Down(nn.Sequential):
    """MaxPool 2x2 then DoubleConv: (B, C_in, H, W) -> (B, C_out, H/2, W/2).

    Example:
        >>> Down(8, 16)(torch.rand(2, 8, 32, 32)).shape
        torch.Size([2, 16, 16, 16])
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))


class Up(nn.Module):
    """Transposed conv x2, concatenate the skip (if the stage has one), DoubleConv.

    ``skip_channels=0`` builds a stage without a skip connection (``forward(x, None)``).

    Example:
        >>> Up(16, 8, 8)(torch.rand(2, 16, 16, 16), torch.rand(2, 8, 32, 32)).shape
        torch.Size([2, 8, 32, 32])
        >>> Up(16, 0, 8)(torch.rand(2, 16, 16, 16), None).shape
        torch.Size([2, 8, 32, 32])
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, 2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + skip_channels, out_channels)

    def forward(self, x: Tensor, skip: Tensor | None) -> Tensor:
        """x (B, C_in, H, W) and skip (B, C_skip, 2H, 2W) or None -> (B, C_out, 2H, 2W)."""
        x = self.up(x)  # (B, C_in/2, 2H, 2W)
        return self.conv(x if skip is None else torch.cat([skip, x], dim=1))


class PreQ(nn.Module):
    """Pre-Q interface: pool to the qubit grid (4x4), 1x1 conv to 3 channels, tanh, flatten.

    The output column ``c * n + q`` is channel c of grid cell q = C * row + col (n = R * C
    qubits on an R x C grid; 16 and 4 * row + col on 4x4), which is the input layout of
    ``enrichment_qcnn(rows=R, cols=C)``.

    Example:
        >>> PreQ(64)(torch.rand(2, 64, 8, 8)).shape
        torch.Size([2, 48])
        >>> PreQ(64, grid=(8, 8))(torch.rand(2, 64, 8, 8)).shape
        torch.Size([2, 192])
    """

    def __init__(self, in_channels: int, grid: tuple[int, int] = (Q_GRID, Q_GRID)) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(tuple(grid))
        self.conv = nn.Conv2d(in_channels, Q_CHANNELS, 1)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, H, W) -> (B, 3 * R * C) in [-1, 1] (48 on the 4x4 grid)."""
        q = torch.tanh(self.conv(self.pool(x)))  # (B, 3, R, C)
        return q.flatten(1)  # (B, 3 * R * C)


class PostQ(nn.Module):
    """Post-Q interface: a linear map from the block's outputs to a (C, H, W) feature map.

    Example:
        >>> PostQ(32, 64, 8, 8)(torch.rand(2, 32)).shape
        torch.Size([2, 64, 8, 8])
    """

    def __init__(self, in_features: int, channels: int, height: int, width: int) -> None:
        super().__init__()
        self.shape = (channels, height, width)
        self.linear = nn.Linear(in_features, channels * height * width)

    def forward(self, z: Tensor) -> Tensor:
        """z (B, n_in) -> (B, C, H, W)."""
        return self.linear(z).view(z.shape[0], *self.shape)


class ClassicalQ(nn.Module):
    """The classical stand-in for the enrichment QCNN: Linear 48 -> 32, tanh.

    Same interface and output range as the quantum block, so a twin network differs from the
    hybrid one only here.

    Example:
        >>> ClassicalQ()(torch.rand(2, 48)).shape
        torch.Size([2, 32])
    """

    def __init__(self, in_features: int = Q_INPUTS, out_features: int = Q_OUTPUTS) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, 48) -> (B, 32) in [-1, 1]."""
        return torch.tanh(self.linear(x))


class ClassicalSmall(nn.Module):
    """A classical core with as few trainable numbers as the circuit: fixed random projection
    48 -> 32, then a trainable gain and bias per output group, tanh.

    The projection is a buffer drawn from torch's generator (so the run's seed fixes it), scaled
    by 1/sqrt(48); output j belongs to group ``j % (n_params // 2)``. With ``n_params=8`` (the
    default QCNN's angle count) that is 4 groups of 8 outputs, 4 gains + 4 biases = 8 trainable
    parameters. It asks whether a fixed random feature map with 8 tuned numbers does what the
    8-angle circuit does.

    Example:
        >>> ClassicalSmall(8)(torch.rand(2, 48)).shape
        torch.Size([2, 32])
    """

    def __init__(
        self, n_params: int = 8, in_features: int = Q_INPUTS, out_features: int = Q_OUTPUTS
    ) -> None:
        super().__init__()
        groups = n_params // 2
        if n_params < 2 or n_params % 2 or out_features % groups:
            raise ValueError(
                f"ClassicalSmall: n_params {n_params} must be even and 2 * a divisor of "
                f"{out_features}"
            )
        proj = torch.randn(out_features, in_features) / in_features**0.5
        self.register_buffer("projection", proj)  # (32, 48), fixed
        self.register_buffer("group", torch.arange(out_features) % groups)  # (32,)
        self.gain = nn.Parameter(torch.ones(groups))
        self.bias = nn.Parameter(torch.zeros(groups))

    def forward(self, x: Tensor) -> Tensor:
        """x (B, 48) -> (B, 32) in [-1, 1]."""
        z = x @ self.projection.T  # (B, 32)
        return torch.tanh(self.gain[self.group] * z + self.bias[self.group])


class NoCore(nn.Module):
    """No bottleneck core: whatever comes in, a (B, 0) constant goes out.

    With ``ConstantMap`` after it the bottleneck map is a learned constant, so only the skips
    carry information about the image.

    Example:
        >>> NoCore()(torch.rand(2, 48)).shape
        torch.Size([2, 0])
    """

    def forward(self, x: Tensor) -> Tensor:
        """x (B, ...) -> an empty (B, 0)."""
        return x.new_zeros(x.shape[0], 0)


class ConstantMap(nn.Module):
    """A learned (C, H, W) map, the same for every sample: what ``PostQ`` becomes with no input.

    Initialised like ``PostQ``'s bias for 32 inputs (uniform in +-1/sqrt(32)).

    Example:
        >>> ConstantMap(64, 8, 8)(torch.rand(2, 0)).shape
        torch.Size([2, 64, 8, 8])
    """

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__()
        bound = Q_OUTPUTS**-0.5
        self.value = nn.Parameter(torch.empty(channels, height, width).uniform_(-bound, bound))

    def forward(self, z: Tensor) -> Tensor:
        """z (B, 0) -> (B, C, H, W)."""
        return self.value.expand(z.shape[0], *self.value.shape)
