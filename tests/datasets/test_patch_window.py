"""Patches of GeoTIFF tiles are read by window (only the blocks under the patch), and are
bit-identical to the slices of whole decoded tiles: for every seed, patch and sample, with and
without nodata, through RandomPatches exactly as training draws them."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import rasterio
import torch
from torch.utils.data import DataLoader

from hq_qiskit.datasets import open_tiles
from hq_qiskit.datasets.tiles import RasterTiles, Tiles
from hq_qiskit.samplers import RandomPatches


class WholeTiles(RasterTiles):
    """The read path before windowed patches: open the files, decode the whole tile, slice."""

    patch = Tiles.patch


def pair(folder) -> tuple[RasterTiles, WholeTiles]:
    tiles = open_tiles(str(folder), "train")
    assert type(tiles) is RasterTiles
    whole = WholeTiles(tiles.refs, tiles.class_map, tiles.classes, bands=tiles.bands, keep_open=0)
    return tiles, whole


def assert_same_patches(windowed: RasterTiles, whole: WholeTiles, patch_px: int) -> None:
    for seed in (0, 1, 2):
        kw = {"mean": [90.0] * 3, "std": [45.0] * 3, "seed": seed}
        a = RandomPatches(windowed, patch_px, 24, **kw)
        b = RandomPatches(whole, patch_px, 24, **kw)
        for epoch in (0, 3):
            for i in range(len(a)):
                (xa, ya), (xb, yb) = a[(epoch, i)], b[(epoch, i)]
                assert np.array_equal(xa.numpy(), xb.numpy()), (seed, epoch, i)
                assert np.array_equal(ya.numpy(), yb.numpy()), (seed, epoch, i)
    assert len(windowed._cache) == 0  # nothing decoded whole: every patch was a window


@pytest.mark.parametrize("patch_px", [128, 100, 512])
def test_windowed_patches_equal_whole_tile_slices(fixture_copy, patch_px):
    windowed, whole = pair(fixture_copy("landcoverai"))
    assert_same_patches(windowed, whole, patch_px)
    t, s = windowed.tile_px, min(patch_px, 128)
    for i in range(len(windowed)):
        image, mask = whole.arrays(i)
        for top, left in ((0, 0), (t - s, t - s), (0, t - s), (137, 5)):
            got = windowed.patch(i, top, left, s)
            assert np.array_equal(got[0], image[:, top : top + s, left : left + s])
            assert np.array_equal(got[1], mask[top : top + s, left : left + s])
            assert got[0].shape == (3, s, s) and got[0].dtype == np.uint8


def test_windowed_patches_keep_the_nodata_rule(fixture_copy):
    folder = fixture_copy("landcoverai")
    image = next((folder / "images").glob("*.tif"))
    with rasterio.open(image, "r+") as dst:
        data = dst.read()
        data[:, 300:700, 200:600] = 0  # a nodata hole across tiles 0 and 3
        dst.write(data)
        dst.nodata = 0
    windowed, whole = pair(folder)
    ignored = [(whole.arrays(i)[1] == 255).sum() for i in range(len(whole))]
    assert min(ignored) > 0  # the hole reaches both tiles, so the rule is exercised
    assert_same_patches(windowed, whole, 128)


def test_a_cached_tile_is_sliced_and_bad_windows_are_refused(fixture_copy):
    windowed, whole = pair(fixture_copy("landcoverai"))
    image, mask = windowed.arrays(1)  # now cached
    got = windowed.patch(1, 10, 20, 64)
    assert np.array_equal(got[0], image[:, 10:74, 20:84]) and np.array_equal(
        got[1], mask[10:74, 20:84]
    )
    with pytest.raises(IndexError, match="outside the tile"):
        windowed.patch(0, 500, 0, 64)


def test_forked_loader_workers_read_the_same_patches(fixture_copy):
    windowed, _ = pair(fixture_copy("landcoverai"))
    patches = RandomPatches(windowed, 128, 16, mean=[90.0] * 3, std=[45.0] * 3, seed=4)
    alone = [patches[i][0] for i in range(len(patches))]  # opens the files in this process
    assert len(windowed._open) == 2  # image and mask kept open
    loader = DataLoader(patches, batch_size=4, num_workers=2, multiprocessing_context="fork")
    forked = torch.cat([x for x, _ in loader])  # each worker opens its own handles
    assert torch.equal(forked, torch.stack(alone))
    assert pickle.loads(pickle.dumps(windowed))._open == {}  # spawn: nothing open travels
