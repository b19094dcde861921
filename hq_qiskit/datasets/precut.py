"""Pre-cut a LandCover.ai tree into lossless 512-px PNG tiles.

Reading tiles by window from the sheets needs no copy on disk; a pre-cut copy (as the
HQ-UNet paper used) decodes faster and can be moved without the GeoTIFFs. The output has the
layout of the dataset's own ``split.py``, which ``open_tiles`` reads, with PNG images instead of
JPEG so no pixel changes: ``<dst>/output/<sheet>_<k>.png`` (RGB), ``<dst>/output/<sheet>_<k>_m.png``
(mode L, raw mask values; image nodata becomes 255) and the split lists copied beside ``output/``.
Tiles follow the official tiling rule (``raster.tile_windows``), every full window of every sheet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from hq_qiskit.atomic import atomic_write
from hq_qiskit.datasets.classes import LANDCOVERAI_IDENTITY
from hq_qiskit.datasets.raster import (
    BANDS_HOW,
    check_same_grid,
    open_raster,
    select_bands,
    tile_windows,
)
from hq_qiskit.datasets.tiles import TILE_PX, RasterTiles, TileRef
from hq_qiskit.errors import DataError

SPLIT_LISTS = ("train.txt", "val.txt", "test.txt")


def write_png(array: np.ndarray, path: Path) -> None:
    """Write a uint8 (H, W, 3) RGB or (H, W) single-band array as PNG, atomically."""
    atomic_write(path, lambda f: Image.fromarray(array).save(f, format="PNG"))


def sheet_tiles(src: Path, sheet: str) -> RasterTiles:
    """The full 512-px tiles of one sheet, in k order, read by window from its GeoTIFFs."""
    image, mask = src / "images" / f"{sheet}.tif", src / "masks" / f"{sheet}.tif"
    if not mask.is_file():
        raise DataError(f"{image}: has no mask {mask}; add it or remove the image")
    with open_raster(image) as isrc, open_raster(mask) as msrc:
        check_same_grid(isrc, msrc, image, mask)
        bands = select_bands(isrc, None, 3, image, how=BANDS_HOW)
        windows = tile_windows(isrc.width, isrc.height, TILE_PX)
    refs = [
        TileRef(f"{sheet}_{k}", image, mask, int(w.col_off), int(w.row_off)) for k, w in windows
    ]
    return RasterTiles(refs, LANDCOVERAI_IDENTITY, bands=bands, cache_tiles=0)


def check_source(src: Path) -> tuple[list[str], list[Path]]:
    """Sheet names and split lists of a LandCover.ai tree; DataError when it is not one."""
    expected = "images/*.tif, masks/*.tif and train.txt / val.txt / test.txt"
    sheets = sorted(p.stem for p in (src / "images").glob("*.tif"))
    lists = [src / name for name in SPLIT_LISTS if (src / name).is_file()]
    if not src.is_dir() or not (src / "masks").is_dir() or not sheets or not lists:
        raise DataError(
            f"{src}: not a LandCover.ai tree (needs {expected}); give the folder that holds them"
        )
    return sheets, lists


def precut_landcoverai(
    src: Path, dst: Path, *, overwrite: bool = False, progress: bool = True
) -> int:
    """Cut every full 512-px tile of a LandCover.ai tree into lossless PNG files.

    Args:
        src: folder with ``images/<sheet>.tif`` (3-band uint8), ``masks/<sheet>.tif`` (1-band
            uint8) and the split lists.
        dst: output folder; gets ``output/<sheet>_<k>.png`` (uint8 RGB, 512x512 px),
            ``output/<sheet>_<k>_m.png`` (uint8, 512x512 px) and copies of the split lists.
        overwrite: write into an existing non-empty ``dst``, replacing files of the same name.
        progress: show a tqdm bar over tiles.

    Returns:
        The number of tiles written.
    """
    src, dst = Path(src), Path(dst)
    sheets, lists = check_source(src)
    if dst.resolve() == src.resolve():
        raise DataError(f"{dst}: is the source folder itself; give a new folder for the tiles")
    if dst.exists() and not dst.is_dir():
        raise DataError(f"{dst}: is a file; give a folder for the tiles")
    if dst.is_dir() and any(dst.iterdir()) and not overwrite:
        raise DataError(f"{dst}: folder exists and is not empty; pass --overwrite to write into it")
    out = dst / "output"
    out.mkdir(parents=True, exist_ok=True)
    by_sheet = [sheet_tiles(src, sheet) for sheet in sheets]
    total = sum(len(t) for t in by_sheet)
    with tqdm(total=total, desc="precut", unit="tile", disable=not progress) as bar:
        for tiles in by_sheet:
            for ref in tiles.refs:
                image, mask = tiles.read(ref)  # (3, T, T), (T, T) uint8
                write_png(np.ascontiguousarray(image.transpose(1, 2, 0)), out / f"{ref.id}.png")
                write_png(mask, out / f"{ref.id}_m.png")
                bar.update()
    for split_list in lists:
        atomic_write(dst / split_list.name, split_list.read_bytes())
    return total
