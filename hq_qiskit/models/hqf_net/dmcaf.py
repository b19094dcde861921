"""DMCAF: deformable multiscale cross-attention fusion of a U-Net feature with a DINOv3 map.

Per level i (models.md): queries Q from the U-Net feature U (average-pooled to a query grid,
1x1 conv to width d); values V from the DINOv3 map D (1x1 conv to d); a 1x1 conv on Q predicts,
per head, ``points`` sampling offsets and attention weights (softmax over the points); V is
sampled bilinearly with ``grid_sample`` at reference point + offset and summed with the weights
into a context ctx (Deformable-DETR style, one scale). ctx goes through an output 1x1 conv,
a 1x1 conv to U's channels, and bilinear upsampling to U's size. Fusion:

    F = (1 + gamma) * U + beta + alpha * ctx,  gamma, beta = 1x1 convs of ctx,

with alpha a per-channel gate initialised at 0. With ``identity_init`` (default) the gamma and
beta convs start at zero too, so a fresh DMCAF is exactly the identity. Like Deformable DETR,
the offset and attention-weight predictors start with zero weights, so gradients arrive in
stages: step 1 moves alpha, gamma and beta, step 2 the attention path, step 3 the queries.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hq_qiskit.errors import ConfigError


class DeformableCrossAttention(nn.Module):
    """Query-anchored deformable cross-attention, one feature level.

    Offsets are in units of value-map cells; the reference point of a query is the centre of
    its cell on the query grid, mapped onto the value map (both span the same image).

    Args:
        dim: attention width d (divisible by ``heads``).
        heads: attention heads.
        points: sampling points per head and query.

    Example:
        >>> att = DeformableCrossAttention(dim=32, heads=4, points=4)
        >>> att(torch.rand(2, 32, 7, 7), torch.rand(2, 32, 14, 14)).shape
        torch.Size([2, 32, 7, 7])
    """

    def __init__(self, dim: int = 256, heads: int = 8, points: int = 4) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"DMCAF width {dim} is not divisible by its {heads} heads")
        self.dim, self.heads, self.points = dim, heads, points
        self.offsets = nn.Conv2d(dim, heads * points * 2, 1)
        self.weights = nn.Conv2d(dim, heads * points, 1)
        self.out = nn.Conv2d(dim, dim, 1)
        self._reset_offsets()

    def _reset_offsets(self) -> None:
        """Deformable-DETR start: zero weights; head h looks along direction 2*pi*h/heads,
        point k at distance k + 1 cells; uniform attention over the points."""
        nn.init.zeros_(self.offsets.weight)
        angle = torch.arange(self.heads, dtype=torch.float32) * (2 * math.pi / self.heads)
        direction = torch.stack([angle.cos(), angle.sin()], dim=-1)  # (heads, 2): (x, y)
        direction = direction / direction.abs().max(dim=-1, keepdim=True).values
        steps = torch.arange(1, self.points + 1, dtype=torch.float32).view(1, -1, 1)
        bias = direction[:, None, :] * steps  # (heads, points, 2)
        with torch.no_grad():
            self.offsets.bias.copy_(bias.flatten())
        nn.init.zeros_(self.weights.weight)
        nn.init.zeros_(self.weights.bias)

    def forward(self, query: Tensor, value: Tensor) -> Tensor:
        """query (B, d, hq, wq) attends to value (B, d, hv, wv); returns (B, d, hq, wq)."""
        b, _, hq, wq = query.shape
        hv, wv = value.shape[-2:]
        nh, npt, dh = self.heads, self.points, self.dim // self.heads
        off = self.offsets(query).view(b, nh, npt, 2, hq, wq)  # (x, y) in value cells
        att = self.weights(query).view(b, nh, npt, hq, wq).softmax(dim=2)
        # reference points: query-cell centres in grid_sample's [-1, 1] (align_corners=False)
        ys = (torch.arange(hq, device=query.device, dtype=query.dtype) + 0.5) / hq * 2 - 1
        xs = (torch.arange(wq, device=query.device, dtype=query.dtype) + 0.5) / wq * 2 - 1
        ref_y, ref_x = torch.meshgrid(ys, xs, indexing="ij")  # (hq, wq) each
        scale = torch.tensor([2.0 / wv, 2.0 / hv], device=query.device, dtype=query.dtype)
        ref = torch.stack([ref_x, ref_y], dim=-1)[:, :, None, :]  # (hq, wq, 1, 2)
        loc = ref + off.permute(0, 1, 4, 5, 2, 3) * scale
        # loc (B, heads, hq, wq, points, 2) -> grid (B*heads, hq*wq, points, 2)
        grid = loc.reshape(b * nh, hq * wq, npt, 2)
        v = value.reshape(b * nh, dh, hv, wv)  # heads split along channels
        sampled = F.grid_sample(
            v, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )  # (B*heads, dh, hq*wq, points)
        a = att.permute(0, 1, 3, 4, 2).reshape(b * nh, 1, hq * wq, npt)
        ctx = (sampled * a).sum(dim=-1)  # (B*heads, dh, hq*wq)
        return self.out(ctx.reshape(b, self.dim, hq, wq))


class DMCAF(nn.Module):
    """Fuse a U-Net feature U (B, C, H, W) with a DINOv3 map D (B, D_vit, h, w).

    Args:
        channels: C, the U-Net feature's channels.
        vit_width: D_vit, the backbone's hidden size (1024 for ViT-L).
        dim: attention width d.
        heads, points: deformable attention heads and sampling points per head.
        query_grid: side of the pooled query grid; None pools U to the DINOv3 map's size
            (14x14 at 224 px), so every query has one token cell under it.
        gate_init: initial value of the per-channel residual gate alpha.
        identity_init: start the FiLM convs (gamma, beta) at zero, so F = U at initialisation.

    Example:
        >>> DMCAF(channels=64, vit_width=32, dim=32, heads=4)(
        ...     torch.rand(2, 64, 56, 56), torch.rand(2, 32, 14, 14)).shape
        torch.Size([2, 64, 56, 56])
    """

    def __init__(
        self,
        channels: int,
        vit_width: int,
        *,
        dim: int = 256,
        heads: int = 8,
        points: int = 4,
        query_grid: int | None = None,
        gate_init: float = 0.0,
        identity_init: bool = True,
    ) -> None:
        super().__init__()
        self.query_grid = query_grid
        self.query = nn.Conv2d(channels, dim, 1)
        self.value = nn.Conv2d(vit_width, dim, 1)
        self.attention = DeformableCrossAttention(dim, heads, points)
        self.project = nn.Conv2d(dim, channels, 1)
        self.gamma = nn.Conv2d(channels, channels, 1)
        self.beta = nn.Conv2d(channels, channels, 1)
        self.alpha = nn.Parameter(torch.full((channels,), float(gate_init)))
        if identity_init:
            for conv in (self.gamma, self.beta):
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    def forward(self, u: Tensor, d: Tensor) -> Tensor:
        """u (B, C, H, W), d (B, D_vit, h, w) -> fused (B, C, H, W)."""
        grid = (self.query_grid,) * 2 if self.query_grid else tuple(d.shape[-2:])
        q = self.query(F.adaptive_avg_pool2d(u, grid))  # (B, d, hq, wq)
        v = self.value(d)  # (B, d, h, w)
        ctx = self.project(self.attention(q, v))  # (B, C, hq, wq)
        ctx = F.interpolate(ctx, size=u.shape[-2:], mode="bilinear", align_corners=False)
        return (1 + self.gamma(ctx)) * u + self.beta(ctx) + self.alpha.view(1, -1, 1, 1) * ctx
