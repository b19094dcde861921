"""Statistics for ablations on synthetic confusion matrices whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from hq_qiskit.training.statistics import Interval, bootstrap, mean_std, scores, verdict


def diagonal_tiles(seeds: int, tiles: int, correct: float, pixels: int = 100) -> np.ndarray:
    """(S, T, 2, 2) matrices: every tile half class 0, half class 1, ``correct`` right."""
    right = pixels * correct / 2
    wrong = pixels / 2 - right
    one = np.array([[right, wrong], [wrong, right]])
    return np.broadcast_to(one, (seeds, tiles, 2, 2)).copy()


def test_scores_read_off_the_matrix():
    cm = np.array([[3, 1, 0], [1, 5, 0], [0, 0, 0]])  # class 2 absent from truth and prediction
    s = scores(cm)
    assert s["iou"][0] == pytest.approx(3 / 5) and s["iou"][1] == pytest.approx(5 / 7)
    assert np.isnan(s["iou"][2])
    assert s["miou"] == pytest.approx((3 / 5 + 5 / 7) / 2)
    assert s["oa"] == pytest.approx(8 / 10)
    assert scores(np.stack([cm, cm]))["miou"].shape == (2,)  # leading axes kept


def test_mean_std_over_seeds():
    assert mean_std([0.1, 0.2, 0.3]) == pytest.approx((0.2, 0.1))
    mean, std = mean_std([0.5])
    assert mean == 0.5 and np.isnan(std)


def test_identical_variants_differ_by_exactly_zero():
    cm = np.random.default_rng(0).integers(0, 50, size=(3, 10, 4, 4))
    interval = bootstrap(cm, cm.copy())
    assert interval.estimate == 0 and interval.low == 0 and interval.high == 0
    assert "no significant difference" in verdict(interval, "quantum", "classical")


def test_a_clearly_better_variant_is_significant_and_the_estimate_is_exact():
    good, bad = diagonal_tiles(3, 8, 0.9), diagonal_tiles(3, 8, 0.5)
    # IoU of each class: right / (right + 2 * wrong): 45/55 and 25/75
    interval = bootstrap(good, bad)
    assert interval.estimate == pytest.approx(45 / 55 - 25 / 75)
    assert interval.low > 0  # no spread anywhere: every draw gives the same difference
    assert interval.high == pytest.approx(interval.estimate)
    assert verdict(interval) == "significantly higher (95 % interval excludes 0)"
    assert "lower" in verdict(bootstrap(bad, good))


def test_noise_between_seeds_widens_the_interval_until_it_covers_zero():
    rng = np.random.default_rng(1)
    base = diagonal_tiles(3, 12, 0.7)
    # the variant is better for seed 0 and worse for seed 1: a seed effect, no real gain
    other = np.stack([diagonal_tiles(1, 12, c)[0] for c in (0.8, 0.6, 0.7)])
    interval = bootstrap(other, base, n_boot=4000, seed=2)
    assert interval.low < 0 < interval.high and interval.covers_zero
    # a single variant's interval brackets its own seed-mean mIoU
    own = bootstrap(base + rng.integers(0, 5, base.shape))
    assert own.low <= own.estimate <= own.high


def test_tile_resampling_carries_the_spread_between_images():
    # one seed: per-tile accuracy varies, so the single variant's interval has width > 0
    tiles = np.concatenate([diagonal_tiles(1, 5, 0.9), diagonal_tiles(1, 5, 0.6)], axis=1)
    interval = bootstrap(tiles, metric="oa", seed=0)
    assert interval.estimate == pytest.approx(0.75)
    assert 0.6 < interval.low < 0.75 < interval.high < 0.9
    assert isinstance(interval, Interval) and interval.as_dict()["level"] == 0.95


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differs"):
        bootstrap(np.ones((3, 4, 2, 2)), np.ones((3, 5, 2, 2)))
    with pytest.raises(ValueError, match="seeds, tiles, K, K"):
        bootstrap(np.ones((4, 2, 2)))
