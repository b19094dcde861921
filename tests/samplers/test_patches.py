"""RandomPatches and GridPatches on the built-in sample and on a tiny in-memory tile set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from hq_qiskit.datasets import open_tiles
from hq_qiskit.datasets.tiles import TileRef, Tiles
from hq_qiskit.errors import DataError
from hq_qiskit.samplers import GridPatches, RandomPatches, channel_stats, grid_starts


class ArrayTiles(Tiles):
    """Tiles held in memory whose every image channel equals the mask: any mismatch in how
    image and mask are cropped or turned shows up as image != mask."""

    def __init__(self, masks: np.ndarray) -> None:
        refs = [TileRef(str(i), None, None, 0, 0) for i in range(len(masks))]
        super().__init__(refs, {v: v for v in range(5)})
        self.masks = masks

    def read(self, ref):
        mask = self.masks[int(ref.id)]
        return np.stack([mask] * 3), mask


@pytest.fixture(scope="module")
def tiles():
    return open_tiles(None, "train")


@pytest.fixture(scope="module")
def aligned():
    rng = np.random.default_rng(0)
    return ArrayTiles(rng.integers(0, 5, (3, 512, 512), dtype=np.uint8))


def test_channel_stats_match_numpy_over_non_ignored_pixels(tiles):
    mean, std = channel_stats(tiles)
    pixels = np.concatenate(
        [tiles.arrays(i)[0][:, tiles.arrays(i)[1] != 255] for i in range(len(tiles))], axis=1
    ).astype(np.float64)
    assert np.allclose(mean, pixels.mean(axis=1)) and np.allclose(std, pixels.std(axis=1))
    assert all(0 < m < 255 for m in mean)


def test_random_patches_are_deterministic_per_seed_and_epoch(tiles):
    a = RandomPatches(tiles, 128, 8, mean=[100.0] * 3, std=[50.0] * 3, seed=3)
    b = RandomPatches(tiles, 128, 8, mean=[100.0] * 3, std=[50.0] * 3, seed=3)
    first = [a[i] for i in range(8)]
    second = [b[i] for i in range(8)]
    for x, y in zip(first, second, strict=True):
        assert torch.equal(x[0], y[0]) and torch.equal(x[1], y[1])
    a.set_epoch(1)
    assert [a.draw(i) for i in range(8)] != [b.draw(i) for i in range(8)]
    a.set_epoch(0)
    assert torch.equal(a[5][0], first[5][0])
    c = RandomPatches(tiles, 128, 8, mean=[100.0] * 3, std=[50.0] * 3, seed=4)
    assert [c.draw(i) for i in range(8)] != [b.draw(i) for i in range(8)]


def test_random_patch_is_the_normalised_crop_without_augmentation(tiles):
    mean, std = [90.0, 80.0, 70.0], [40.0, 30.0, 20.0]
    patches = RandomPatches(tiles, 128, 4, mean=mean, std=std, augment=False, seed=0)
    image, mask = patches[2]
    t, top, left, turns, flip = patches.draw(2)
    assert (turns, flip) == (0, False)
    raw, raw_mask = tiles.arrays(t)
    crop = raw[:, top : top + 128, left : left + 128].astype(np.float32)
    expected = (crop - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert image.dtype == torch.float32 and image.shape == (3, 128, 128)
    assert np.allclose(image.numpy(), expected, atol=1e-5)
    assert mask.dtype == torch.int64
    assert np.array_equal(mask.numpy(), raw_mask[top : top + 128, left : left + 128])


def test_augmentation_turns_image_and_mask_alike_and_uses_all_eight(aligned):
    patches = RandomPatches(aligned, 64, 200, mean=[0.0] * 3, std=[1.0] * 3, seed=1)
    symmetries = set()
    for i in range(len(patches)):
        image, mask = patches[i]
        assert torch.equal(image[1].long(), mask)
        symmetries.add(patches.draw(i)[3:])
    assert len(symmetries) == 8


def test_random_patches_batch_through_a_dataloader(tiles):
    patches = RandomPatches(tiles, 128, 6, mean=[100.0] * 3, std=[50.0] * 3)
    images, masks = next(iter(DataLoader(patches, batch_size=6, num_workers=0)))
    assert images.shape == (6, 3, 128, 128) and masks.shape == (6, 128, 128)


def test_stats_are_computed_when_not_given(tiles):
    patches = RandomPatches(tiles, 128, 2)
    assert np.allclose(patches.mean, channel_stats(tiles)[0])


def test_grid_starts_cover_every_pixel():
    assert grid_starts(512, 128, 128) == [0, 128, 256, 384]
    assert grid_starts(512, 128, 96) == [0, 96, 192, 288, 384]
    assert grid_starts(500, 128, 128) == [0, 128, 256, 372]


def test_grid_patches_tile_the_tiles_exactly(aligned):
    grid = GridPatches(aligned, 128, 128, mean=[0.0] * 3, std=[1.0] * 3)
    assert len(grid) == 3 * 16
    rebuilt = np.zeros((512, 512), dtype=np.int64)
    for i, (tile, top, left) in enumerate(grid.index[16:32]):
        assert tile == 1
        rebuilt[top : top + 128, left : left + 128] = grid[16 + i][1].numpy()
    assert np.array_equal(rebuilt, aligned.masks[1])


def test_bad_patch_sizes_are_refused(tiles):
    with pytest.raises(DataError, match="--patch-px 600: choose 1..512"):
        RandomPatches(tiles, 600, 4, mean=[0.0] * 3, std=[1.0] * 3)
    with pytest.raises(DataError, match="std .*must be > 0"):
        GridPatches(tiles, 128, 128, mean=[0.0] * 3, std=[1.0, 0.0, 1.0])
    with pytest.raises(DataError, match="give 3 values each"):
        GridPatches(tiles, 128, 128, mean=[0.0] * 4, std=[1.0] * 4)


def test_jitter_touches_the_image_only_and_is_seeded(tiles):
    stats = {"mean": [100.0] * 3, "std": [50.0] * 3}
    plain = RandomPatches(tiles, 64, 6, **stats, seed=2)
    a = RandomPatches(tiles, 64, 6, **stats, seed=2, jitter=0.3)
    b = RandomPatches(tiles, 64, 6, **stats, seed=2, jitter=0.3)
    for i in range(6):
        assert plain.draw(i) == a.draw(i)  # same tile, offset and symmetry
        (xp, yp), (xa, ya), (xb, _) = plain[i], a[i], b[i]
        assert torch.equal(yp, ya) and torch.equal(xa, xb)
        assert not torch.equal(xp, xa)
    with pytest.raises(DataError, match="--jitter"):
        RandomPatches(tiles, 64, 6, **stats, jitter=-0.1)
