"""Grid patches: every tile cut into patches on a regular grid, for evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from hq_qiskit.datasets.tiles import Tiles
from hq_qiskit.errors import DataError
from hq_qiskit.samplers.stats import sampler_stats
from hq_qiskit.samplers.transforms import normalise


def grid_starts(size_px: int, patch_px: int, stride_px: int) -> list[int]:
    """Window starts 0, s, 2s, ... along one axis, the last moved back to end at the edge.

    Every pixel of ``size_px`` is covered; with ``stride_px == patch_px`` dividing the size
    the windows do not overlap.
    """
    if patch_px >= size_px:
        return [0]
    starts = list(range(0, size_px - patch_px + 1, stride_px))
    if starts[-1] + patch_px < size_px:
        starts.append(size_px - patch_px)
    return starts


class GridPatches(Dataset):
    """Deterministic patches covering every pixel of every tile, tile by tile.

    Item i is the patch at ``index[i] = (tile index, top px, left px)``: image float32
    (3, P, P) normalised and mask int64 (P, P). With ``stride_px < patch_px`` neighbouring
    patches overlap and some pixels are counted more than once.

    Args:
        tiles: the tiles.
        patch_px: patch side in pixels.
        stride_px: step between patch starts in pixels.
        mean, std: per-channel statistics on the 0..255 scale (None: from ``tiles``).

    Example:
        >>> from hq_qiskit.datasets import open_tiles
        >>> val = GridPatches(open_tiles(None, "val"), 128, 128, mean=[0.0] * 3, std=[1.0] * 3)
        >>> len(val), val[0][0].shape
        (32, torch.Size([3, 128, 128]))
    """

    def __init__(
        self,
        tiles: Tiles,
        patch_px: int = 128,
        stride_px: int = 128,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        if not 0 < patch_px <= tiles.tile_px:
            raise DataError(f"--patch-px {patch_px}: choose 1..{tiles.tile_px} (the tile side)")
        if not 0 < stride_px <= patch_px:
            raise DataError(f"stride {stride_px} px: choose 1..{patch_px} (the patch side)")
        self.mean, self.std, self._m, self._s = sampler_stats(tiles, mean, std)
        self.tiles = tiles
        self.patch_px = patch_px
        self.stride_px = stride_px
        starts = grid_starts(tiles.tile_px, patch_px, stride_px)
        self.index = [(t, y, x) for t in range(len(tiles)) for y in starts for x in starts]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        """Patch i: image float32 (3, P, P) normalised, mask int64 (P, P) (255 = ignore)."""
        tile, top, left = self.index[i]
        image, mask = self.tiles.arrays(tile)  # (3, T, T), (T, T)
        p = self.patch_px
        image, mask = image[:, top : top + p, left : left + p], mask[top : top + p, left : left + p]
        x = normalise(image, self._m, self._s)  # (3, P, P)
        return torch.from_numpy(x), torch.from_numpy(mask.astype(np.int64))
