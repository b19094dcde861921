"""The Dubai aerial layout (Humans in the Loop / MBRSC): ``<root>/tile_N/images/<stem>.jpg`` with
colour masks ``<root>/tile_N/masks/<stem>.png``, as ``../shared/data/dubai_aerial_63`` holds it.

Masks are colours, not class values: each pixel's RGB is looked up in ``DUBAI_CLASSES`` (the
colours read from the mask pixels, as the data's README gives them; the ``classes.json``
shipped with the data names other colours and is wrong). A colour outside the table is refused.
The reader turns colours into raw values 0..5, which the class map then sends to LandCover.ai's
classes (``DUBAI_TO_LANDCOVERAI``, the README's suggestion):

    land (unpaved) -> 0 background     building -> 1 building
    vegetation     -> 2 woodland (loosely: grass and palms too)
    water          -> 3 water          road -> 4 road
    unlabelled (155, 155, 155) and (0, 0, 0) -> 255 ignore

Tiling: images are 509 to 2062 px a side, so each is cut into 512-px tiles row-major that cover
it whole (ceil(W/512) x ceil(H/512) windows); the part of a window past the image's right or
bottom edge is padded with black pixels whose label is 255 (ignore), so no pixel is dropped or
counted twice. Tile ids are ``<region>_<stem>_<k>`` (``tile_1_image_part_001_0``), and a tile's
group is its region (``tile_1``): the 9 images of a region overlap in content and style, so
resampling and cross-validation keep a region whole.

Splits: ``all`` reads every region; ``train``/``val``/``test`` read ``<root>/<split>.txt``
listing regions (``tile_3``), one per line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from hq_qiskit.datasets.classes import IGNORE_INDEX, LANDCOVERAI_CLASSES
from hq_qiskit.datasets.tiles import (
    PngTiles,
    TileRef,
    cover_windows,
    missing_ids_error,
    read_split_list,
)
from hq_qiskit.errors import DataError


class DubaiClass(NamedTuple):
    """One mask colour of the Dubai data: RGB, class name, raw value the reader gives it, and
    the LandCover.ai class it maps to by default (255: ignore)."""

    colour: tuple[int, int, int]
    name: str
    raw: int
    landcoverai: int


DUBAI_CLASSES: tuple[DubaiClass, ...] = (
    DubaiClass((132, 41, 246), "land", 0, 0),
    DubaiClass((60, 16, 152), "building", 1, 1),
    DubaiClass((254, 221, 58), "vegetation", 2, 2),
    DubaiClass((226, 169, 41), "water", 3, 3),
    DubaiClass((110, 193, 228), "road", 4, 4),
    DubaiClass((155, 155, 155), "unlabelled", 5, IGNORE_INDEX),
    DubaiClass((0, 0, 0), "unlabelled", 5, IGNORE_INDEX),
)
DUBAI_TO_LANDCOVERAI: dict[int, int] = {c.raw: c.landcoverai for c in DUBAI_CLASSES}

_CODES = np.array([(r << 16) | (g << 8) | b for (r, g, b), *_ in DUBAI_CLASSES], dtype=np.uint32)
_ORDER = np.argsort(_CODES)
_SORTED_CODES = _CODES[_ORDER]
_SORTED_RAW = np.array([c.raw for c in DUBAI_CLASSES], dtype=np.uint8)[_ORDER]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def colours_to_raw(rgb: np.ndarray, where: str) -> np.ndarray:
    """Raw values (H, W) uint8 of a colour mask (H, W, 3) uint8, through ``DUBAI_CLASSES``.

    Raises:
        DataError: naming ``where`` and up to three colours the table does not hold.
    """
    code = (
        (rgb[..., 0].astype(np.uint32) << 16)
        | (rgb[..., 1].astype(np.uint32) << 8)
        | rgb[..., 2].astype(np.uint32)
    )
    pos = np.minimum(np.searchsorted(_SORTED_CODES, code), len(_SORTED_CODES) - 1)
    known = _SORTED_CODES[pos] == code
    if not known.all():
        bad = [(int(c) >> 16, (int(c) >> 8) & 255, int(c) & 255) for c in np.unique(code[~known])]
        raise DataError(
            f"{where}: mask colours {bad[:3]} are not Dubai classes (it knows "
            f"{[c.colour for c in DUBAI_CLASSES]}); give the data's original colour PNG masks"
        )
    return _SORTED_RAW[pos]


def is_dubai(root: Path) -> bool:
    """True when some ``<root>/<region>/`` holds ``images/`` and ``masks/``."""
    return any((d.parent / "masks").is_dir() for d in root.glob("*/images"))


def _region_tiles(region: Path) -> list[TileRef]:
    """The tiles of every image of one region, each with its mask ``masks/<stem>.png``."""
    images = sorted(p for p in (region / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise DataError(f"{region / 'images'}: no .jpg or .png images; no tiles")
    refs: list[TileRef] = []
    for image in images:
        mask = region / "masks" / f"{image.stem}.png"
        if not mask.is_file():
            raise DataError(f"{image}: has no mask {mask}; every image needs its colour mask")
        try:
            with Image.open(image) as im:
                width, height = im.size
        except OSError as err:
            raise DataError(f"{image}: cannot read ({err}); re-export it as JPEG") from None
        refs += [
            TileRef(f"{region.name}_{image.stem}_{k}", image, mask, x, y, region.name)
            for k, (x, y) in enumerate(cover_windows(width, height))
        ]
    return refs


class DubaiTiles(PngTiles):
    """512-px tiles of Dubai JPEG images with colour masks, decoded to raw values 0..5 through
    ``DUBAI_CLASSES``; windows past an image's edge are padded (image 0, mask ignore)."""

    reexport_hint = "re-export it"

    def _mask_pixels(self, ref: TileRef, im: Image.Image) -> np.ndarray:
        """The colour mask as RGB uint8 (H, W, 3); palette masks hold the same colours."""
        return np.asarray(im.convert("RGB"))

    def _raw_mask(self, ref: TileRef, pixels: np.ndarray) -> np.ndarray:
        """Raw values 0..5 uint8 (H, W) of the colour mask (H, W, 3)."""
        return colours_to_raw(pixels, str(ref.mask))


def dubai_tiles(
    root: Path,
    split: str,
    *,
    class_map: Mapping[int, int] | None = None,
    classes: Sequence[str] = LANDCOVERAI_CLASSES,
    bands: Sequence[int] | None = None,
) -> DubaiTiles:
    """The tiles of a Dubai folder: every region (``all``) or those ``<split>.txt`` lists.

    Args:
        root: folder of regions ``tile_N/{images,masks}``.
        split: "all", or "train"/"val"/"test" (reads ``<root>/<split>.txt`` of region names).
        class_map: raw value (``DubaiClass.raw``) -> class; default ``DUBAI_TO_LANDCOVERAI``.
        classes: class names.
        bands: must be None (the images are RGB JPEGs).
    """
    if bands is not None:
        raise DataError(f"--data {root}: Dubai images are RGB JPEGs; --bands applies to GeoTIFFs")
    regions = {
        d.parent.name: d.parent for d in root.glob("*/images") if (d.parent / "masks").is_dir()
    }
    if split == "all":
        chosen = sorted(regions)
    else:
        split_file = root / f"{split}.txt"
        if not split_file.is_file():
            raise DataError(
                f"{root}: Dubai folder has no {split}.txt; list the regions (tile_N) of the "
                f"{split} split there, or read split 'all' and make folds of whole regions"
            )
        chosen = read_split_list(split_file)
        missing = [r for r in chosen if r not in regions]
        if missing:
            raise missing_ids_error(split_file, missing, f"no <region>/images in {root}")
    refs = [ref for name in chosen for ref in _region_tiles(regions[name])]
    cmap = class_map if class_map is not None else DUBAI_TO_LANDCOVERAI
    return DubaiTiles(refs, cmap, classes)
