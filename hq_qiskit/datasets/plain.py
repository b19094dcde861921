"""A plain image/mask folder: ``<root>/images/<stem>.png|.jpg`` with ``<root>/masks/<stem>.png``,
masks holding class values (mode L or P) already in the project's classes (255 = ignore).

This is what a user exports from any labelling tool. Images of any size are cut into 512-px
tiles row-major that cover them whole (``tiles.cover_windows``; the part of a window past the
right or bottom edge is padded and ignored), ids ``<stem>_<k>`` (``<stem>`` for a 512x512 image);
a tile's group is its image. GeoTIFF folders (``images/*.tif``) are read as LandCover.ai's layout.
Splits: ``all`` reads every image with a mask; ``train``/``val``/``test`` read ``<split>.txt``
listing image stems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image

from hq_qiskit.datasets.classes import LANDCOVERAI_CLASSES
from hq_qiskit.datasets.tiles import (
    TILE_PX,
    PngTiles,
    TileRef,
    cover_windows,
    missing_ids_error,
    read_split_list,
    tile_id,
)
from hq_qiskit.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _images(root: Path) -> dict[str, Path]:
    return {
        p.stem: p for p in sorted((root / "images").iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES
    }


def is_plain(root: Path) -> bool:
    """True when ``root`` holds ``images/`` with PNG or JPEG files and ``masks/``."""
    return (root / "masks").is_dir() and (root / "images").is_dir() and bool(_images(root))


def _tiles_of(image: Path, mask: Path) -> list[TileRef]:
    if not mask.is_file():
        raise DataError(f"{image}: has no mask {mask}; every image needs masks/<stem>.png")
    try:
        with Image.open(image) as im:
            width, height = im.size
    except OSError as err:
        raise DataError(f"{image}: cannot read ({err}); re-export it as PNG") from None
    return [
        TileRef(tile_id(image.stem, k, width, height), image, mask, x, y, image.stem)
        for k, (x, y) in enumerate(cover_windows(width, height, TILE_PX))
    ]


def plain_tiles(
    root: Path,
    split: str,
    *,
    class_map: Mapping[int, int] | None = None,
    classes: Sequence[str] = LANDCOVERAI_CLASSES,
    bands: Sequence[int] | None = None,
) -> PngTiles:
    """The tiles of a plain image/mask folder.

    Args:
        root: folder with ``images/`` and ``masks/``.
        split: "all" (every image with a mask), or "train"/"val"/"test" (``<split>.txt``
            naming image stems).
        class_map: raw mask value -> class; default identity on ``classes``.
        classes: class names.
        bands: must be None (PNG/JPEG images are RGB).
    """
    if bands is not None:
        raise DataError(f"--data {root}: images are PNG/JPEG; --bands applies to GeoTIFFs")
    images = _images(root)
    if split == "all":
        stems = [s for s in images if (root / "masks" / f"{s}.png").is_file()]
        if not stems:
            raise DataError(f"{root}: no images/<stem> has a masks/<stem>.png; no tiles")
    else:
        split_file = root / f"{split}.txt"
        stems = read_split_list(split_file)
        missing = [s for s in stems if s not in images]
        if missing:
            raise missing_ids_error(split_file, missing, f"no images/<stem>.png|.jpg in {root}")
    refs = [r for s in stems for r in _tiles_of(images[s], root / "masks" / f"{s}.png")]
    cmap = class_map if class_map is not None else {k: k for k in range(len(classes))}
    return PngTiles(refs, cmap, classes)
