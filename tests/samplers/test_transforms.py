"""The eight symmetries of the square, applied to image and mask alike."""

from __future__ import annotations

import numpy as np

from hq_qiskit.samplers import dihedral


def test_eight_distinct_symmetries_move_image_and_mask_together():
    mask = np.arange(16, dtype=np.uint8).reshape(4, 4)
    image = np.stack([mask, mask + 100, mask + 200])  # (3, 4, 4): every channel tracks the mask
    seen = set()
    for turns in range(4):
        for flip in (False, True):
            im, ma = dihedral(image, mask, turns, flip)
            assert im.shape == (3, 4, 4) and ma.shape == (4, 4)
            assert np.array_equal(im[0], ma) and np.array_equal(im[2], ma + 200)
            seen.add(ma.tobytes())
    assert len(seen) == 8


def test_one_turn_is_counter_clockwise_and_flip_mirrors_columns():
    mask = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    _, turned = dihedral(mask[None], mask, 1, False)
    assert turned.tolist() == [[2, 4], [1, 3]]
    _, mirrored = dihedral(mask[None], mask, 0, True)
    assert mirrored.tolist() == [[2, 1], [4, 3]]


def test_photometric_jitter_changes_colour_not_layout_and_stays_in_range():
    from hq_qiskit.samplers.transforms import photometric

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    out = photometric(image, np.random.default_rng(1), 0.4)
    assert out.dtype == np.float32 and out.shape == (3, 32, 32)
    assert out.min() >= 0 and out.max() <= 255
    assert not np.allclose(out, image)
    # a per-patch colour transform: where no band clipped, every band is an affine function of
    # the original bands, so its correlation with them stays near 1 (layout unchanged)
    for c in range(3):
        free = (out[c] > 0) & (out[c] < 255)
        a = np.column_stack([image[:, free].T.astype(np.float64), np.ones(free.sum())])
        _, res, *_ = np.linalg.lstsq(a, out[c][free], rcond=None)
        assert res[0] / free.sum() < 1e-6
    # same generator state, same result; strength 0 is the identity
    assert np.array_equal(out, photometric(image, np.random.default_rng(1), 0.4))
    assert np.array_equal(photometric(image, rng, 0.0), image.astype(np.float32))


def test_photometric_jitter_spreads_brightness_with_strength():
    from hq_qiskit.samplers.transforms import photometric

    image = np.full((3, 8, 8), 128, dtype=np.uint8)
    means = {
        s: np.std([photometric(image, np.random.default_rng(k), s).mean() for k in range(200)])
        for s in (0.1, 0.4)
    }
    assert 2 < means[0.4] / means[0.1] < 6  # about linear in the strength


def test_photometric_jitter_out_of_range_names_the_option():
    import pytest

    from hq_qiskit.errors import DataError
    from hq_qiskit.samplers.transforms import photometric

    with pytest.raises(DataError, match="--jitter 1.5: choose 0"):
        photometric(np.zeros((3, 4, 4), np.uint8), np.random.default_rng(0), 1.5)
