"""LandCover.ai: the official tiling rule on real sheets, windowed tiles, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from hq_qiskit.datasets import open_tiles
from hq_qiskit.datasets.landcoverai import sheet_tile_ids
from hq_qiskit.errors import DataError

SHEET = "N-33-96-D-d-1-1"


def official_ids(folder, sheet=None) -> set[str]:
    ids = set()
    for split in ("train", "val", "test"):
        ids |= set((folder / f"{split}.txt").read_text().split())
    return {i for i in ids if sheet is None or i.rpartition("_")[0] == sheet}


def test_tile_ids_of_a_real_sheet_equal_the_official_lists(data_dir):
    real = data_dir / "landcoverai_real"
    with rasterio.open(real / f"{SHEET}.tif") as src:
        assert src.crs is not None and src.transform.a == 0.5
        ids = sheet_tile_ids(src.width, src.height, SHEET)
    assert set(ids) == official_ids(real) and len(ids) == 72


def test_tile_ids_of_all_41_sheets_equal_the_official_lists(shared_data):
    root = shared_data("data/landcoverai_masks_only")
    generated = set()
    for mask in sorted((root / "masks").glob("*.tif")):
        with rasterio.open(mask) as src:
            generated |= set(sheet_tile_ids(src.width, src.height, mask.stem))
    assert len(generated) == 10674
    assert generated == official_ids(root)


def test_tiles_are_read_by_window_from_the_sheets(fixture_copy):
    root = fixture_copy("landcoverai")
    tiles = open_tiles(root, "train")
    assert tiles.ids == [f"{SHEET}_0", f"{SHEET}_3"]
    item = tiles[1]  # k = 3: second row of windows, first column
    with rasterio.open(root / "images" / f"{SHEET}.tif") as src:
        expected = src.read(window=Window(0, 512, 512, 512))
    with rasterio.open(root / "masks" / f"{SHEET}.tif") as src:
        expected_mask = src.read(1, window=Window(0, 512, 512, 512))
    assert np.array_equal(item["image"].numpy(), expected)
    assert np.array_equal(item["mask"].numpy(), expected_mask)
    assert open_tiles(root, "val").ids == [f"{SHEET}_1"]


def test_bands_choose_and_order_the_image_bands(fixture_copy):
    root = fixture_copy("landcoverai")
    rgb = open_tiles(root, "val")[0]["image"]
    bgr = open_tiles(root, "val", bands=[3, 2, 1])[0]["image"]
    assert np.array_equal(bgr.numpy(), rgb.numpy()[::-1])


def test_split_list_naming_a_missing_tile_is_refused(fixture_copy):
    root = fixture_copy("landcoverai")
    (root / "test.txt").write_text(f"{SHEET}_4\n{SHEET}_2\n")  # k = 2 is a partial window
    with pytest.raises(DataError, match=rf"test\.txt: names 1 tile.*'{SHEET}_2'.*k=2"):
        open_tiles(root, "test")
    (root / "test.txt").write_text("M-33-7-A-d-2-3_0\n")
    with pytest.raises(DataError, match=r"test\.txt.*no images/M-33-7-A-d-2-3\.tif"):
        open_tiles(root, "test")


def rewrite(path, **changes):
    """Rewrite a GeoTIFF with some profile entries changed (data cropped to the new size)."""
    with rasterio.open(path) as src:
        profile = src.profile
        data = src.read()
    profile.update(changes)
    data = data[:, : profile["height"], : profile["width"]]
    if "count" in changes:
        data = np.concatenate([data, data[:1]])[: changes["count"]]
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def test_mask_of_another_size_is_refused(fixture_copy):
    root = fixture_copy("landcoverai")
    rewrite(root / "masks" / f"{SHEET}.tif", width=1000)
    with pytest.raises(DataError, match=r"masks/.*is 1000x1100 px but its image"):
        open_tiles(root, "train")


def test_mask_on_another_grid_is_refused(fixture_copy):
    root = fixture_copy("landcoverai")
    with rasterio.open(root / "masks" / f"{SHEET}.tif") as src:
        shifted = src.transform @ src.transform.translation(3, 0)
    rewrite(root / "masks" / f"{SHEET}.tif", transform=shifted)
    with pytest.raises(DataError, match="CRS/transform differ.*warp the mask"):
        open_tiles(root, "train")


def test_raster_without_crs_is_refused_where_a_mask_must_align(fixture_copy):
    root = fixture_copy("landcoverai")
    rewrite(root / "masks" / f"{SHEET}.tif", crs=None)
    with pytest.raises(DataError, match="has no CRS"):
        open_tiles(root, "train")


def test_image_with_the_wrong_band_count_names_bands(fixture_copy):
    root = fixture_copy("landcoverai")
    rewrite(root / "images" / f"{SHEET}.tif", count=4)
    with pytest.raises(
        DataError, match=r"has 4 band\(s\) but 3 are needed.*bands=\[1,2,3\]"
    ) as err:
        open_tiles(root, "train")
    assert "--bands" not in str(err.value)  # train and evaluate have no such option
    assert open_tiles(root, "train", bands=[1, 2, 3])[0]["image"].shape == (3, 512, 512)


def test_mask_values_outside_the_classes_are_reported(fixture_copy):
    root = fixture_copy("landcoverai")
    path = root / "masks" / f"{SHEET}.tif"
    with rasterio.open(path, "r+") as dst:
        dst.write(np.full((1, 8, 8), 9, dtype=np.uint8), window=Window(0, 0, 8, 8))
    with pytest.raises(DataError, match=r"mask values \[9\] are not in the layout.s class map"):
        open_tiles(root, "train")[0]


def test_precut_output_folder_is_read_too(fixture_copy, tmp_path):
    """A folder cut by LandCover.ai's split.py: output/<id>.jpg and output/<id>_m.png."""
    from PIL import Image

    sheets = open_tiles(fixture_copy("landcoverai"), "val")
    root = tmp_path / "precut"
    (root / "output").mkdir(parents=True)
    item = sheets[0]
    Image.fromarray(item["image"].numpy().transpose(1, 2, 0)).save(
        root / "output" / f"{item['id']}.jpg", quality=95
    )
    Image.fromarray(item["mask"].numpy().astype(np.uint8)).save(
        root / "output" / f"{item['id']}_m.png"
    )
    (root / "val.txt").write_text(f"{item['id']}\n")
    precut = open_tiles(root, "val")[0]
    assert precut["id"] == item["id"]
    assert np.array_equal(precut["mask"].numpy(), item["mask"].numpy())  # lossless PNG
    assert (precut["image"].int() - item["image"].int()).abs().float().mean() < 4  # JPEG
    (root / "val.txt").write_text(f"{item['id']}\n{SHEET}_77\n")
    with pytest.raises(DataError, match=rf"val\.txt: names 1 tile.*'{SHEET}_77'"):
        open_tiles(root, "val")
