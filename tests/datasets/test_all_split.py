"""``open_tiles(data, "all")``: every image/mask pair of a folder, in every layout, with or
without split lists; the same tiles, with the same pixels, as the split lists name together."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from hq_qiskit.datasets import builtin_data_dir, open_tiles
from hq_qiskit.errors import DataError

DATA = Path(__file__).resolve().parents[1] / "data"
# folder -> the splits whose lists name real tiles with masks (the others are refused on purpose)
LAYOUTS = {
    "landcoverai": ("train", "val", "test"),
    "loveda": ("train", "val"),  # LoveDA's Test ships without masks
    "openearthmap": ("train", "val"),  # its test.txt names a missing file
    None: ("train", "val", "test"),  # the built-in sample
}


@pytest.mark.parametrize("name", list(LAYOUTS), ids=str)
def test_all_is_the_union_of_the_splits_with_masks(name):
    data = None if name is None else DATA / name
    every = open_tiles(data, "all")
    by_id = {}
    for split in LAYOUTS[name]:
        tiles = open_tiles(data, split)
        by_id.update((tid, (tiles, i)) for i, tid in enumerate(tiles.ids))
    assert sorted(every.ids) == sorted(by_id) and len(set(every.ids)) == len(every.ids)
    for i in (0, len(every) - 1):
        tiles, j = by_id[every.ids[i]]
        image, mask = every.arrays(i)
        assert np.array_equal(image, tiles.arrays(j)[0])
        assert np.array_equal(mask, tiles.arrays(j)[1])


def test_a_plain_folder_without_split_lists(tmp_path):
    for sub in ("images_png", "masks_png"):
        shutil.copytree(builtin_data_dir() / sub, tmp_path / sub)
    with pytest.raises(DataError, match=r"has no val\.txt"):
        open_tiles(tmp_path, "val")
    assert open_tiles(tmp_path, "all").ids == open_tiles(None, "all").ids
    with pytest.raises(DataError, match="choose one of train, val, test or all"):
        open_tiles(tmp_path, "everything")
