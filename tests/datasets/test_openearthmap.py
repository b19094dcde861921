"""OpenEarthMap layout: regions, labels, split lists naming files, its class map."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from hq_qiskit.datasets import OPENEARTHMAP_TO_LANDCOVERAI, open_tiles
from hq_qiskit.errors import DataError


def test_split_lists_name_files_cut_into_tiles(fixture_copy):
    root = fixture_copy("openearthmap")
    assert open_tiles(root, "train").ids == [f"aachen_1_{k}" for k in range(4)]
    assert open_tiles(root, "val").ids == ["aachen_2_0"]  # 700x600: one full window


def test_labels_are_mapped_to_landcoverai(fixture_copy):
    root = fixture_copy("openearthmap")
    with rasterio.open(root / "aachen/labels/aachen_1.tif") as src:
        raw = src.read(1)[:512, 512:]
    lut = np.array([OPENEARTHMAP_TO_LANDCOVERAI[v] for v in range(9)])
    assert np.array_equal(open_tiles(root, "train")[1]["mask"].numpy(), lut[raw])


def test_missing_file_in_split_list_is_refused(fixture_copy):
    with pytest.raises(DataError, match=r"test\.txt: names 1 tile.*'aachen_3\.tif'"):
        open_tiles(fixture_copy("openearthmap"), "test")
