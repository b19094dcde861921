"""Patch transforms: the eight flips/90-degree turns (applied to image and mask alike) and
per-channel normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hq_qiskit.errors import DataError


def dihedral(
    image: np.ndarray, mask: np.ndarray, turns: int, flip: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Turn by ``turns`` x 90 degrees counter-clockwise, then mirror left-right if ``flip``.

    The eight (turns, flip) pairs are the eight symmetries of the square (vertical flips and
    transposes among them).

    Args:
        image: (C, P, P).
        mask: (P, P).
        turns: 0..3.
        flip: mirror the columns after turning.

    Returns:
        image (C, P, P) and mask (P, P), contiguous copies.
    """
    image = np.rot90(image, turns, axes=(1, 2))
    mask = np.rot90(mask, turns, axes=(0, 1))
    if flip:
        image, mask = image[:, :, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def check_stats(mean: Sequence[float], std: Sequence[float], channels: int) -> tuple:
    """Validate per-channel statistics; returns float32 arrays (C, 1, 1) for broadcasting."""
    m = np.asarray(mean, dtype=np.float32)
    s = np.asarray(std, dtype=np.float32)
    if m.shape != (channels,) or s.shape != (channels,):
        raise DataError(
            f"mean {list(mean)} / std {list(std)}: give {channels} values each (one per band)"
        )
    if (s <= 0).any():
        raise DataError(f"std {list(std)}: every channel's std must be > 0")
    return m[:, None, None], s[:, None, None]


def normalise(image: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(image - mean) / std for an image (C, H, W) on the 0..255 scale; returns float32."""
    return ((image.astype(np.float32) - mean) / std).astype(np.float32)
