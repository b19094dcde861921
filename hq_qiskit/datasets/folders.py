"""One opener for every labelled folder a user has: ``open_labelled(path, split)``.

``LAYOUTS`` names each layout with how to recognise its folder and open a split of it;
detection tries them in order, and a folder in none of them is refused in one line naming
the path and the layouts accepted. Every layout yields ``Tiles`` whose masks are in the
project's classes (each layout's own class map applied) and whose items carry the tile's
``group``: the image it was cut from (a LoveDA image, not its quadrant; a LandCover.ai sheet;
an OpenEarthMap or plain image) or, for the Dubai layout, its region ``tile_N``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hq_qiskit.datasets.classes import LANDCOVERAI_CLASSES
from hq_qiskit.datasets.dubai import dubai_tiles, is_dubai
from hq_qiskit.datasets.landcoverai import is_landcoverai, landcoverai_tiles
from hq_qiskit.datasets.loveda import is_loveda_flat, is_loveda_official, loveda_tiles
from hq_qiskit.datasets.openearthmap import is_openearthmap, openearthmap_tiles
from hq_qiskit.datasets.plain import is_plain, plain_tiles
from hq_qiskit.datasets.tiles import Tiles
from hq_qiskit.errors import DataError

SPLITS = ("train", "val", "test")
ALL = "all"  # every image/mask pair of a folder, whatever its split lists say (or without them)


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


# name -> layout; detection tries them in this order (LandCover.ai and plain both have
# images/ + masks/: images/ of PNG/JPEG files is plain, else LandCover.ai). A new layout is
# one module + one row.
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
    "dubai": Layout(
        is_dubai,
        dubai_tiles,
        "Dubai aerial (<region>/images/*.jpg + <region>/masks/*.png colour masks)",
    ),
    "plain": Layout(
        is_plain,
        plain_tiles,
        "a plain folder (images/<stem>.png|.jpg + masks/<stem>.png of class values)",
    ),
}
LAYOUTS_HELP = ", ".join(layout.help for layout in LAYOUTS.values())


def detect_layout(root: Path, option: str = "--data") -> str:
    """Name the layout of a data folder: a key of ``LAYOUTS``.

    Raises:
        DataError: one line naming ``option``, the path and the layouts accepted.
    """
    if not root.is_dir():
        raise DataError(f"{option} {root}: no such folder; give a folder in one of: {LAYOUTS_HELP}")
    for name, layout in LAYOUTS.items():
        if layout.detect(root):
            return name
    raise DataError(f"{option} {root}: layout not recognised; expected one of: {LAYOUTS_HELP}")


def open_labelled(
    path: Path | str,
    split: str = ALL,
    *,
    class_map: Mapping[int, int] | None = None,
    classes: Sequence[str] | None = None,
    bands: Sequence[int] | None = None,
    option: str = "--data",
) -> Tiles:
    """Open a labelled folder in any of ``LAYOUTS`` as 512-px tiles, detecting its layout.

    Args:
        path: the folder: a plain image/mask folder, LoveDA (flat, or the official tree with
            any of Train/Val/Test; Test without masks is skipped by "all"), LandCover.ai,
            OpenEarthMap, or the Dubai layout.
        split: "all" (every image/mask pair, no split lists needed), or "train"/"val"/"test".
        class_map: raw mask value -> class index (or 255 to ignore); default: the layout's
            map to LandCover.ai's classes.
        classes: class names matching ``class_map``'s indices; default ``LANDCOVERAI_CLASSES``.
        bands: 1-based image bands for GeoTIFF layouts (default 1, 2, 3).
        option: the option the path came from, for error messages.

    Returns:
        Tiles: ``tiles[i] = {"image": uint8 (3, 512, 512), "mask": int64 (512, 512),
        "id": str, "group": str}``; ``tiles.groups`` lists the groups in tile order.
    """
    if split not in (*SPLITS, ALL):
        raise DataError(f"split {split!r}: choose one of {', '.join(SPLITS)} or {ALL}")
    names = list(classes) if classes is not None else LANDCOVERAI_CLASSES
    root = Path(path)
    layout = LAYOUTS[detect_layout(root, option)]
    return layout.open(root, split, class_map=class_map, classes=names, bands=bands)
