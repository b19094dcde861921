"""Tiny Dubai fixture in the layout of ``../shared/data/dubai_aerial_63``: real pixels cut from it.

Regions tile_1 (2 images, 520x300: two 512-px windows, the second padded), tile_2 (2 images,
300x200, palette masks as the source has them) and tile_3 (1 image, 200x200), each crop taken
from the top-left corner of the source image. Masks are cropped losslessly (PNG, mode kept);
images are re-encoded as JPEG (quality 85), so their pixels are within JPEG error of the
source. Run in this folder: ``python data.py`` (needs ../../../../shared/data/dubai_aerial_63).
"""

from pathlib import Path

from PIL import Image

SOURCE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "dubai_aerial_63"
CUTS = {  # region -> (image numbers, width, height)
    "tile_1": ((1, 2), 520, 300),
    "tile_2": ((1, 2), 300, 200),
    "tile_3": ((1,), 200, 200),
}

for region, (numbers, width, height) in CUTS.items():
    for folder in ("images", "masks"):
        (Path(region) / folder).mkdir(parents=True, exist_ok=True)
    for n in numbers:
        stem = f"image_part_{n:03d}"
        with Image.open(SOURCE / region / "images" / f"{stem}.jpg") as im:
            im.crop((0, 0, width, height)).save(Path(region) / "images" / f"{stem}.jpg", quality=85)
        with Image.open(SOURCE / region / "masks" / f"{stem}.png") as im:
            im.crop((0, 0, width, height)).save(Path(region) / "masks" / f"{stem}.png")
