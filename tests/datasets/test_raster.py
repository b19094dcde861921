"""Raster helpers: tiling rule, band choice, value ranges, unreadable files."""

from __future__ import annotations

import numpy as np
import pytest

from hq_qiskit.datasets.raster import (
    default_value_range,
    open_raster,
    tile_windows,
    to_255,
)
from hq_qiskit.errors import DataError


def test_tile_windows_count_partial_windows_but_keep_only_full_ones():
    windows = tile_windows(1100, 1100, 512)
    assert [k for k, _ in windows] == [0, 1, 3, 4]
    assert [(w.col_off, w.row_off) for _, w in windows] == [(0, 0), (512, 0), (0, 512), (512, 512)]
    assert tile_windows(511, 4000, 512) == []


def test_value_ranges_by_dtype():
    assert default_value_range("uint8") == (0.0, 255.0)
    assert default_value_range("uint16") == (0.0, 65535.0)
    assert default_value_range("float32") == (0.0, 1.0)
    assert np.allclose(to_255(np.array([0, 4095], dtype=np.uint16), (0, 4095)), [0, 255])


def test_a_file_that_is_not_a_raster_is_one_clear_error(tmp_path):
    bad = tmp_path / "notes.tif"
    bad.write_text("hello")
    with (
        pytest.raises(DataError, match=r"notes\.tif: not a raster rasterio can read"),
        open_raster(bad),
    ):
        pass
    with pytest.raises(DataError, match=r"x\.tif: no such file"), open_raster(tmp_path / "x.tif"):
        pass
