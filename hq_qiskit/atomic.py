"""The one atomic writer: every file hq-qiskit writes lands whole or not at all.

A file is written to a fresh temp file in the destination folder (same file system), flushed and
``fsync``-ed, checked (an optional ``check(tmp)``: a GeoTIFF is reopened and its last block read
back, a checkpoint's size compared with what was written), then renamed onto the destination
with ``os.replace``; the folder is ``fsync``-ed so the rename survives a power cut. On any
failure the temp file is removed and the old file, if any, is left untouched: a full disk never
replaces a good file with a short one. The temp file is created with mode 0o666 and the kernel
applies the process umask to it, exactly as for ``open(path, "w")``: the process-wide umask is
never read or changed (``tempfile.mkstemp`` would make 0600 files).

Temporaries are named ``.<name>.<host>-<pid>-<random>.tmp<suffix>``. Every live one is in a
registry that an ``atexit`` hook and a SIGTERM handler (installed on first use, only where
SIGTERM still has its default action) empty, so a killed run leaves none; a temporary left by a
process that no longer runs on this host (SIGKILL, power cut) is removed by the next write to
the same target. A disk error (full, read-only, no permission) becomes one ``OutputError`` line
naming the path; cleanup after it never raises a second error that would hide the first.

    atomic_write(path, data)     bytes, str (UTF-8) or a callable writing to a binary file
    atomic_path(path)            a temp path for writers that open files themselves (GDAL)
    probe_writable(folder, opt)  refuse a read-only or full output location before any work
    json_text(obj)               strict JSON (no NaN/Infinity) for files others will parse
"""

from __future__ import annotations

import atexit
import errno
import json
import os
import secrets
import shutil
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from hq_qiskit.errors import OutputError

Writer = Callable[[BinaryIO], object]
Check = Callable[[Path], None]

DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
MIN_FREE_BYTES = 1 << 20  # probe_writable refuses a location with less free space than this
_HOST = socket.gethostname().replace(".", "_").replace("-", "_") or "host"
_LIVE: set[Path] = set()  # temporaries being written by this process
_LOCK = threading.Lock()
_HANDLER_STATE = {"installed": False}


def _discard(path: Path) -> None:
    """Remove ``path`` if it is there; never raises (a read-only disk must not hide the
    error that made the write fail)."""
    with suppress(OSError):
        path.unlink(missing_ok=True)


def _cleanup_all() -> None:
    with _LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for tmp in live:
        _discard(tmp)
        _discard(Path(f"{tmp}.aux.xml"))


def _on_sigterm(signum: int, frame: Any) -> None:
    _cleanup_all()
    raise SystemExit(128 + signum)


def _install_handlers() -> None:
    """atexit cleanup always; a SIGTERM handler only in the main thread and only where SIGTERM
    still has its default action (a caller's own handler, e.g. a Dask worker's, is kept)."""
    if _HANDLER_STATE["installed"]:
        return
    _HANDLER_STATE["installed"] = True
    atexit.register(_cleanup_all)
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not the main interpreter / no signals here
            pass


def _temp_name(path: Path) -> Path:
    """A name beside ``path`` that no other writer picks, and that says who wrote it."""
    tag = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.name}.{tag}.tmp{path.suffix}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, owned by someone else
        return True
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temporaries of ``path`` left by processes of this host that no longer run;
    returns what was removed. Temporaries of live processes or other hosts are kept."""
    removed: list[Path] = []
    prefix, suffix = f".{path.name}.", f".tmp{path.suffix}"
    try:
        names = [p for p in path.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for tmp in names:
        middle = tmp.name[len(prefix) :]
        if not middle.endswith(suffix) and not middle.endswith(suffix + ".aux.xml"):
            continue
        parts = middle.split(".", 1)[0].split("-")
        if len(parts) != 3 or parts[0] != _HOST or not parts[1].isdigit():
            continue
        if not _pid_alive(int(parts[1])):
            _discard(tmp)
            removed.append(tmp)
    return removed


def describe_os_error(err: OSError, path: Path, folder: Path | None = None) -> str:
    """One line for a disk error at ``path`` (in ``folder``, default its parent): what
    happened and a fix that exists."""
    folder = path.parent if folder is None else folder
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"{path}: the disk is full (no space left on {folder}); free space or write elsewhere"
        )
    if err.errno == errno.EROFS:
        return f"{path}: {folder} is on a read-only file system; write to another folder"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"{path}: no permission to write in {folder}; write to another folder"
    return f"{path}: cannot be written ({err.strerror or err}); write to another folder"


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


@contextmanager
def _registered(path: Path) -> Iterator[Path]:
    """A fresh temp name for ``path``, registered for cleanup; stale ones removed first. On
    any failure the temp (and GDAL's ``.aux.xml`` side file) is removed without raising
    again."""
    _install_handlers()
    remove_stale_temps(path)
    tmp = _temp_name(path)
    with _LOCK:
        _LIVE.add(tmp)
    try:
        yield tmp
    except BaseException:
        _discard(tmp)
        raise
    finally:
        _discard(Path(f"{tmp}.aux.xml"))
        with _LOCK:
            _LIVE.discard(tmp)


def atomic_write(path: Path | str, data: bytes | str | Writer, check: Check | None = None) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``.

    Args:
        path: destination file; its folder must exist.
        data: the content (``str`` is encoded as UTF-8), or a callable that writes it to the
            binary file object it is given (e.g. ``lambda f: torch.save(state, f)``).
        check: called with the complete temp file before the rename; raising keeps ``path``.

    Raises:
        OutputError: the disk is full, read-only or not writable (``path`` is untouched).
    """
    path = Path(path)
    with _disk_errors(path), _registered(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
            written = f.tell()
        if os.path.getsize(tmp) != written:  # a short write some file systems do not report
            raise OSError(errno.EIO, f"{os.path.getsize(tmp)} of {written} bytes landed")
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    _fsync_dir(path.parent)
    return path


@contextmanager
def _disk_errors(path: Path) -> Iterator[None]:
    """Turn an ``OSError`` with a disk errno (full, read-only, no permission, I/O) into one
    ``OutputError`` line naming ``path``; other errors pass unchanged."""
    try:
        yield
    except OSError as err:
        if err.errno not in DISK_ERRNOS:
            raise
        raise OutputError(describe_os_error(err, path)) from None


@contextmanager
def atomic_path(path: Path | str, check: Check | None = None) -> Iterator[Path]:
    """Yield a temp path beside ``path`` to write to; on success it replaces ``path``.

    For writers that open the file themselves (rasterio/GDAL, PIL). The temp path keeps the
    destination's suffix so drivers that look at it see the right one. If the block raises, or
    ``check(tmp)`` does, or the temp file is missing or empty, the temp file (and GDAL's
    ``.aux.xml`` side file, if any) is removed and ``path`` is untouched.

    Example:
        >>> with atomic_path("out.tif", check=verify_geotiff) as tmp:
        ...     with rasterio.open(tmp, "w", **profile) as dst:
        ...         dst.write(array)
    """
    path = Path(path)
    with _registered(path) as tmp:
        with _disk_errors(path):
            yield tmp
        with _disk_errors(path), open(tmp, "rb+") as f:
            os.fsync(f.fileno())
            if os.fstat(f.fileno()).st_size == 0:
                raise OSError(errno.EIO, "the written file is empty")
        if check is not None:
            check(tmp)
        with _disk_errors(path):
            os.replace(tmp, path)
    _fsync_dir(path.parent)


def probe_writable(
    folder: Path | str,
    option: str,
    target: Path | str | None = None,
    min_free: int = MIN_FREE_BYTES,
) -> None:
    """Refuse, in one line, an output folder that cannot take a file: read-only, no
    permission, or less than ``min_free`` bytes free. A folder that does not exist yet is
    probed at its nearest existing parent (where it would be created). Creates and removes
    one empty temp file; changes nothing else.

    Args:
        folder: where the command will write.
        option: how the user named it, for the message (e.g. ``-o``, ``--out``).
        target: what the option named, if not ``folder`` itself (e.g. the output file).
        min_free: bytes that must be free there.
    """
    folder = Path(folder)
    named = Path(target) if target is not None else folder
    at = folder
    while not at.exists() and at != at.parent:
        at = at.parent
    if not at.is_dir():
        raise OutputError(f"{option} {named}: {at} is a file, not a folder; choose another")
    probe = at / f".hq-qiskit-probe.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
    except OSError as err:
        raise OutputError(f"{option} {describe_os_error(err, named, at)}") from None
    finally:
        _discard(probe)
    free = shutil.disk_usage(at).free
    if free < min_free:
        raise OutputError(
            f"{option} {named}: the disk is full ({free // 1024} KiB free on {at}, "
            f"{min_free // 1024} KiB needed at least); free space or write elsewhere"
        )


def json_text(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as strict JSON text plus a newline; a NaN or infinity raises ``ValueError``
    (JSON has no such numbers: give None and a reason instead)."""
    return json.dumps(obj, indent=indent, allow_nan=False) + "\n"
