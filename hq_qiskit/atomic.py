"""The one atomic writer: every file hq-qiskit writes lands whole or not at all.

A file is written to a fresh temp file in the destination folder (same file system), flushed and
``fsync``-ed, then renamed onto the destination with ``os.replace``; the folder is ``fsync``-ed
so the rename survives a power cut. On any failure the temp file is removed and the old file,
if any, is left untouched. The temp file is created with mode 0o666 and the kernel applies the
process umask to it, exactly as for ``open(path, "w")``: the process-wide umask is never read or
changed (``tempfile.mkstemp`` would make 0600 files).

    atomic_write(path, data)     bytes, str (UTF-8) or a callable writing to a binary file
    atomic_path(path)            a temp path for writers that open files themselves (GDAL)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

Writer = Callable[[BinaryIO], object]


def _temp_name(path: Path) -> Path:
    """A name beside ``path`` that no other writer picks: ``.<name>.<random>.tmp<suffix>``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp{path.suffix}")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. a platform without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path | str, data: bytes | str | Writer) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``.

    Args:
        path: destination file; its folder must exist.
        data: the content (``str`` is encoded as UTF-8), or a callable that writes it to the
            binary file object it is given (e.g. ``lambda f: torch.save(state, f)``).
    """
    path = Path(path)
    tmp = _temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temp path beside ``path`` to write to; on success it replaces ``path``.

    For writers that open the file themselves (rasterio/GDAL, PIL). The temp path keeps the
    destination's suffix so drivers that look at it see the right one. If the block raises, the
    temp file (and GDAL's ``.aux.xml`` side file, if any) is removed and ``path`` is untouched.

    Example:
        >>> with atomic_path("out.tif") as tmp:
        ...     with rasterio.open(tmp, "w", **profile) as dst:
        ...         dst.write(array)
    """
    path = Path(path)
    tmp = _temp_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        Path(f"{tmp}.aux.xml").unlink(missing_ok=True)
    _fsync_dir(path.parent)
