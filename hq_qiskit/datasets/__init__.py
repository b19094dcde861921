"""Datasets: 512-px image/mask tiles from LandCover.ai, LoveDA, OpenEarthMap or the built-in
LoveDA sample, all with masks in LandCover.ai's five classes (255 = ignore).

    classes       class names, colours, label maps to LandCover.ai
    raster        windowed rasterio reading, band choice, grid checks, the 512-px tiling rule
    tiles         Tiles (torch Dataset), PngTiles, RasterTiles
    landcoverai   images/*.tif + masks/*.tif + train/val/test.txt, read by window
    loveda        images_png/ + masks_png/ (flat with split lists, or Train/Val/Test)
    openearthmap  <region>/images + <region>/labels + split lists

Example:
    >>> tiles = open_tiles(None, "train")
    >>> tiles[0]["image"].shape, tiles[0]["mask"].shape
    (torch.Size([3, 512, 512]), torch.Size([512, 512]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path

from hq_qiskit.datasets.classes import (
    IGNORE_INDEX,
    LANDCOVERAI_CLASSES,
    LANDCOVERAI_COLOURS,
    LOVEDA_TO_LANDCOVERAI,
    OPENEARTHMAP_TO_LANDCOVERAI,
)
from hq_qiskit.datasets.landcoverai import is_landcoverai, landcoverai_tiles
from hq_qiskit.datasets.loveda import is_loveda_flat, is_loveda_official, loveda_tiles
from hq_qiskit.datasets.openearthmap import is_openearthmap, openearthmap_tiles
from hq_qiskit.datasets.tiles import PngTiles, RasterTiles, Tiles
from hq_qiskit.errors import DataError

__all__ = [
    "IGNORE_INDEX",
    "LANDCOVERAI_CLASSES",
    "LANDCOVERAI_COLOURS",
    "LOVEDA_TO_LANDCOVERAI",
    "OPENEARTHMAP_TO_LANDCOVERAI",
    "ALL",
    "SPLITS",
    "PngTiles",
    "RasterTiles",
    "Tiles",
    "builtin_data_dir",
    "detect_layout",
    "open_tiles",
]

SPLITS = ("train", "val", "test")
ALL = "all"  # every image/mask pair of a folder, whatever its split lists say (or without them)

LAYOUTS_HELP = (
    "LandCover.ai (images/*.tif, masks/*.tif, train.txt/val.txt/test.txt, or the pre-cut "
    "output/<id>.png or .jpg + output/<id>_m.png), "
    "LoveDA (images_png/ + masks_png/ + <split>.txt, or Train/ Val/ with <domain>/images_png), "
    "OpenEarthMap (<region>/images/*.tif, <region>/labels/*.tif, <split>.txt)"
)


def builtin_data_dir() -> Path:
    """Folder of the built-in sample: 12 real LoveDA 512-px tiles in the flat LoveDA layout."""
    return Path(str(files("hq_qiskit.data") / "loveda_sample"))


def detect_layout(root: Path) -> str:
    """Name the layout of a data folder: "landcoverai", "loveda" or "openearthmap"."""
    if not root.is_dir():
        raise DataError(f"--data {root}: no such folder; give a folder in one of: {LAYOUTS_HELP}")
    if is_landcoverai(root):
        return "landcoverai"
    if is_loveda_flat(root) or is_loveda_official(root):
        return "loveda"
    if is_openearthmap(root):
        return "openearthmap"
    raise DataError(f"--data {root}: layout not recognised; expected one of: {LAYOUTS_HELP}")


def open_tiles(
    data: Path | str | None,
    split: str,
    *,
    class_map: Mapping[int, int] | None = None,
    classes: Sequence[str] | None = None,
    bands: Sequence[int] | None = None,
) -> Tiles:
    """Open one split of a data folder as 512-px tiles, detecting its layout.

    Args:
        data: a folder in LandCover.ai, LoveDA or OpenEarthMap layout; None for the built-in
            LoveDA sample.
        split: "train", "val" or "test", or "all": every image/mask pair of the folder,
            in any layout, with or without split lists.
        class_map: raw mask value -> class index (or 255 to ignore); default: the layout's map
            to LandCover.ai (identity for LandCover.ai, ``LOVEDA_TO_LANDCOVERAI``,
            ``OPENEARTHMAP_TO_LANDCOVERAI``).
        classes: class names matching ``class_map``'s indices; default ``LANDCOVERAI_CLASSES``.
        bands: 1-based image bands for GeoTIFF layouts (default 1, 2, 3).

    Returns:
        Tiles: ``tiles[i] = {"image": uint8 (3, 512, 512), "mask": int64 (512, 512), "id": str}``.
    """
    if split not in (*SPLITS, ALL):
        raise DataError(f"split {split!r}: choose one of {', '.join(SPLITS)} or {ALL}")
    names = list(classes) if classes is not None else LANDCOVERAI_CLASSES
    root = builtin_data_dir() if data is None else Path(data)
    layout = detect_layout(root)
    if layout == "landcoverai":
        return landcoverai_tiles(root, split, class_map=class_map, classes=names, bands=bands)
    if layout == "openearthmap":
        return openearthmap_tiles(root, split, class_map=class_map, classes=names, bands=bands)
    return loveda_tiles(root, split, class_map=class_map, classes=names)
