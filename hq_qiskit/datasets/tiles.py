"""Tiles: square image/mask windows cut from file pairs, as a torch Dataset.

A dataset layout (LandCover.ai, LoveDA, OpenEarthMap) only decides WHICH tiles exist and what
they are called; the classes here read them. ``PngTiles`` decodes PNG pairs (LoveDA), and
``RasterTiles`` reads GeoTIFF pairs by window, so a 9000x9500 sheet is never loaded whole.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window
from torch.utils.data import Dataset

from hq_qiskit.datasets.classes import (
    IGNORE_INDEX,
    LANDCOVERAI_CLASSES,
    apply_lut,
    check_classes,
    class_lut,
)
from hq_qiskit.datasets.raster import open_raster
from hq_qiskit.errors import DataError

TILE_PX = 512


@dataclass(frozen=True)
class TileRef:
    """Where one tile lives: its id, the image and mask files and the window (pixels).

    ``group`` is the unit that resampling and cross-validation keep whole: the image a tile was
    cut from (a LoveDA image, a LandCover.ai sheet) or a Dubai region; empty means the tile id.
    """

    id: str
    image: Path
    mask: Path
    col_off: int
    row_off: int
    group: str = ""


def tile_id(stem: str, k: int, width: int, height: int, tile_px: int = TILE_PX) -> str:
    """Id of tile k of an image: the stem itself for a single-tile image, else ``<stem>_<k>``."""
    return stem if (width, height) == (tile_px, tile_px) else f"{stem}_{k}"


class Tiles(Dataset):
    """Square tiles with masks in LandCover.ai's classes; item i is a dict.

    Items: ``{"image": uint8 (3, T, T), "mask": int64 (T, T) in 0..K-1 or 255, "id": str,
    "group": str}`` with T = ``tile_px`` (512); ``group`` is the image (or region) the tile
    belongs to, the unit to keep whole when resampling or splitting into folds. Decoded tiles
    are kept in a small LRU cache (``cache_tiles`` entries, about 1 MB each).

    Args:
        refs: the tiles, in order.
        class_map: raw mask value -> class index or 255 (ignore).
        classes: class names, index order.
        cache_tiles: how many decoded tiles to keep in memory (64: the built-in sample's 48
            training tiles stay decoded, about 50 MB).
    """

    ignore_index = IGNORE_INDEX
    tile_px = TILE_PX

    def __init__(
        self,
        refs: Sequence[TileRef],
        class_map: Mapping[int, int],
        classes: Sequence[str] = LANDCOVERAI_CLASSES,
        cache_tiles: int = 64,
    ) -> None:
        self.refs = list(refs)
        self.classes = check_classes(classes)
        self.class_map = dict(class_map)
        self._lut = class_lut(self.class_map, len(self.classes))
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cache_tiles = cache_tiles

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.refs]

    @property
    def groups(self) -> list[str]:
        """Each tile's group: the image (or Dubai region) it was cut from, in tile order."""
        return [r.group or r.id for r in self.refs]

    def read(self, ref: TileRef) -> tuple[np.ndarray, np.ndarray]:
        """Read one tile: image uint8 (3, T, T) and raw mask uint8 (T, T)."""
        raise NotImplementedError

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Tile i as numpy: image uint8 (3, T, T) and mask uint8 (T, T) in classes or 255."""
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"tile {i} out of range for {len(self)} tiles")
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        ref = self.refs[i]
        image, raw = self.read(ref)
        mask = apply_lut(raw, self._lut, f"{ref.mask} (tile {ref.id})")
        if self._cache_tiles > 0:
            self._cache[i] = (image, mask)
            if len(self._cache) > self._cache_tiles:
                self._cache.popitem(last=False)
        return image, mask

    def patch(self, i: int, top: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``size``-px square of tile i whose top-left pixel is (``top``, ``left``) in the
        tile: image uint8 (3, size, size) and mask uint8 (size, size), exactly the slice of
        ``arrays(i)``. Here it is that slice (the tile is decoded and cached whole);
        ``RasterTiles`` reads only the window when the tile is not cached."""
        image, mask = self.arrays(i)
        rows, cols = slice(top, top + size), slice(left, left + size)
        return image[:, rows, cols], mask[rows, cols]

    def __getitem__(self, i: int) -> dict:
        image, mask = self.arrays(i)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image)),
            "mask": torch.from_numpy(mask.astype(np.int64)),
            "id": self.refs[i].id,
            "group": self.refs[i].group or self.refs[i].id,
        }

    def subset(self, indices: Sequence[int] | np.ndarray) -> Tiles:
        """The tiles at ``indices`` (e.g. one fold of ``group_kfold``): a copy of this object
        with those refs, in that order, and an empty tile cache."""
        out = copy.copy(self)
        out.refs = [self.refs[int(i)] for i in indices]
        out._cache = OrderedDict()
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} tiles of {self.tile_px} px, {self.classes})"


class PngTiles(Tiles):
    """Tiles cut from PNG (or JPEG) image/mask pairs; masks are single-band (mode L or P).

    A window reaching past the image's right or bottom edge (``cover_windows``) is padded:
    image pixels 0, mask 255 (ignore).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._last: tuple[Path, np.ndarray, np.ndarray] | None = None  # whole decoded file

    #: what the user should do with a file PIL cannot decode
    reexport_hint = "re-export it as PNG"

    def _decode(self, ref: TileRef) -> tuple[np.ndarray, np.ndarray]:
        """Whole image uint8 (H, W, 3) and raw mask uint8 (H, W) of a tile's files; the last
        pair decoded is kept (the tiles of one file come one after another)."""
        if self._last is not None and self._last[0] == ref.image:
            return self._last[1], self._last[2]
        try:
            with Image.open(ref.image) as im:
                if im.mode != "RGB":
                    raise DataError(f"{ref.image}: image mode {im.mode}, expected RGB; convert it")
                image = np.asarray(im)  # (H, W, 3)
            with Image.open(ref.mask) as im:
                pixels = self._mask_pixels(ref, im)  # (H, W) or (H, W, 3)
        except OSError as err:
            raise DataError(f"{ref.image}: cannot decode ({err}); {self.reexport_hint}") from None
        if image.shape[:2] != pixels.shape[:2]:
            raise DataError(
                f"{ref.mask}: is {pixels.shape[1]}x{pixels.shape[0]} px but its image {ref.image} "
                f"is {image.shape[1]}x{image.shape[0]}; pair each image with its own mask"
            )
        self._last = (ref.image, image, self._raw_mask(ref, pixels))
        return self._last[1], self._last[2]

    def _mask_pixels(self, ref: TileRef, im: Image.Image) -> np.ndarray:
        """The open mask file's pixels: one band of class values, uint8 (H, W)."""
        if im.mode not in ("L", "P"):
            raise DataError(
                f"{ref.mask}: mask mode {im.mode}, expected one band of class values (mode L or P)"
            )
        return np.asarray(im)

    def _raw_mask(self, ref: TileRef, pixels: np.ndarray) -> np.ndarray:
        """Raw class values uint8 (H, W) from ``_mask_pixels``: here they already are."""
        return pixels

    def read(self, ref: TileRef) -> tuple[np.ndarray, np.ndarray]:
        image, mask = self._decode(ref)
        t, y, x = self.tile_px, ref.row_off, ref.col_off
        part, raw = image[y : y + t, x : x + t], mask[y : y + t, x : x + t]
        if raw.shape != (t, t):  # a window past the edge: pad, the padding ignored
            padded = np.zeros((t, t, 3), dtype=np.uint8)
            padded[: part.shape[0], : part.shape[1]] = part
            part = padded
            raw = np.pad(raw, ((0, t - raw.shape[0]), (0, t - raw.shape[1])), constant_values=255)
        tile = part.transpose(2, 0, 1)  # (H, W, 3) -> (3, T, T)
        return np.ascontiguousarray(tile), np.ascontiguousarray(raw)


class RasterTiles(Tiles):
    """Tiles read by window from GeoTIFF image/mask pairs (uint8 images, 1-band masks).

    Image pixels that are nodata in every chosen band get the ignore label in the mask.
    The last ``keep_open`` files read stay open (per process: a forked DataLoader worker opens
    its own), as opening a GeoTIFF costs about as much as reading a 128-px window of it.

    Args:
        bands: 1-based image bands to read, in order (three of them).
        keep_open: how many files to keep open (0: open and close them for every read).
    """

    def __init__(
        self, *args, bands: Sequence[int] = (1, 2, 3), keep_open: int = 8, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.bands = list(bands)
        self.keep_open = keep_open
        self._open: OrderedDict[Path, tuple[Any, ExitStack]] = OrderedDict()
        self._pid = os.getpid()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_open": OrderedDict()}  # open files do not pickle

    def subset(self, indices: Sequence[int] | np.ndarray) -> RasterTiles:
        """``Tiles.subset`` with no open files shared with this object."""
        out = super().subset(indices)
        assert isinstance(out, RasterTiles)
        out._open = OrderedDict()
        return out

    @contextmanager
    def _source(self, path: Path) -> Iterator[Any]:
        """An open rasterio dataset of ``path``: one of the files kept open, or (keep_open 0)
        one opened for this read."""
        if self.keep_open <= 0:
            with open_raster(path) as src:
                yield src
            return
        if self._pid != os.getpid():  # forked: the parent's handles share its file offsets
            self._open, self._pid = OrderedDict(), os.getpid()
        if path in self._open:
            self._open.move_to_end(path)
        else:
            stack = ExitStack()
            self._open[path] = (stack.enter_context(open_raster(path)), stack)
            while len(self._open) > self.keep_open:
                self._open.popitem(last=False)[1][1].close()
        yield self._open[path][0]

    def read(self, ref: TileRef) -> tuple[np.ndarray, np.ndarray]:
        return self._read(ref, Window(ref.col_off, ref.row_off, self.tile_px, self.tile_px))

    def patch(self, i: int, top: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """As ``Tiles.patch``; a tile not in the cache is not decoded whole: only the GeoTIFF
        blocks under the patch's window are read (a 128-px patch of a 512-px tile reads about
        a quarter of the pixels), and nothing is cached."""
        if i < 0:
            i += len(self)
        if i in self._cache or not 0 <= i < len(self):
            return super().patch(i, top, left, size)
        if not (0 <= top <= self.tile_px - size and 0 <= left <= self.tile_px - size):
            raise IndexError(f"patch at ({top}, {left}) of {size} px outside the tile")
        ref = self.refs[i]
        window = Window(ref.col_off + left, ref.row_off + top, size, size)
        image, raw = self._read(ref, window)
        return image, apply_lut(raw, self._lut, f"{ref.mask} (tile {ref.id})")

    def _read(self, ref: TileRef, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """Image uint8 (3, h, w) and raw mask uint8 (h, w) of ``window`` (sheet pixels)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with self._source(ref.image) as src:
                image = src.read(self.bands, window=window)  # (3, h, w)
                valid = None
                if src.nodata is not None:
                    valid = src.read_masks(self.bands, window=window).max(axis=0) > 0  # (h, w)
            with self._source(ref.mask) as src:
                mask = src.read(1, window=window)  # (h, w)
        if image.dtype != np.uint8 or mask.dtype != np.uint8:
            raise DataError(
                f"{ref.image}: tiles need uint8 images and masks (got {image.dtype}/{mask.dtype});"
                " rescale to 8 bit first (gdal_translate -ot Byte -scale)"
            )
        if valid is not None:
            mask = np.where(valid, mask, IGNORE_INDEX).astype(np.uint8)
        return image, mask


def cover_windows(width: int, height: int, tile_px: int = TILE_PX) -> list[tuple[int, int]]:
    """(col_off, row_off) of the row-major ``tile_px`` windows that cover a width x height
    image whole (ceil(W/T) x ceil(H/T)); ``PngTiles`` pads those past the right/bottom edge."""
    return [(x, y) for y in range(0, height, tile_px) for x in range(0, width, tile_px)]


def image_group(stem: str) -> str:
    """The image a file stem belongs to: a quadrant file ``<image>_<q>`` (the built-in sample's
    512-px cuts of 1024-px LoveDA images) -> ``<image>``; any other stem -> itself."""
    head, _, tail = stem.rpartition("_")
    return head if head.isdigit() and tail.isdigit() else stem


def read_split_list(path: Path) -> list[str]:
    """Ids in a split list: one per line; blank lines and lines starting with # are skipped."""
    if not path.is_file():
        raise DataError(f"{path}: split list not found; write one tile id per line")
    ids = [line.strip() for line in path.read_text().splitlines()]
    ids = [i for i in ids if i and not i.startswith("#")]
    if not ids:
        raise DataError(f"{path}: split list is empty; write one tile id per line")
    return ids


def missing_ids_error(split_file: Path, missing: Sequence[str], why: str) -> DataError:
    """One-line DataError for a split list naming tiles that do not exist."""
    return DataError(
        f"{split_file}: names {len(missing)} tile(s) that do not exist (first: {missing[0]!r}; "
        f"{why}); remove them from the list or add the missing files"
    )
