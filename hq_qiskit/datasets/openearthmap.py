"""OpenEarthMap's layout: ``<root>/<region>/images/<name>.tif`` with labels in
``<root>/<region>/labels/<name>.tif`` and split lists ``<root>/<split>.txt`` naming files
(``aachen_1.tif``), as the official release has it.

Each listed image is cut into 512-px tiles row-major (full windows only): tile ids are
``<name>_<k>``, or ``<name>`` for a 512x512 image. Labels (0 unknown .. 8 building) are mapped
to LandCover.ai's classes on read (``classes.OPENEARTHMAP_TO_LANDCOVERAI``, overridable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from hq_qiskit.datasets.classes import LANDCOVERAI_CLASSES, OPENEARTHMAP_TO_LANDCOVERAI
from hq_qiskit.datasets.raster import (
    BANDS_HOW,
    check_same_grid,
    open_raster,
    select_bands,
    tile_windows,
)
from hq_qiskit.datasets.tiles import (
    TILE_PX,
    RasterTiles,
    TileRef,
    missing_ids_error,
    read_split_list,
    tile_id,
)
from hq_qiskit.errors import DataError


def is_openearthmap(root: Path) -> bool:
    """True when some ``<root>/<region>/`` holds ``images/`` and ``labels/``."""
    return any((d.parent / "labels").is_dir() for d in root.glob("*/images"))


def openearthmap_tiles(
    root: Path,
    split: str,
    *,
    class_map: Mapping[int, int] | None = None,
    classes: Sequence[str] = LANDCOVERAI_CLASSES,
    bands: Sequence[int] | None = None,
) -> RasterTiles:
    """The tiles of the images an OpenEarthMap split list names, in list order.

    Args:
        root: the release folder (regions as subfolders, split lists beside them).
        split: "train", "val" or "test" (reads ``<split>.txt``); "all" for every image with
            a label.
        class_map: raw label -> class; default ``OPENEARTHMAP_TO_LANDCOVERAI``.
        classes: class names.
        bands: 1-based image bands (default 1, 2, 3 of a 3-band image).
    """
    images = {p.name: p for p in root.glob("*/images/*.tif")}
    if split == "all":  # every image with a label, no split list needed
        split_file = root
        chosen_images = [
            p for _, p in sorted(images.items()) if (p.parent.parent / "labels" / p.name).is_file()
        ]
        if not chosen_images:
            raise DataError(f"{root}: no <region>/images/<name>.tif has a label; no tiles")
    else:
        split_file = root / f"{split}.txt"
        names = read_split_list(split_file)
        missing = [n for n in names if (n if n.endswith(".tif") else f"{n}.tif") not in images]
        if missing:
            raise missing_ids_error(split_file, missing, f"no <region>/images/<name>.tif in {root}")
        chosen_images = [images[n if n.endswith(".tif") else f"{n}.tif"] for n in names]
    refs: list[TileRef] = []
    chosen: list[int] | None = None
    for image in chosen_images:
        label = image.parent.parent / "labels" / image.name
        if not label.is_file():
            raise DataError(f"{image}: has no label {label}; every image needs its label file")
        with open_raster(image) as isrc, open_raster(label) as lsrc:
            check_same_grid(isrc, lsrc, image, label, require_crs=False)
            if chosen is None:
                chosen = select_bands(isrc, bands, 3, image, how=BANDS_HOW)
            width, height = isrc.width, isrc.height
        refs.extend(
            TileRef(
                tile_id(image.stem, k, width, height),
                image,
                label,
                int(w.col_off),
                int(w.row_off),
                image.stem,
            )
            for k, w in tile_windows(width, height, TILE_PX)
        )
    if not refs:
        raise DataError(f"{split_file}: its images are all smaller than {TILE_PX} px; no tiles")
    cmap = class_map if class_map is not None else OPENEARTHMAP_TO_LANDCOVERAI
    return RasterTiles(refs, cmap, classes, bands=chosen or [1, 2, 3])
