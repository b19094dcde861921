"""A small real-imagery GeoTIFF for prediction tests: a 300x220 crop of the built-in LoveDA
tile 9_3 (real pixels), placed on a LandCover.ai sheet's grid (CRS and pixel size of sheet
N-33-96-D-d-1-1, from ../landcoverai_real/), tiled 64x64 and deflate-compressed.
Run in this folder: ``python data.py``.
"""

import numpy as np
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from hq_qiskit.datasets import builtin_data_dir

WIDTH, HEIGHT = 300, 220  # not multiples of any patch size, on purpose
rgb = np.asarray(Image.open(builtin_data_dir() / "images_png" / "9_3.png"))[:HEIGHT, :WIDTH]
with rasterio.open("../landcoverai_real/N-33-96-D-d-1-1.tif") as sheet:
    crs, left, top = sheet.crs, sheet.transform.c, sheet.transform.f
profile = {
    "driver": "GTiff",
    "crs": crs,
    "transform": from_origin(left, top, 0.5, 0.5),
    "width": WIDTH,
    "height": HEIGHT,
    "count": 3,
    "dtype": "uint8",
    "tiled": True,
    "blockxsize": 64,
    "blockysize": 64,
    "compress": "deflate",
}
with rasterio.open("scene.tif", "w", **profile) as dst:
    dst.write(rgb.transpose(2, 0, 1))
