"""Datasets: 512-px image/mask tiles from a plain folder, LandCover.ai, LoveDA, OpenEarthMap,
the Dubai aerial set or the built-in LoveDA sample, all with masks in LandCover.ai's five
classes (255 = ignore), each tile with its group (image or region).

    classes       class names, colours, label maps to LandCover.ai
    raster        windowed rasterio reading, band choice, grid checks, the 512-px tiling rule
    tiles         Tiles (torch Dataset), PngTiles, RasterTiles
    landcoverai   images/*.tif + masks/*.tif + train/val/test.txt, read by window
    loveda        images_png/ + masks_png/ (flat with split lists, or Train/Val/Test)
    openearthmap  <region>/images + <region>/labels + split lists
    dubai         <region>/images/*.jpg + <region>/masks/*.png colour masks (tile_N regions)
    plain         images/ + masks/ PNG or JPEG pairs of class values
    folders       LAYOUTS and open_labelled(path, split): one opener for every layout
    concat        open_folders(paths): several folders (domains) as one ConcatTiles
    folds         group_kfold(groups, k, seed): folds of whole images / regions

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
from hq_qiskit.datasets.concat import ConcatTiles, open_folders
from hq_qiskit.datasets.dubai import DUBAI_CLASSES, DUBAI_TO_LANDCOVERAI
from hq_qiskit.datasets.folders import (
    ALL,
    LAYOUTS,
    LAYOUTS_HELP,
    SPLITS,
    Layout,
    detect_layout,
    open_labelled,
)
from hq_qiskit.datasets.folds import group_kfold
from hq_qiskit.datasets.tiles import PngTiles, RasterTiles, Tiles

__all__ = [
    "IGNORE_INDEX",
    "LAYOUTS",
    "LAYOUTS_HELP",
    "LANDCOVERAI_CLASSES",
    "LANDCOVERAI_COLOURS",
    "LOVEDA_TO_LANDCOVERAI",
    "DUBAI_CLASSES",
    "DUBAI_TO_LANDCOVERAI",
    "Layout",
    "OPENEARTHMAP_TO_LANDCOVERAI",
    "ALL",
    "SPLITS",
    "ConcatTiles",
    "PngTiles",
    "RasterTiles",
    "Tiles",
    "builtin_data_dir",
    "detect_layout",
    "group_kfold",
    "open_folders",
    "open_labelled",
    "open_tiles",
]


def builtin_data_dir() -> Path:
    """Folder of the built-in sample: 52 real LoveDA 512-px tiles in the flat LoveDA layout."""
    return Path(str(files("hq_qiskit.data") / "loveda_sample"))


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
        data: a folder in one of the ``LAYOUTS`` (plain, LandCover.ai, LoveDA, OpenEarthMap,
            Dubai; see ``open_labelled``); None for the built-in LoveDA sample.
        split: "train", "val" or "test", or "all": every image/mask pair of the folder,
            in any layout, with or without split lists.
        class_map: raw mask value -> class index (or 255 to ignore); default: the layout's map
            to LandCover.ai (identity for LandCover.ai, ``LOVEDA_TO_LANDCOVERAI``,
            ``OPENEARTHMAP_TO_LANDCOVERAI``).
        classes: class names matching ``class_map``'s indices; default ``LANDCOVERAI_CLASSES``.
        bands: 1-based image bands for GeoTIFF layouts (default 1, 2, 3).

    Returns:
        Tiles: ``tiles[i] = {"image": uint8 (3, 512, 512), "mask": int64 (512, 512), "id": str,
        "group": str}``.
    """
    return open_labelled(
        builtin_data_dir() if data is None else data,
        split,
        class_map=class_map,
        classes=classes,
        bands=bands,
    )
