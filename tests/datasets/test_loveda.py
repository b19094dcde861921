"""LoveDA layouts: the official Train/Val/Test tree and the flat form with split lists."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hq_qiskit.datasets import open_tiles
from hq_qiskit.errors import DataError


def test_official_tree_cuts_each_image_into_four_tiles(fixture_copy):
    root = fixture_copy("loveda")
    train = open_tiles(root, "train")
    assert train.ids == [f"{i}_{q}" for i in (0, 1, 1366) for q in range(4)]
    assert open_tiles(root, "val").ids == [f"2522_{q}" for q in range(4)]


def test_tiles_are_quadrants_with_mapped_classes(fixture_copy):
    root = fixture_copy("loveda")
    tiles = open_tiles(root, "train")
    raw = np.asarray(Image.open(root / "Train/Rural/masks_png/0.png"))
    image = np.asarray(Image.open(root / "Train/Rural/images_png/0.png"))
    item = tiles[3]  # bottom-right quadrant of image 0
    lut = np.array([255, 0, 1, 4, 3, 0, 2, 0])
    assert np.array_equal(item["mask"].numpy(), lut[raw[512:, 512:]])
    assert np.array_equal(item["image"].numpy(), image[512:, 512:].transpose(2, 0, 1))


def test_test_split_without_masks_is_refused(fixture_copy):
    with pytest.raises(DataError, match="no masks_png.*evaluate on the val split"):
        open_tiles(fixture_copy("loveda"), "test")


def flat_copy(root, tmp_path):
    flat = tmp_path / "flat"
    for sub in ("images_png", "masks_png"):
        (flat / sub).mkdir(parents=True)
        (flat / sub / "0.png").write_bytes((root / "Train/Rural" / sub / "0.png").read_bytes())
    return flat


def test_flat_layout_needs_a_split_list(fixture_copy, tmp_path):
    flat = flat_copy(fixture_copy("loveda"), tmp_path)
    with pytest.raises(DataError, match=r"has no val\.txt; list the tile ids"):
        open_tiles(flat, "val")
    (flat / "val.txt").write_text("0_1\n0_5\n")
    with pytest.raises(DataError, match=r"val\.txt: names 1 tile.*'0_5'"):
        open_tiles(flat, "val")
    (flat / "val.txt").write_text("0_1\n")
    assert open_tiles(flat, "val").ids == ["0_1"]


def test_image_without_mask_is_refused(fixture_copy, tmp_path):
    flat = flat_copy(fixture_copy("loveda"), tmp_path)
    (flat / "masks_png" / "0.png").unlink()
    (flat / "train.txt").write_text("0_0\n")
    with pytest.raises(DataError, match=r"0\.png: has no mask"):
        open_tiles(flat, "train")
