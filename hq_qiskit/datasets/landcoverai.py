"""LandCover.ai's official layout: ``images/<sheet>.tif``, ``masks/<sheet>.tif`` and
``train.txt`` / ``val.txt`` / ``test.txt`` listing tile ids ``<sheet>_<k>``.

Tiles are read straight from the sheets by window (no pre-cut copy on disk), with the
dataset's own tiling rule (``raster.tile_windows``): row-major 512-px windows, a per-sheet
counter k, full windows only. The ids generated for all 41 real sheets equal the official lists.
A folder pre-cut by the dataset's own ``split.py`` (``output/<id>.jpg`` and ``output/<id>_m.png``
beside the split lists) is read as well, and so is one pre-cut losslessly by ``precut.py``
(``output/<id>.png`` instead of the JPEG).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from hq_qiskit.datasets.classes import LANDCOVERAI_CLASSES, LANDCOVERAI_IDENTITY
from hq_qiskit.datasets.plain import is_plain
from hq_qiskit.datasets.raster import (
    BANDS_HOW,
    check_same_grid,
    open_raster,
    select_bands,
    tile_windows,
)
from hq_qiskit.datasets.tiles import (
    TILE_PX,
    PngTiles,
    RasterTiles,
    TileRef,
    missing_ids_error,
    read_split_list,
)
from hq_qiskit.errors import DataError


def is_landcoverai(root: Path) -> bool:
    """True when ``root`` has LandCover.ai's ``images/`` and ``masks/`` folders (images/ not
    of PNG/JPEG files: that is a plain folder), or its pre-cut ``output/`` folder beside a
    split list."""
    sheets = (root / "images").is_dir() and (root / "masks").is_dir() and not is_plain(root)
    return sheets or ((root / "output").is_dir() and any(root.glob("*.txt")))


def precut_image(out: Path, tile: str) -> Path:
    """Image file of a pre-cut tile: ``<tile>.png`` when present, else the official ``.jpg``."""
    png = out / f"{tile}.png"
    return png if png.is_file() else out / f"{tile}.jpg"


def precut_tiles(
    root: Path, split: str, class_map: Mapping[int, int] | None, classes: Sequence[str]
) -> PngTiles:
    """Tiles of a split from ``output/<id>.png`` (lossless, ``precut.py``) or ``<id>.jpg``
    (the official cut) + ``output/<id>_m.png``."""
    split_file = root / f"{split}.txt"
    out = root / "output"
    if split == "all":  # every pre-cut tile with a mask
        ids = sorted(m.name.removesuffix("_m.png") for m in out.glob("*_m.png"))
        if not ids:
            raise DataError(f"{out}: no <id>_m.png masks; no tiles")
    else:
        ids = read_split_list(split_file)
    refs = [
        TileRef(i, precut_image(out, i), out / f"{i}_m.png", 0, 0, i.rpartition("_")[0] or i)
        for i in ids
    ]
    missing = [r.id for r in refs if not (r.image.is_file() and r.mask.is_file())]
    if missing:
        raise missing_ids_error(split_file, missing, f"no output/{missing[0]}.png|.jpg / _m.png")
    return PngTiles(refs, class_map if class_map is not None else LANDCOVERAI_IDENTITY, classes)


def sheet_tile_ids(width: int, height: int, sheet: str, tile_px: int = TILE_PX) -> list[str]:
    """Official tile ids ``<sheet>_<k>`` of a width x height sheet, in k order."""
    return [f"{sheet}_{k}" for k, _ in tile_windows(width, height, tile_px)]


def landcoverai_tiles(
    root: Path,
    split: str,
    *,
    class_map: Mapping[int, int] | None = None,
    classes: Sequence[str] = LANDCOVERAI_CLASSES,
    bands: Sequence[int] | None = None,
) -> RasterTiles | PngTiles:
    """The tiles of one split of a LandCover.ai folder, in split-list order.

    Args:
        root: folder holding ``images/``, ``masks/`` and the split lists.
        split: "train", "val" or "test" (reads ``<split>.txt``); "all" for every full tile
            of every sheet with a mask.
        class_map: raw mask value -> class; default identity on 0..4.
        classes: class names.
        bands: 1-based image bands (default 1, 2, 3 of a 3-band sheet).
    """
    if not (root / "images").is_dir():
        return precut_tiles(root, split, class_map, classes)
    split_file = root / f"{split}.txt"
    if split == "all":  # every full window of every sheet that has a mask
        sheets = sorted(
            p.stem for p in (root / "images").glob("*.tif") if (root / "masks" / p.name).is_file()
        )
        if not sheets:
            raise DataError(f"{root}: no images/<sheet>.tif has a masks/<sheet>.tif; no tiles")
        ids = []
        for sheet in sheets:
            with open_raster(root / "images" / f"{sheet}.tif") as src:
                ids += sheet_tile_ids(src.width, src.height, sheet)
    else:
        ids = read_split_list(split_file)
    by_sheet: dict[str, dict[int, TileRef]] = {}
    missing: list[str] = []
    why = ""
    chosen_bands: list[int] | None = None
    refs: list[TileRef] = []
    for tid in ids:
        sheet, _, k = tid.rpartition("_")
        if not sheet or not k.isdigit():
            raise DataError(
                f"{split_file}: {tid!r} is not a LandCover.ai tile id; ids are <sheet>_<k>"
            )
        if sheet not in by_sheet:
            image, mask = root / "images" / f"{sheet}.tif", root / "masks" / f"{sheet}.tif"
            if not image.is_file() or not mask.is_file():
                by_sheet[sheet] = {}
                why = why or f"no {image.relative_to(root)} / {mask.relative_to(root)}"
            else:
                with open_raster(image) as isrc, open_raster(mask) as msrc:
                    check_same_grid(isrc, msrc, image, mask)
                    if chosen_bands is None:
                        chosen_bands = select_bands(isrc, bands, 3, image, how=BANDS_HOW)
                    windows = tile_windows(isrc.width, isrc.height, TILE_PX)
                by_sheet[sheet] = {
                    k_: TileRef(f"{sheet}_{k_}", image, mask, int(w.col_off), int(w.row_off), sheet)
                    for k_, w in windows
                }
        ref = by_sheet[sheet].get(int(k))
        if ref is None:
            missing.append(tid)
            if by_sheet[sheet]:
                why = why or f"k={k} is not a full {TILE_PX}-px window of sheet {sheet}"
        else:
            refs.append(ref)
    if missing:
        raise missing_ids_error(split_file, missing, why)
    return RasterTiles(
        refs,
        class_map if class_map is not None else LANDCOVERAI_IDENTITY,
        classes,
        bands=chosen_bands or [1, 2, 3],
    )
