"""The one atomic writer: whole files or none, normal permissions, no temp files left."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from hq_qiskit.atomic import atomic_path, atomic_write


def test_writes_bytes_text_and_callables(tmp_path):
    atomic_write(tmp_path / "a.bin", b"\x00\x01")
    atomic_write(tmp_path / "b.txt", "grüße")
    atomic_write(tmp_path / "c.bin", lambda f: f.write(b"from a writer"))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "grüße"
    assert (tmp_path / "c.bin").read_bytes() == b"from a writer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt", "c.bin"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "last.pt"
    atomic_write(target, b"the old checkpoint")

    def crash(f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt  # e.g. the user stops the run mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_bytes() == b"the old checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_permissions_follow_the_umask_and_the_umask_is_left_alone(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "x.json", "{}")
        with atomic_path(tmp_path / "y.txt") as tmp:
            tmp.write_text("y")
        now = os.umask(umask)  # read back what the writer left
    finally:
        os.umask(old)
    assert now == umask
    for name in ("x.json", "y.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_atomic_path_serves_gdal_and_cleans_up_on_failure(tmp_path):
    out = tmp_path / "pred.tif"
    profile = {
        "driver": "GTiff",
        "width": 8,
        "height": 8,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:2180",
        "transform": from_origin(0, 80, 10, 10),
    }
    with atomic_path(out) as tmp:
        assert tmp.suffix == ".tif" and tmp.parent == tmp_path
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(np.full((1, 8, 8), 3, np.uint8))
    with rasterio.open(out) as src:
        assert src.read(1).max() == 3 and src.crs.to_epsg() == 2180

    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(np.zeros((1, 8, 8), np.uint8))
        raise RuntimeError("model failed half-way")
    with rasterio.open(out) as src:
        assert src.read(1).max() == 3  # the old prediction is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.tif"]
