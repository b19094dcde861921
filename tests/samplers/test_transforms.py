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
