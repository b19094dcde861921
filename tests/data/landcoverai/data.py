"""Tiny LandCover.ai-shaped tree: one 1100x1100 sheet, images/ + masks/ + split lists.

The mask is a real 1100x1100 window of the LandCover.ai mask in ../landcoverai_real/, with that
window's real CRS and transform; the image is painted from the mask (one colour per class plus
a gradient), so a model can learn it and the file compresses to a few kB. Full 512-px windows
of a 1100x1100 sheet have k = 0, 1, 3, 4. Run in this folder: ``python data.py``.
"""

from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

SHEET, SIZE = "N-33-96-D-d-1-1", 1100  # real sheet name; pixels
WINDOW = Window(2600, 0, SIZE, SIZE)  # a window of the real sheet with all five classes
COLOURS = np.array([[90, 110, 70], [200, 60, 50], [20, 90, 30], [30, 60, 160], [180, 180, 170]])

with rasterio.open(f"../landcoverai_real/{SHEET}.tif") as src:
    mask = src.read(1, window=WINDOW)  # (SIZE, SIZE) in 0..4
    profile = {
        "driver": "GTiff",
        "crs": src.crs,
        "transform": src.window_transform(WINDOW),
        "width": SIZE,
        "height": SIZE,
        "dtype": "uint8",
        "compress": "deflate",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
ramp = np.linspace(0, 40, SIZE, dtype=np.float32)
image = COLOURS[mask].transpose(2, 0, 1) + ramp[None, None, :]  # (3, SIZE, SIZE)
for folder, bands, data in [("images", 3, image), ("masks", 1, mask[None])]:
    Path(folder).mkdir(exist_ok=True)
    with rasterio.open(f"{folder}/{SHEET}.tif", "w", count=bands, **profile) as dst:
        dst.write(np.clip(data, 0, 255).astype(np.uint8))
for split, ks in {"train": [0, 3], "val": [1], "test": [4]}.items():
    Path(f"{split}.txt").write_text("".join(f"{SHEET}_{k}\n" for k in ks))
