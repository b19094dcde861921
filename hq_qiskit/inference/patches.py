"""The patches a device run infers: the first tiles of a split, cut into the model's grid."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Subset

from hq_qiskit.datasets import open_tiles
from hq_qiskit.errors import ConfigError, DataError
from hq_qiskit.samplers import GridPatches


@dataclass
class Patches:
    """The patches inference runs on.

    Attributes:
        dataset: (image (3, P, P) float32, mask (P, P) int64) items, in sample order.
        ids: sample names "<tile id>@<top px>,<left px>", (N,).
        tiles: tile ids used; ``per_tile``: patches of one whole tile; ``split_tiles``: tiles
            in the split (the "full input" of the cost estimate).
    """

    dataset: Subset
    ids: list[str]
    tiles: list[str]
    per_tile: int
    split_tiles: int


def select_patches(
    config: dict[str, Any], data: str | None, split: str, n_tiles: int, n_patches: int | None
) -> Patches:
    """The first ``n_tiles`` tiles of a split, cut into the model's patch grid.

    Args:
        config: the checkpoint's resolved training config (patch size, normalisation, classes).
        data: dataset folder, or None for the run's own data.
        n_patches: patches per tile, evenly spaced over the tile's grid (None: all of them).
    """
    source = str(Path(data).resolve()) if data is not None else config.get("data")
    own = source == config.get("data") and config.get("class_map")
    class_map = {int(k): v for k, v in config["class_map"].items()} if own else None
    tiles = open_tiles(source, split, class_map=class_map)
    where = f"--data {source or 'built-in'}"
    if len(tiles) == 0:
        raise DataError(f"{where}: the {split} split has no tiles; choose another --split")
    if list(tiles.classes) != list(config["class_names"]):
        raise DataError(
            f"{where}: classes {list(tiles.classes)} differ from the run's "
            f"{config['class_names']}; give the dataset the model was trained on"
        )
    if n_tiles < 1 or (n_patches is not None and n_patches < 1):
        raise ConfigError("--tiles and --patches must be >= 1")
    patch_px = int(config["model_options"]["patch_px"])
    grid = GridPatches(tiles, patch_px, patch_px, mean=config["mean"], std=config["std"])
    per_tile = len(grid) // len(tiles)
    use = min(n_tiles, len(tiles))
    keep = per_tile if n_patches is None else min(n_patches, per_tile)
    within = np.unique(np.linspace(0, per_tile - 1, keep).round().astype(int))
    order = [t * per_tile + int(k) for t in range(use) for k in within]
    ids = [f"{tiles.ids[t]}@{y},{x}" for t, y, x in (grid.index[i] for i in order)]
    return Patches(Subset(grid, order), ids, tiles.ids[:use], per_tile, len(tiles))
