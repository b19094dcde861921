"""Tiny OpenEarthMap tree: region aachen with a 1024x1024 and a 700x600 image, their labels
(values 0..8) and split lists naming files. Run in this folder: ``python data.py``.
"""

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

REGION = "aachen"
COLOURS = np.array(
    [
        [0, 0, 0],
        [150, 130, 90],
        [140, 160, 90],
        [120, 120, 110],
        [180, 180, 170],
        [20, 90, 30],
        [30, 60, 160],
        [150, 170, 60],
        [200, 60, 50],
    ],
    dtype=np.uint8,
)

for name, (w, h) in {"aachen_1": (1024, 1024), "aachen_2": (700, 600)}.items():
    blocks = np.random.default_rng(len(name) + w).integers(0, 9, (h // 64 + 1, w // 64 + 1))
    label = np.kron(blocks, np.ones((64, 64), dtype=np.uint8))[:h, :w].astype(np.uint8)
    profile = {
        "driver": "GTiff",
        "crs": "EPSG:32632",
        "width": w,
        "height": h,
        "transform": from_origin(294_000.0, 5_628_000.0, 0.25, 0.25),
        "dtype": "uint8",
        "compress": "deflate",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    for folder, data in [("images", COLOURS[label].transpose(2, 0, 1)), ("labels", label[None])]:
        Path(REGION, folder).mkdir(parents=True, exist_ok=True)
        with rasterio.open(
            Path(REGION, folder, f"{name}.tif"), "w", count=len(data), **profile
        ) as dst:
            dst.write(data)
Path("train.txt").write_text("aachen_1.tif\n")
Path("val.txt").write_text("aachen_2.tif\n")
Path("test.txt").write_text("aachen_1.tif\naachen_3.tif\n")  # aachen_3 does not exist
