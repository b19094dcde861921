"""Patch transforms: the eight flips/90-degree turns (applied to image and mask alike),
photometric jitter (image only) and per-channel normalisation."""

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


def photometric(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Random colour jitter of an aerial patch, the same for every pixel of it.

    Aerial tiles of one class differ between images mostly in exposure, haze and colour
    balance (sensor, season, time of day), not in geometry; this imitates that. With ``s`` =
    ``strength``, each factor is drawn uniformly and independently:

    - brightness: the whole patch times ``U(1 - s, 1 + s)``;
    - contrast: distances to the patch's mean grey times ``U(1 - s, 1 + s)``;
    - saturation: distances of each band to the pixel's grey times ``U(1 - s, 1 + s)``;
    - colour balance (hue-like): each band times its own ``U(1 - s/2, 1 + s/2)`` and shifted by
      its own ``U(-s, s) * 25.5`` grey levels.

    Args:
        image: (C, P, P) on the 0..255 scale (uint8 or float).
        rng: the generator to draw the factors from (seed it per patch for reproducibility).
        strength: ``s`` above, 0..1; 0 returns the image unchanged (as float32).

    Returns:
        float32 (C, P, P), clipped to 0..255.
    """
    if not 0 <= strength <= 1:
        raise DataError(f"--jitter {strength}: choose 0 (off) to 1")
    x = image.astype(np.float32)
    if strength == 0:
        return x
    s = float(strength)
    c = x.shape[0]
    brightness, contrast, saturation = rng.uniform(1 - s, 1 + s, size=3)
    gain = rng.uniform(1 - s / 2, 1 + s / 2, size=(c, 1, 1))
    offset = rng.uniform(-s, s, size=(c, 1, 1)) * 25.5
    x = x * brightness
    grey = x.mean(axis=0, keepdims=True)  # (1, P, P)
    x = grey + (x - grey) * saturation
    x = x.mean() + (x - x.mean()) * contrast
    x = x * gain + offset
    return np.clip(x, 0, 255).astype(np.float32)
