"""LoveDA layouts: PNG image/mask pairs in ``images_png/`` and ``masks_png/``.

Two forms are read:
- flat: ``<root>/images_png``, ``<root>/masks_png`` and split lists ``<root>/<split>.txt``
  naming tile ids (the built-in sample has this form);
- official: ``<root>/{Train,Val,Test}/{Rural,Urban}/{images_png,masks_png}``; the split is the
  folder (LoveDA's Test folder ships without masks).

Each image is cut into 512-px tiles row-major (full windows only): a 1024x1024 LoveDA image
``<id>.png`` gives tiles ``<id>_0`` .. ``<id>_3`` (top-left, top-right, bottom-left,
bottom-right); a 512x512 image is one tile named by its stem. A tile's group is its image:
the stem, or ``<id>`` for the built-in sample's quadrant files ``<id>_<q>.png``. Masks keep
LoveDA's values (0 no-data .. 7 agriculture) on disk and are mapped to LandCover.ai's classes
on read (``classes.LOVEDA_TO_LANDCOVERAI``, overridable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image

from hq_qiskit.datasets.classes import LANDCOVERAI_CLASSES, LOVEDA_TO_LANDCOVERAI
from hq_qiskit.datasets.raster import tile_windows
from hq_qiskit.datasets.tiles import (
    TILE_PX,
    PngTiles,
    TileRef,
    image_group,
    missing_ids_error,
    read_split_list,
    tile_id,
)
from hq_qiskit.errors import DataError

SPLIT_FOLDERS = {"train": "Train", "val": "Val", "test": "Test"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif")


def is_loveda_flat(root: Path) -> bool:
    """True when ``root`` holds ``images_png/`` and ``masks_png/`` itself."""
    return (root / "images_png").is_dir() and (root / "masks_png").is_dir()


def is_loveda_official(root: Path) -> bool:
    """True when ``root`` has LoveDA's Train/Val/Test domain folders."""
    return any(any(root.glob(f"{f}/*/images_png")) for f in SPLIT_FOLDERS.values())


def _image_tiles(image: Path, masks: Path) -> list[TileRef]:
    """All full 512-px tiles of one image, with its mask ``masks/<stem>.png``."""
    mask = masks / f"{image.stem}.png"
    if not mask.is_file():
        raise DataError(f"{image}: has no mask {mask}; every image needs a mask with its stem")
    try:
        with Image.open(image) as im:
            width, height = im.size
    except OSError as err:
        raise DataError(f"{image}: cannot read ({err}); re-export it as PNG") from None
    if width < TILE_PX or height < TILE_PX:
        raise DataError(f"{image}: is {width}x{height} px, smaller than a {TILE_PX}-px tile")
    return [
        TileRef(
            tile_id(image.stem, k, width, height),
            image,
            mask,
            int(w.col_off),
            int(w.row_off),
            image_group(image.stem),
        )
        for k, w in tile_windows(width, height, TILE_PX)
    ]


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def all_pairs(root: Path) -> list[TileRef]:
    """Tiles of every image that has a mask: ``images_png/`` (flat), or every split folder's
    domains (official; a domain without ``masks_png/``, like LoveDA's Test, is skipped)."""
    if is_loveda_flat(root):
        folders = [root]
    else:
        folders = sorted(
            d
            for f in SPLIT_FOLDERS.values()
            for d in (root / f).glob("*")
            if (d / "images_png").is_dir() and (d / "masks_png").is_dir()
        )
    refs = [
        ref
        for folder in folders
        for image in _images(folder / "images_png")
        for ref in _image_tiles(image, folder / "masks_png")
    ]
    if not refs:
        raise DataError(f"{root}: no image in images_png/ has a mask in masks_png/; no tiles")
    return refs


def loveda_tiles(
    root: Path,
    split: str,
    *,
    class_map: Mapping[int, int] | None = None,
    classes: Sequence[str] = LANDCOVERAI_CLASSES,
) -> PngTiles:
    """The tiles of one split of a LoveDA folder (flat or official form).

    Args:
        root: the folder (see the module docstring for the two forms).
        split: "train", "val" or "test"; "all" for every image with a mask (no split lists
            needed).
        class_map: raw LoveDA value -> class; default ``LOVEDA_TO_LANDCOVERAI``.
        classes: class names.
    """
    cmap = class_map if class_map is not None else LOVEDA_TO_LANDCOVERAI
    if split == "all":
        return PngTiles(all_pairs(root), cmap, classes)
    if is_loveda_flat(root):
        split_file = root / f"{split}.txt"
        if not split_file.is_file():
            raise DataError(
                f"{root}: LoveDA folder has no {split}.txt; list the tile ids of the {split} "
                "split there (one per line), or point at LoveDA's root with Train/ and Val/"
            )
        wanted = read_split_list(split_file)
        stems = {i.rpartition("_")[0] for i in wanted} | set(wanted)
        by_id: dict[str, TileRef] = {}
        for image in _images(root / "images_png"):
            if image.stem in stems:
                by_id.update((r.id, r) for r in _image_tiles(image, root / "masks_png"))
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise missing_ids_error(split_file, missing, f"no such tile in {root / 'images_png'}")
        return PngTiles([by_id[i] for i in wanted], cmap, classes)
    folder = root / SPLIT_FOLDERS[split]
    domains = sorted(d for d in folder.glob("*") if (d / "images_png").is_dir())
    if not domains:
        raise DataError(f"{folder}: no <domain>/images_png folders for the {split} split")
    refs: list[TileRef] = []
    for domain in domains:
        if not (domain / "masks_png").is_dir():
            raise DataError(
                f"{domain}: has images_png/ but no masks_png/ (LoveDA's Test split ships "
                "without masks); evaluate on the val split instead"
            )
        for image in _images(domain / "images_png"):
            refs.extend(_image_tiles(image, domain / "masks_png"))
    return PngTiles(refs, cmap, classes)
