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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
    "LAYOUTS",
    "LANDCOVERAI_CLASSES",
    "LANDCOVERAI_COLOURS",
    "LOVEDA_TO_LANDCOVERAI",
    "Layout",
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


def builtin_data_dir() -> Path:
    """Folder of the built-in sample: 52 real LoveDA 512-px tiles in the flat LoveDA layout."""
    return Path(str(files("hq_qiskit.data") / "loveda_sample"))


@dataclass(frozen=True)
class Layout:
    """One dataset layout: how to recognise its folder and open a split of it.

    Attributes:
        detect: True when a folder is in this layout.
        open: (root, split, class_map, classes, bands) -> Tiles.
        help: what the folder holds, for error messages.
    """

    detect: Callable[[Path], bool]
    open: Callable[..., Tiles]
    help: str


def _open_loveda(root, split, *, class_map, classes, bands):
    if bands is not None:
        raise DataError(f"--data {root}: LoveDA tiles are RGB PNGs; --bands applies to GeoTIFFs")
    return loveda_tiles(root, split, class_map=class_map, classes=classes)


# name -> layout; detection tries them in this order. A new layout is one module + one row.
LAYOUTS: dict[str, Layout] = {
    "landcoverai": Layout(
        is_landcoverai,
        landcoverai_tiles,
        "LandCover.ai (images/*.tif, masks/*.tif, train.txt/val.txt/test.txt, or the pre-cut "
        "output/<id>.png or .jpg + output/<id>_m.png)",
    ),
    "loveda": Layout(
        lambda root: is_loveda_flat(root) or is_loveda_official(root),
        _open_loveda,
        "LoveDA (images_png/ + masks_png/ + <split>.txt, or Train/ Val/ with <domain>/images_png)",
    ),
    "openearthmap": Layout(
        is_openearthmap,
        openearthmap_tiles,
        "OpenEarthMap (<region>/images/*.tif, <region>/labels/*.tif, <split>.txt)",
    ),
}
LAYOUTS_HELP = ", ".join(layout.help for layout in LAYOUTS.values())


def detect_layout(root: Path) -> str:
    """Name the layout of a data folder: a key of ``LAYOUTS``."""
    if not root.is_dir():
        raise DataError(f"--data {root}: no such folder; give a folder in one of: {LAYOUTS_HELP}")
    for name, layout in LAYOUTS.items():
        if layout.detect(root):
            return name
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
        data: a folder in one of the ``LAYOUTS`` (LandCover.ai, LoveDA, OpenEarthMap); None
            for the built-in LoveDA sample.
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
    layout = LAYOUTS[detect_layout(root)]
    return layout.open(root, split, class_map=class_map, classes=names, bands=bands)
