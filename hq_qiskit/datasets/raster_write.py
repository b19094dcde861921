"""GeoTIFF writes that cannot pass for complete when they are not.

rasterio does not raise every GDAL write error: a full disk can fail while GDAL flushes its
block cache or writes the TIFF directory at ``close()``, and the file is left short or empty
with no exception. Two guards, used together with ``hq_qiskit.atomic.atomic_path``:

    gdal_write_errors(path)   collects the write errors GDAL signals while the block runs
                              (rasterio relays them to the ``rasterio._err`` logger) and raises
                              one OutputError naming ``path`` if there were any
    verify_geotiff(tmp, ...)  reopens the written file and reads its header, first and last
                              block back before the rename
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from hq_qiskit.errors import OutputError

WRITE_ERROR = re.compile(r"write|no space|seek error|flush", re.IGNORECASE)
_ERR_LOGGER = "rasterio._err"  # where rasterio relays GDAL's errors (at INFO)


def _free_text(path: Path) -> str:
    try:
        return f"{shutil.disk_usage(path.parent).free // 1024} KiB free on {path.parent}"
    except OSError:
        return f"free space on {path.parent} unknown"


def write_failed(path: Path, cause: str) -> OutputError:
    """The one line for a GeoTIFF that could not be written completely."""
    kept = "; the earlier file is untouched" if path.exists() else ""
    return OutputError(
        f"{path}: could not be written ({cause}; {_free_text(path)}); free space or write "
        f"elsewhere{kept}"
    )


class _Collect(logging.Filter):
    """Keeps GDAL's write errors of its own thread (several sheets may be written at once in
    one process); lets through only what the logger would have shown."""

    def __init__(self, shown_from: int) -> None:
        super().__init__()
        self.shown_from, self.errors = shown_from, []
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        mine = record.thread == self.thread
        if mine and "signalled an error" in text and WRITE_ERROR.search(text):
            self.errors.append(text.split("msg=", 1)[-1].strip("'\""))
        return record.levelno >= self.shown_from


_LOCK = threading.Lock()
_LEVEL = {"users": 0, "old": logging.NOTSET, "shown_from": logging.WARNING}


def _enter(logger: logging.Logger) -> int:
    """Lower the logger to INFO for the first writer; returns the level it showed from."""
    with _LOCK:
        if _LEVEL["users"] == 0:
            _LEVEL["old"], _LEVEL["shown_from"] = logger.level, logger.getEffectiveLevel()
            logger.setLevel(min(_LEVEL["shown_from"], logging.INFO))
        _LEVEL["users"] += 1
        return _LEVEL["shown_from"]


def _leave(logger: logging.Logger) -> None:
    with _LOCK:
        _LEVEL["users"] -= 1
        if _LEVEL["users"] == 0:
            logger.setLevel(_LEVEL["old"])


@contextmanager
def gdal_write_errors(path: Path | str) -> Iterator[list[str]]:
    """Turn GDAL write errors signalled inside the block into one ``OutputError`` for ``path``.

    Yields the list the errors are collected in. A ``RasterioIOError`` raised in the block
    after a write error was signalled becomes the same ``OutputError``; one with no write
    error before it (e.g. a damaged input) passes unchanged.
    """
    path = Path(path)
    logger = logging.getLogger(_ERR_LOGGER)
    collect = _Collect(_enter(logger))
    logger.addFilter(collect)
    try:
        yield collect.errors
    except RasterioIOError:
        if collect.errors:
            raise write_failed(path, f"GDAL: {collect.errors[0]}") from None
        raise
    finally:
        logger.removeFilter(collect)
        _leave(logger)
    if collect.errors:
        raise write_failed(path, f"GDAL: {collect.errors[0]}")


def verify_geotiff(
    tmp: Path, final: Path, width: int, height: int, count: int, errors: list[str] = ()
) -> None:
    """Reopen a just-written raster and read back its header and first and last block of
    every band; raise one ``OutputError`` naming ``final`` if any of it is missing, or if
    GDAL signalled a write error (``errors``, from ``gdal_write_errors``)."""
    if errors:
        raise write_failed(final, f"GDAL: {errors[0]}")
    try:
        with rasterio.open(tmp) as got:
            if (got.width, got.height, got.count) != (width, height, count):
                raise write_failed(
                    final,
                    f"read back as {got.width}x{got.height}x{got.count}, "
                    f"not {width}x{height}x{count}",
                )
            bh, bw = got.block_shapes[0]
            last = Window((width - 1) // bw * bw, (height - 1) // bh * bh, 0, 0)
            last = Window(last.col_off, last.row_off, width - last.col_off, height - last.row_off)
            got.read(window=Window(0, 0, min(bw, width), min(bh, height)))
            got.read(window=last)
    except RasterioIOError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise write_failed(final, f"the file reads back damaged: {first}") from None
