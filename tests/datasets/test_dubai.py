"""The Dubai aerial layout: colour masks through the README's table, whole-image cover tiles,
regions as groups; on the committed fixture (real pixels) and on ../shared/data itself."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from hq_qiskit.datasets import DUBAI_TO_LANDCOVERAI, detect_layout, open_labelled, open_tiles
from hq_qiskit.datasets.dubai import DUBAI_CLASSES, colours_to_raw
from hq_qiskit.errors import DataError

# The README's table, restated: colour -> LandCover.ai class (255 ignore).
README = {
    (132, 41, 246): 0,  # land
    (60, 16, 152): 1,  # building
    (254, 221, 58): 2,  # vegetation
    (226, 169, 41): 3,  # water
    (110, 193, 228): 4,  # road
    (155, 155, 155): 255,  # unlabelled
    (0, 0, 0): 255,  # unlabelled
}


def expected_mask(path, x, width, height):
    """Columns x..x+width, rows 0..height of the mask file read with PIL, mapped colour by
    colour, padded to 512x512 with 255."""
    rgb = np.asarray(Image.open(path).convert("RGB"))[:height, x : x + width]
    out = np.full((512, 512), 255, dtype=np.uint8)
    for colour, cls in README.items():
        out[:height, :width][(rgb == colour).all(-1)] = cls
    return out


def test_the_table_is_the_readmes():
    got = {c.colour: DUBAI_TO_LANDCOVERAI[c.raw] for c in DUBAI_CLASSES}
    assert got == README


def test_fixture_tiles_groups_and_pixels(data_dir):
    root = data_dir / "dubai"
    assert detect_layout(root) == "dubai"
    tiles = open_labelled(root)
    assert len(tiles) == 7  # tile_1: 2 images x 2 windows (520 px wide); tile_2: 2; tile_3: 1
    assert tiles.ids[:2] == ["tile_1_image_part_001_0", "tile_1_image_part_001_1"]
    assert tiles.groups == ["tile_1"] * 4 + ["tile_2"] * 2 + ["tile_3"]
    assert tiles[6]["group"] == "tile_3" and tiles[6]["id"] == "tile_3_image_part_001_0"
    for i, (x, width, height) in {0: (0, 512, 300), 1: (512, 8, 300), 4: (0, 300, 200)}.items():
        ref = tiles.refs[i]
        image, mask = tiles.arrays(i)
        assert np.array_equal(mask, expected_mask(ref.mask, x, width, height))
        assert image.shape == (3, 512, 512) and not image[:, :, width:].any()
        jpeg = np.asarray(Image.open(ref.image))[:height, x : x + width].transpose(2, 0, 1)
        assert np.array_equal(image[:, :height, :width], jpeg)
    assert (tiles.arrays(1)[1][:, 8:] == 255).all()  # padding is ignored, not background


def test_palette_masks_read_as_their_colours(data_dir):
    mask = data_dir / "dubai" / "tile_2" / "masks" / "image_part_001.png"
    assert Image.open(mask).mode == "P"
    tiles = open_labelled(data_dir / "dubai")
    i = tiles.ids.index("tile_2_image_part_001_0")
    assert np.array_equal(tiles.arrays(i)[1], expected_mask(mask, 0, 300, 200))
    assert set(np.unique(tiles.arrays(i)[1])) <= {0, 1, 4, 255}


def test_an_unknown_colour_is_refused(fixture_copy):
    root = fixture_copy("dubai")
    path = root / "tile_3" / "masks" / "image_part_001.png"
    rgb = np.asarray(Image.open(path).convert("RGB")).copy()
    rgb[5, 7] = (1, 2, 3)
    Image.fromarray(rgb).save(path)
    tiles = open_labelled(root)
    with pytest.raises(DataError, match=r"image_part_001\.png: mask colours \[\(1, 2, 3\)\]"):
        tiles.arrays(len(tiles) - 1)


def test_splits_list_regions(fixture_copy):
    root = fixture_copy("dubai")
    with pytest.raises(DataError, match=r"Dubai folder has no train\.txt; list the regions"):
        open_tiles(root, "train")
    (root / "train.txt").write_text("tile_1\ntile_3\n")
    (root / "val.txt").write_text("tile_9\n")
    assert set(open_tiles(root, "train").groups) == {"tile_1", "tile_3"}
    with pytest.raises(DataError, match=r"val\.txt: names 1 tile\(s\) that do not exist"):
        open_tiles(root, "val")


def test_the_shared_data(shared_dir):
    root = shared_dir / "data" / "dubai_aerial_63"
    tiles = open_labelled(root)
    regions = [f"tile_{n}" for n in range(1, 8)]
    assert sorted(set(tiles.groups)) == regions
    assert len({r.image for r in tiles.refs}) == 63
    # each image is covered whole: ceil(W/512) * ceil(H/512) tiles per image, 441 in all
    assert len(tiles) == 441
    # tile_2's images are 509-510 px wide: one padded window across, none dropped
    assert sum(g == "tile_2" for g in tiles.groups) == 18
    shipped = json.loads((root / "classes.json.original").read_text())["classes"]
    wrong = {tuple(int(c["color"][i : i + 2], 16) for i in (1, 3, 5)) for c in shipped}
    seen = set()
    for mask in sorted(root.glob("tile_*/masks/*.png")):
        rgb = np.asarray(Image.open(mask).convert("RGB")).astype(np.uint32)
        colours_to_raw(rgb, str(mask))  # every colour is in the table, or this raises
        codes = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
        seen |= {(int(c) >> 16, (int(c) >> 8) & 255, int(c) & 255) for c in codes}
    assert seen == set(README)
    assert seen & wrong == {(155, 155, 155)}  # classes.json's other colours never occur


def test_copying_a_region_alone_is_refused_with_the_layouts(tmp_path, data_dir):
    shutil.copytree(data_dir / "dubai" / "tile_3", tmp_path / "tile_3")
    with pytest.raises(DataError, match="mask mode RGB, expected one band"):
        open_labelled(tmp_path / "tile_3").arrays(0)  # one region alone reads as a plain folder
