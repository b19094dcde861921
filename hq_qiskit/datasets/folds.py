"""Group-aware K-fold splitting: folds of whole images (or whole Dubai regions).

Tiles cut from one image (or the 9 images of one Dubai region) are not independent: a fold
that held some of them for training and the rest for scoring would measure memory, not
generalisation. ``group_kfold`` puts every group in exactly one test fold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hq_qiskit.errors import DataError


def fold_of_groups(groups: Sequence[str], k: int, seed: int = 0) -> dict[str, int]:
    """Assign each distinct group to one of ``k`` folds, balancing tile counts.

    Groups are shuffled by ``seed``, then placed largest first (ties in shuffled order) into
    the fold holding fewest tiles so far (ties: the lowest fold). Deterministic for a seed.

    Args:
        groups: (T,) group of each tile (``tiles.groups``).
        k: number of folds, 2..number of distinct groups.
        seed: shuffling seed.

    Returns:
        group -> fold index 0..k-1.
    """
    names, counts = np.unique(np.asarray(list(groups), dtype=str), return_counts=True)
    if k < 2:
        raise DataError(f"--folds {k}: choose at least 2 folds")
    if k > len(names):
        raise DataError(
            f"--folds {k}: the data has only {len(names)} groups (images or regions); "
            f"choose at most {len(names)} folds"
        )
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    load = np.zeros(k, dtype=np.int64)
    fold: dict[str, int] = {}
    for g in order:
        f = int(np.argmin(load))
        fold[str(names[g])] = f
        load[f] += counts[g]
    return fold


def group_kfold(
    groups: Sequence[str], k: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds of whole groups: (train indices, test indices) per fold, each sorted int arrays.

    Every tile is in exactly one test fold, and no group has tiles on both sides of a fold.

    Args:
        groups: (T,) group of each tile (``tiles.groups``; ``ConcatTiles.groups`` for several
            folders).
        k: number of folds.
        seed: which assignment (deterministic for a seed).

    Example:
        >>> tiles = open_folders([loveda, dubai])
        >>> for train, test in group_kfold(tiles.groups, 5, seed=0):
        ...     fit(tiles.subset(train)); score(tiles.subset(test))
    """
    fold = fold_of_groups(groups, k, seed)
    of_tile = np.array([fold[str(g)] for g in groups], dtype=np.int64)
    return [(np.flatnonzero(of_tile != f), np.flatnonzero(of_tile == f)) for f in range(k)]
