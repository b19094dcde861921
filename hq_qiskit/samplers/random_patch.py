"""Random patches from tiles: the papers' dynamic sampling of 128-px patches from 512-px tiles,
with flips and 90-degree turns and optional photometric jitter."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from hq_qiskit.datasets.tiles import Tiles
from hq_qiskit.errors import DataError
from hq_qiskit.samplers.stats import sampler_stats
from hq_qiskit.samplers.transforms import dihedral, normalise, photometric


class RandomPatches(Dataset):
    """``patches_per_epoch`` random square patches per epoch, normalised and augmented.

    Patch i of epoch e is drawn from a generator seeded with (seed, e, i): the tile, the
    offset and the symmetry (one of 8 turn/flip pairs, same for image and mask) depend only on
    those three numbers, so results do not depend on DataLoader workers or order. Call
    ``set_epoch(e)`` at the start of each epoch to draw new patches (workers of a DataLoader
    with ``persistent_workers=True`` keep the epoch they started with).

    Under data-parallel training, process ``rank`` of ``world_size`` holds every world_size-th
    patch of the epoch: its patch i is global patch i * world_size + rank. The processes draw
    different patches, and their step-k batches of size B together are exactly step k's batch
    of one process with batch B * world_size. ``patches_per_epoch`` is the global count; the
    last ``patches_per_epoch % world_size`` patches are not drawn.

    Args:
        tiles: the tiles to sample from.
        patch_px: patch side in pixels (at most the tile side).
        patches_per_epoch: the dataset's length.
        mean, std: per-channel statistics on the 0..255 scale; None computes them from
            ``tiles`` with ``channel_stats`` (read them back from ``.mean`` / ``.std``).
        augment: apply random flips and 90-degree turns.
        jitter: strength of the photometric jitter (``transforms.photometric``; 0: off),
            drawn per patch from (seed, epoch, patch, 1), so also independent of workers.
        seed: base seed.
        rank, world_size: this process's share of the patches (0, 1: all of them).

    Example:
        >>> from hq_qiskit.datasets import open_tiles
        >>> patches = RandomPatches(open_tiles(None, "train"), 128, 16, seed=0)
        >>> [t.shape for t in patches[0]]
        [torch.Size([3, 128, 128]), torch.Size([128, 128])]
    """

    def __init__(
        self,
        tiles: Tiles,
        patch_px: int = 128,
        patches_per_epoch: int = 1000,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        augment: bool = True,
        seed: int = 0,
        jitter: float = 0.0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(tiles) == 0:
            raise DataError("RandomPatches: no tiles to sample from; check the split list")
        if not 0 < patch_px <= tiles.tile_px:
            raise DataError(f"--patch-px {patch_px}: choose 1..{tiles.tile_px} (the tile side)")
        if patches_per_epoch < 1:
            raise DataError(f"patches_per_epoch {patches_per_epoch}: must be at least 1")
        if not 0 <= rank < world_size:
            raise DataError(f"rank {rank}: must be in 0..{world_size - 1} (the world size)")
        if patches_per_epoch < world_size:
            raise DataError(
                f"--patches-per-epoch {patches_per_epoch} is fewer than the {world_size} "
                "training processes: each needs at least one patch"
            )
        self.mean, self.std, self._m, self._s = sampler_stats(tiles, mean, std)
        self.tiles = tiles
        self.patch_px = patch_px
        self.patches_per_epoch = patches_per_epoch
        self.augment = augment
        if not 0 <= jitter <= 1:
            raise DataError(f"--jitter {jitter}: choose 0 (off) to 1")
        self.jitter = float(jitter)
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the patches of epoch ``epoch`` from now on."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.patches_per_epoch // self.world_size

    def draw(self, i: int, epoch: int | None = None) -> tuple[int, int, int, int, bool]:
        """Where patch i (of ``epoch``, default the current one) comes from: (tile index, top
        px, left px, turns, flip)."""
        g = i * self.world_size + self.rank  # the epoch's global patch index
        rng = np.random.default_rng([self.seed, self.epoch if epoch is None else epoch, g])
        span = self.tiles.tile_px - self.patch_px + 1
        tile, top, left = (int(v) for v in rng.integers((len(self.tiles), span, span)))
        turns, flip = (int(rng.integers(4)), bool(rng.integers(2))) if self.augment else (0, 0)
        return tile, top, left, turns, bool(flip)

    def __getitem__(self, i: int | tuple[int, int]) -> tuple[Tensor, Tensor]:
        """Patch i: image float32 (3, P, P) normalised, mask int64 (P, P) (255 = ignore).

        ``i`` may be an (epoch, i) pair (``EpochIndices``): patch i of that epoch.
        """
        epoch, i = i if isinstance(i, tuple) else (self.epoch, i)
        if not 0 <= i < len(self):
            raise IndexError(f"patch {i} out of range for {len(self)} patches")
        tile, top, left, turns, flip = self.draw(i, epoch)
        image, mask = self.tiles.patch(tile, top, left, self.patch_px)  # (3, P, P), (P, P)
        image, mask = dihedral(image, mask, turns, flip)
        if self.jitter > 0:
            g = i * self.world_size + self.rank
            rng = np.random.default_rng([self.seed, epoch, g, 1])
            image = photometric(image, rng, self.jitter)  # (3, P, P) float32 0..255
        x = normalise(image, self._m, self._s)  # (3, P, P)
        return torch.from_numpy(x), torch.from_numpy(mask.astype(np.int64))


class EpochIndices(Sampler):
    """Indices (epoch, i) of ``patches``' current epoch, read when each epoch's iteration
    starts, so DataLoader workers that persist across epochs still draw the new epoch's
    patches (they hold a copy of the dataset whose ``set_epoch`` never reaches them)."""

    def __init__(self, patches: RandomPatches) -> None:
        self.patches = patches

    def __len__(self) -> int:
        return len(self.patches)

    def __iter__(self):
        epoch = self.patches.epoch
        return iter([(epoch, i) for i in range(len(self.patches))])
