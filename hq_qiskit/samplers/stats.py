"""Per-channel image statistics for normalisation, on the 0..255 scale."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from hq_qiskit.datasets.tiles import Tiles
from hq_qiskit.errors import DataError
from hq_qiskit.samplers.transforms import check_stats


def channel_stats(
    tiles: Tiles, max_tiles: int | None = 256, progress: bool = False
) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of the tiles' images (0..255 scale).

    Pixels whose mask is ignore (255, e.g. LoveDA no-data) are left out. With more than
    ``max_tiles`` tiles, an evenly spaced subset of that many is used (deterministic).

    Args:
        tiles: the tiles (usually the train split).
        max_tiles: how many tiles to read at most; None reads all.
        progress: show a progress bar.

    Returns:
        (mean, std): two lists of C floats.
    """
    n = len(tiles)
    if n == 0:
        raise DataError("channel_stats: no tiles; check the split list")
    idx = np.arange(n) if max_tiles is None or n <= max_tiles else np.linspace(0, n - 1, max_tiles)
    total = sq = count = 0.0
    for i in tqdm(
        np.unique(idx.astype(int)), desc="channel stats", unit="tile", disable=not progress
    ):
        image, mask = tiles.arrays(int(i))
        keep = mask != tiles.ignore_index  # (T, T)
        pixels = image[:, keep].astype(np.float64)  # (C, n_kept)
        total = total + pixels.sum(axis=1)
        sq = sq + (pixels**2).sum(axis=1)
        count += pixels.shape[1]
    if count == 0:
        raise DataError("channel_stats: every pixel of the tiles is ignore; check the masks")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 1e-12))
    return [float(v) for v in mean], [float(v) for v in std]


def sampler_stats(
    tiles: Tiles, mean: Sequence[float] | None, std: Sequence[float] | None
) -> tuple[list[float], list[float], np.ndarray, np.ndarray]:
    """The statistics a sampler normalises with: those given, else measured on ``tiles``.

    Returns:
        (mean, std) as float lists (0..255 units), then both validated as float32 arrays
        (3, 1, 1) for broadcasting.
    """
    if mean is None or std is None:
        mean, std = channel_stats(tiles)
    mean, std = [float(v) for v in mean], [float(v) for v in std]
    m, s = check_stats(mean, std, 3)
    return mean, std, m, s
