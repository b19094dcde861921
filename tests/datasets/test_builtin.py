"""The built-in LoveDA sample: real tiles, splits with every class, the LoveDA class map."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hq_qiskit.datasets import LANDCOVERAI_CLASSES, builtin_data_dir, open_tiles
from hq_qiskit.errors import DataError

LOVEDA_IMAGES = {str(i) for i in range(24)}  # ../shared/data/loveda_rural_24


def test_sample_folder_is_small_and_documented():
    root = builtin_data_dir()
    assert (root / "README.md").read_text().count("CC BY-NC-SA 4.0") >= 1
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert size <= 20e6  # issue 26: all 24 images, at most 20 MB shipped
    images = sorted((root / "images_png").iterdir())
    assert len(images) == 96 and len(list((root / "masks_png").glob("*.png"))) == 96
    assert sum(p.suffix == ".png" for p in images) == 12  # the first release's lossless tiles


def test_sample_holds_every_quadrant_of_all_24_images_whole_in_one_split():
    """Nothing is held out beside the sample (cross-validation reports), and whole images
    stay in one split."""
    image_of: dict[str, str] = {}
    tiles = []
    for split in ("train", "val", "test"):
        for tile in (builtin_data_dir() / f"{split}.txt").read_text().split():
            image = tile.rpartition("_")[0]
            assert image_of.setdefault(image, split) == split, f"image {image} in two splits"
            tiles.append(tile)
    assert set(image_of) == LOVEDA_IMAGES
    assert sorted(tiles) == sorted(f"{i}_{q}" for i in LOVEDA_IMAGES for q in range(4))


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_items_have_the_promised_shapes(split):
    tiles = open_tiles(None, split)
    item = tiles[0]
    assert item["image"].dtype == torch.uint8 and item["image"].shape == (3, 512, 512)
    assert item["mask"].dtype == torch.int64 and item["mask"].shape == (512, 512)
    assert tiles.classes == LANDCOVERAI_CLASSES and tiles.ignore_index == 255
    ids = (builtin_data_dir() / f"{split}.txt").read_text().split()
    assert [tiles[i]["id"] for i in range(len(tiles))] == ids


@pytest.mark.parametrize("split", ["train", "val"])
def test_train_and_val_hold_building_woodland_water_road(split):
    tiles = open_tiles(None, split)
    counts = np.zeros(256, dtype=np.int64)
    for i in range(len(tiles)):
        counts += np.bincount(tiles.arrays(i)[1].ravel(), minlength=256)
    assert (counts[1:5] > 0).all()
    assert counts[5:255].sum() == 0  # only classes 0..4 and ignore


def test_loveda_nodata_becomes_ignore():
    tiles = open_tiles(None, "train")
    mask = tiles[tiles.ids.index("18_0")]["mask"]
    assert (mask == 255).float().mean() > 0.4  # tile 18_0 is half LoveDA no-data


def test_class_map_overrides_the_default():
    binary = {0: 255, 1: 0, 2: 1, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0}  # building vs rest
    tiles = open_tiles(None, "val", class_map=binary, classes=["other", "building"])
    values = set(torch.unique(tiles[0]["mask"]).tolist())
    assert values <= {0, 1, 255} and 1 in values
    assert tiles.classes == ["other", "building"]


def test_class_map_missing_a_value_names_the_mask_and_the_fix():
    tiles = open_tiles(None, "val", class_map={1: 0, 2: 1})
    with pytest.raises(
        DataError, match=r"masks_png/6_0\.png.*not in the layout.s class map.*class_map="
    ):
        tiles[0]


def test_class_map_pointing_past_the_classes_is_refused():
    with pytest.raises(DataError, match="not a class index 0..4"):
        open_tiles(None, "val", class_map={1: 7})


def test_sample_tiles_are_the_quadrants_of_the_loveda_images(tmp_path, shared_data):
    """Tile <i>_<q> of the sample equals tile <i>_<q> cut by open_tiles from the 1024 image."""
    source = shared_data("data/loveda_rural_24")
    for folder in ("images_png", "masks_png"):
        (tmp_path / folder).mkdir()
        for i in (1, 6):
            (tmp_path / folder / f"{i}.png").symlink_to(source / folder / f"{i}.png")
    (tmp_path / "train.txt").write_text("1_2\n6_2\n")
    full = open_tiles(tmp_path, "train")
    sample = open_tiles(None, "train")
    val = open_tiles(None, "val")
    for tile_id, ref in (("1_2", sample), ("6_2", val)):
        a, b = full[full.ids.index(tile_id)], ref[ref.ids.index(tile_id)]
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
