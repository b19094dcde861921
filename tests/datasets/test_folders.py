"""``open_labelled(path, split)``: one opener for every labelled folder a user has, whose tiles
carry their group (the image, sheet or region to keep whole)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from hq_qiskit.datasets import (
    LOVEDA_TO_LANDCOVERAI,
    builtin_data_dir,
    detect_layout,
    open_labelled,
    open_tiles,
)
from hq_qiskit.errors import DataError


def plain_from_builtin(root, stems):
    """A plain folder: images/<stem>.png and masks/<stem>.png in LandCover.ai's classes."""
    src = builtin_data_dir()
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    lut = np.full(256, 255, dtype=np.uint8)
    for raw, cls in LOVEDA_TO_LANDCOVERAI.items():
        lut[raw] = cls
    for stem in stems:
        shutil.copy(src / "images_png" / f"{stem}.png", root / "images" / f"{stem}.png")
        raw = np.asarray(Image.open(src / "masks_png" / f"{stem}.png"))
        Image.fromarray(lut[raw]).save(root / "masks" / f"{stem}.png")
    return root


def test_every_layout_is_detected(data_dir, tmp_path):
    plain = plain_from_builtin(tmp_path / "plain", ["3_2"])
    want = {
        plain: "plain",
        data_dir / "landcoverai": "landcoverai",
        data_dir / "loveda": "loveda",
        builtin_data_dir(): "loveda",
        data_dir / "openearthmap": "openearthmap",
        data_dir / "dubai": "dubai",
    }
    assert {root: detect_layout(root) for root in want} == want


def test_a_plain_folder_reads_the_same_pixels(tmp_path):
    plain = plain_from_builtin(tmp_path / "plain", ["3_2", "9_3"])
    tiles = open_labelled(plain)
    builtin = open_tiles(None, "all")
    assert tiles.ids == ["3_2", "9_3"] and tiles.groups == ["3_2", "9_3"]
    for i, tile in enumerate(tiles.ids):
        j = builtin.ids.index(tile)
        assert np.array_equal(tiles.arrays(i)[0], builtin.arrays(j)[0])
        assert np.array_equal(tiles.arrays(i)[1], builtin.arrays(j)[1])
    (plain / "val.txt").write_text("9_3\n")
    assert open_labelled(plain, "val").ids == ["9_3"]


def test_a_small_plain_image_is_padded_not_refused(tmp_path):
    root = tmp_path / "small"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rgb = np.arange(300 * 200 * 3, dtype=np.uint32).reshape(200, 300, 3).astype(np.uint8)
    Image.fromarray(rgb).save(root / "images" / "a.png")
    Image.fromarray(np.full((200, 300), 3, dtype=np.uint8)).save(root / "masks" / "a.png")
    image, mask = open_labelled(root).arrays(0)
    assert np.array_equal(image[:, :200, :300], rgb.transpose(2, 0, 1))
    assert (
        (mask[:200, :300] == 3).all() and (mask[200:] == 255).all() and (mask[:, 300:] == 255).all()
    )


def test_groups_are_images_sheets_and_regions(data_dir):
    builtin = open_labelled(builtin_data_dir())
    assert builtin.groups[builtin.ids.index("3_2")] == "3"  # a quadrant file of image 3
    assert builtin.groups == [tid.rpartition("_")[0] for tid in builtin.ids]
    assert len(set(builtin.groups)) < len(builtin)  # some images give several quadrants
    loveda = open_labelled(data_dir / "loveda")  # Train + Val; Test has no masks, skipped
    assert all(
        tid.rpartition("_")[0] == g for tid, g in zip(loveda.ids, loveda.groups, strict=True)
    )
    assert {g: loveda.groups.count(g) for g in loveda.groups} == dict.fromkeys(
        set(loveda.groups), 4
    )
    sheet = open_labelled(data_dir / "landcoverai")
    assert set(sheet.groups) == {"N-33-96-D-d-1-1"}
    oem = open_labelled(data_dir / "openearthmap")
    assert set(oem.groups) <= {"aachen_1", "aachen_2", "aachen_3"}
    assert oem[0]["group"] == oem.groups[0]


def test_loveda_with_only_some_splits_present(fixture_copy):
    root = fixture_copy("loveda")
    every = open_labelled(root)
    shutil.rmtree(root / "Train")
    val_only = open_labelled(root)
    assert val_only.ids == open_tiles(root, "val").ids
    assert set(val_only.ids) < set(every.ids)


def test_an_unknown_layout_is_refused_in_one_line(tmp_path):
    (tmp_path / "pictures").mkdir()
    with pytest.raises(DataError) as err:
        open_labelled(tmp_path, option="--eval-data")
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"--eval-data {tmp_path}: layout not recognised")
    for name in ("LandCover.ai", "LoveDA", "OpenEarthMap", "Dubai", "plain folder"):
        assert name in line
