"""Windowed raster reading with rasterio: opening with clear errors, band choice, value ranges,
grid checks and the LandCover.ai 512-px tiling rule.

Nothing here reads a whole raster: every reader takes a ``rasterio.windows.Window`` so memory
stays bounded by the window, whatever the size of the sheet.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from hq_qiskit.errors import DataError


@contextmanager
def open_raster(path: str | Path):
    """Open a raster for reading; a missing or unreadable file raises one clear DataError.

    Yields:
        rasterio.io.DatasetReader.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of a GeoTIFF (or another raster)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
    except RasterioIOError as err:
        raise DataError(
            f"{path}: not a raster rasterio can read ({str(err).splitlines()[0]}); "
            "give a GeoTIFF or another GDAL raster"
        ) from None
    try:
        yield src
    finally:
        src.close()


@contextmanager
def quiet_no_georef():
    """Silence rasterio's NotGeoreferencedWarning inside the block, for callers that say
    "has no CRS" once in their own words (a PNG/JPG input and the map written from it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        yield


def gdal_cause(err: BaseException) -> str:
    """The first line of the deepest error in ``err``'s chain: GDAL's own reason (e.g.
    "TIFFFillTile:Read error at row 128 ...") rather than rasterio's "See previous
    exception for details"."""
    text, seen = "", set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        text = first or text
        err = err.__cause__ or err.__context__
    return text or "unknown GDAL error"


@contextmanager
def reading(path: str | Path, what: str = "reading it"):
    """Turn a GDAL read failure inside the block into one DataError naming ``path`` and
    GDAL's own reason (a truncated or damaged file)."""
    try:
        yield
    except RasterioIOError as err:
        raise DataError(
            f"{path}: damaged or truncated raster, {what} failed ({gdal_cause(err)}); "
            "re-export or re-download it"
        ) from None


def tile_windows(width: int, height: int, tile_px: int = 512) -> list[tuple[int, Window]]:
    """LandCover.ai's tiling rule: full ``tile_px`` windows of a sheet, with their counter k.

    The sheet is walked in row-major order (rows y = 0, tile_px, ..., then columns x) with a
    counter k that starts at 0 and advances for every window, full or not; only full windows
    are kept, so k has gaps at the right and bottom edges. Tile ids are ``<sheet>_<k>``.

    Args:
        width, height: sheet size in pixels.
        tile_px: tile side in pixels.

    Returns:
        [(k, Window(col_off, row_off, tile_px, tile_px)), ...] in k order.
    """
    out: list[tuple[int, Window]] = []
    k = 0
    for y in range(0, height, tile_px):
        for x in range(0, width, tile_px):
            if y + tile_px <= height and x + tile_px <= width:
                out.append((k, Window(x, y, tile_px, tile_px)))
            k += 1
    return out


# How a dataset's bands are chosen (no command-line option: in Python, or by converting files)
BANDS_HOW = "open_tiles(..., bands=[{}]) in Python, or a 3-band copy (gdal_translate -b)"


def band_hint(count: int, expected: int) -> str:
    """A band choice that exists in a ``count``-band raster: ``1,2,3``, or ``1,1,1`` for grey."""
    return ",".join(str(min(b, count)) for b in range(1, expected + 1))


def select_bands(
    src,
    bands: Sequence[int] | None,
    expected: int,
    path: str | Path,
    *,
    how: str = "--bands {}",
) -> list[int]:
    """Choose ``expected`` 1-based band indexes of ``src``; refuse a count that does not fit.

    Args:
        src: an open rasterio dataset.
        bands: 1-based band indexes, or None for bands 1..expected when the raster has exactly
            ``expected`` bands.
        expected: how many input channels the consumer (a model, a dataset) needs.
        path: the raster's path, for the message.
        how: how the caller's user chooses bands, with ``{}`` for the list, for the message
            (``--bands {}`` on the command line, ``open_tiles(..., bands=[{}])`` in Python).
    """
    name = how.split()[0] if how.startswith("--") else "bands"
    if bands is None:
        if src.count != expected:
            hint = band_hint(src.count, expected)
            fewer = (
                f" (repeating a band feeds grey to all {expected} inputs: sensible only "
                "for imagery like the training data)"
                if src.count < expected
                else ""
            )
            raise DataError(
                f"{path}: has {src.count} band(s) but {expected} are needed; "
                f"choose them with {how.format(hint)}{fewer}"
            )
        return list(range(1, expected + 1))
    chosen = [int(b) for b in bands]
    if len(chosen) != expected:
        raise DataError(
            f"{name} {chosen}: give exactly {expected} band indexes for {path} (it has "
            f"{src.count}), e.g. {how.format(band_hint(src.count, expected))}"
        )
    bad = [b for b in chosen if not 1 <= b <= src.count]
    if bad:
        raise DataError(f"{name} {chosen}: {path} has bands 1..{src.count}, not {bad}")
    return chosen


def default_value_range(dtype: str) -> tuple[float, float]:
    """The input range mapped linearly onto 0..255 (the scale the statistics are kept in).

    uint8 -> (0, 255); other integers -> their full range (uint16 -> (0, 65535)); floats ->
    (0, 1), i.e. reflectance. Give an explicit range for 12-bit or scaled data.
    """
    dt = np.dtype(dtype)
    if dt == np.uint8:
        return 0.0, 255.0
    if dt.kind in "ui":
        info = np.iinfo(dt)
        return float(max(info.min, 0)), float(info.max)
    if dt.kind == "f":
        return 0.0, 1.0
    raise DataError(f"raster data type {dtype} is not supported; convert to uint8/uint16/float32")


def to_255(data: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Map raw pixel values linearly from ``value_range`` to 0..255, as float32 (unclipped)."""
    lo, hi = value_range
    if hi <= lo:
        raise DataError(f"value range {value_range}: the high end must exceed the low end")
    if (lo, hi) == (0.0, 255.0):
        return data.astype(np.float32)
    return ((data.astype(np.float32) - lo) * (255.0 / (hi - lo))).astype(np.float32)


def check_same_grid(
    image, mask, image_path: str | Path, mask_path: str | Path, *, require_crs: bool = True
) -> None:
    """Refuse an image/mask pair that does not share size, CRS and transform.

    A mask must align with its image pixel for pixel, so a raster without CRS is refused here
    (prediction allows it with a warning). With ``require_crs=False`` a pair where both lack a
    CRS is compared by size only.
    """
    same_size = (image.width, image.height) == (mask.width, mask.height)
    if not require_crs and image.crs is None and mask.crs is None and same_size:
        return
    for src, path in ((image, image_path), (mask, mask_path)):
        if src.crs is None:
            raise DataError(
                f"{path}: has no CRS, so its mask/image alignment cannot be checked; "
                "georeference it (e.g. gdal_edit.py -a_srs) or use PNG tiles (LoveDA layout)"
            )
    if (image.width, image.height) != (mask.width, mask.height):
        raise DataError(
            f"{mask_path}: is {mask.width}x{mask.height} px but its image {image_path} is "
            f"{image.width}x{image.height}; pair each image with the mask cut on the same grid"
        )
    if image.crs != mask.crs or not image.transform.almost_equals(mask.transform, precision=1e-6):
        raise DataError(
            f"{mask_path}: its CRS/transform differ from its image {image_path}; "
            "warp the mask onto the image grid (gdalwarp -te/-tr) first"
        )


def is_tiled(src) -> bool:
    """True when the raster is stored in square-ish blocks (windowed reads stay cheap)."""
    h, w = src.block_shapes[0]
    return h > 1 and w < src.width
