"""Cut the built-in sample from LoveDA (run once by a maintainer; the product never runs it).

Reads ``loveda_rural_24/`` from the shared data folder ($HQ_SHARED, default ``../shared`` beside
the repository), cuts the chosen 512-px quadrants of 1024-px LoveDA images, keeps LoveDA's raw
mask values, and writes ``images_png/``, ``masks_png/`` and ``train.txt`` / ``val.txt`` /
``test.txt`` beside this script. Quadrant q of image i is tile ``<i>_<q>`` (0 top-left,
1 top-right, 2 bottom-left, 3 bottom-right), the id ``open_tiles`` gives it in the full image.

Masks are always lossless PNG. Images: the 12 tiles of the first release (``LOSSLESS``) stay
lossless PNG (tests read their exact pixels); the 84 tiles added later are JPEG at quality 95
(4:2:0), which keeps all 24 images under 20 MB (PSNR 38.9 dB against the PNG on tile 14_0).

    python hq_qiskit/data/loveda_sample/make_sample.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("HQ_SHARED", HERE.parents[2].parent / "shared"))
SOURCE = SHARED / "data" / "loveda_rural_24"

# All 24 LoveDA rural images, every quadrant; whole images stay in one split (no leakage
# between neighbouring quadrants); train, val and test each contain building, woodland, water
# and road pixels. Nothing is held out beside the sample: cross-validation over whole images
# (``train --folds K --fold k``) is what reports a setting's score.
VAL_IMAGES = (6, 9)
TEST_IMAGES = (11, 19)
TRAIN_IMAGES = tuple(i for i in range(24) if i not in VAL_IMAGES + TEST_IMAGES)
FIRST_RELEASE = ["1_2", "3_2", "13_2", "16_0", "17_2", "18_0", "22_1", "22_3"]
FIRST_RELEASE += ["6_2", "9_3", "11_3", "19_2"]
SPLITS = {
    split: [f"{i}_{q}" for i in images for q in range(4)]  # every quadrant
    for split, images in (("train", TRAIN_IMAGES), ("val", VAL_IMAGES), ("test", TEST_IMAGES))
}
LOSSLESS = set(FIRST_RELEASE)  # the first release's 12 tiles
JPEG_QUALITY = 95
LOVEDA_TO_LANDCOVERAI = {0: 255, 1: 0, 2: 1, 3: 4, 4: 3, 5: 0, 6: 2, 7: 0}
TILE = 512


def cut(tile: str) -> tuple[np.ndarray, np.ndarray]:
    """Quadrant ``<i>_<q>`` of LoveDA image i: RGB (512, 512, 3) and raw mask (512, 512)."""
    image_id, q = tile.split("_")
    row, col = divmod(int(q), 2)
    window = np.s_[row * TILE : (row + 1) * TILE, col * TILE : (col + 1) * TILE]
    image = np.asarray(Image.open(SOURCE / "images_png" / f"{image_id}.png").convert("RGB"))
    mask = np.asarray(Image.open(SOURCE / "masks_png" / f"{image_id}.png"))
    return image[window], mask[window]


def main() -> None:
    if not SOURCE.is_dir():
        raise SystemExit(f"{SOURCE}: not found; set HQ_SHARED to the shared data folder")
    lut = np.full(256, 255, dtype=np.uint8)
    for raw, cls in LOVEDA_TO_LANDCOVERAI.items():
        lut[raw] = cls
    for folder in ("images_png", "masks_png"):
        (HERE / folder).mkdir(exist_ok=True)
    for split, tiles in SPLITS.items():
        present = np.zeros(256, dtype=np.int64)
        for tile in tiles:
            image, mask = cut(tile)
            if tile in LOSSLESS:
                Image.fromarray(image).save(HERE / "images_png" / f"{tile}.png", optimize=True)
            else:
                Image.fromarray(image).save(
                    HERE / "images_png" / f"{tile}.jpg", quality=JPEG_QUALITY, subsampling=2
                )
            Image.fromarray(mask).save(HERE / "masks_png" / f"{tile}.png", optimize=True)
            present += np.bincount(lut[mask].ravel(), minlength=256)
        (HERE / f"{split}.txt").write_text("\n".join(tiles) + "\n")
        share = present[:5] / present.sum() * 100
        print(split, len(tiles), "tiles; % bg/building/woodland/water/road:", share.round(2))
        assert (present[1:5] > 0).all(), f"{split} lacks a class"
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.suffix in (".png", ".jpg"))
    print(f"total image and mask size {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
