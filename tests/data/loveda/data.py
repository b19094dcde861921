"""Tiny LoveDA tree in the official form: Train/{Rural,Urban}, Val/Rural, Test/Rural (images
only, as LoveDA ships it). 1024x1024 PNGs painted from a class pattern so they compress to a
few kB; masks use LoveDA's values 0..7. Run in this folder: ``python data.py``.
"""

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 1024
COLOURS = np.array(
    [
        [0, 0, 0],
        [120, 120, 110],
        [200, 60, 50],
        [180, 180, 170],
        [30, 60, 160],
        [150, 130, 90],
        [20, 90, 30],
        [150, 170, 60],
    ],
    dtype=np.uint8,
)


def pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An RGB image (SIZE, SIZE, 3) and its LoveDA mask (SIZE, SIZE): 8x8 blocks of classes."""
    blocks = np.random.default_rng(seed).integers(0, 8, (8, 8), dtype=np.uint8)
    mask = np.kron(blocks, np.ones((SIZE // 8, SIZE // 8), dtype=np.uint8))
    return COLOURS[mask], mask


for split, domain, ids in [
    ("Train", "Rural", [0, 1]),
    ("Train", "Urban", [1366]),
    ("Val", "Rural", [2522]),
    ("Test", "Rural", [4191]),
]:
    for i in ids:
        image, mask = pair(i)
        folder = Path(split, domain)
        (folder / "images_png").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / "images_png" / f"{i}.png", optimize=True)
        if split != "Test":
            (folder / "masks_png").mkdir(exist_ok=True)
            Image.fromarray(mask).save(folder / "masks_png" / f"{i}.png", optimize=True)
