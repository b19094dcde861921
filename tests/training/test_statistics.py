"""Statistics for ablations on synthetic confusion matrices whose answers are known.

``bootstrap`` now resamples whole images with every seed kept; the spread between seeds is
``interval``'s t part (the seed test below moved from ``bootstrap`` to ``interval``), and the
old one-sentence ``verdict`` became ``compare`` (Holm, equivalence, too few seeds or images).
"""

from __future__ import annotations

import numpy as np
import pytest

from hq_qiskit.training.statistics import (
    Interval,
    bootstrap,
    compare,
    holm,
    image_groups,
    image_of,
    interval,
    mean_std,
    scores,
    seed_interval,
)


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
    for ci in (bootstrap(cm, cm.copy()), interval(cm, cm.copy())):
        assert ci.estimate == 0 and ci.low == 0 and ci.high == 0
    v = compare({"quantum": interval(cm, cm.copy())}, "classical", n_seeds=3, n_images=10)
    assert "quantum vs classical: +0.000, equivalent within ±0.02" in v["quantum"]["verdict"]


def test_a_clearly_better_variant_is_significant_and_the_estimate_is_exact():
    good, bad = diagonal_tiles(3, 8, 0.9), diagonal_tiles(3, 8, 0.5)
    # IoU of each class: right / (right + 2 * wrong): 45/55 and 25/75
    ci = bootstrap(good, bad)
    assert ci.estimate == pytest.approx(45 / 55 - 25 / 75)
    assert ci.low > 0  # no spread anywhere: every draw gives the same difference
    assert ci.high == pytest.approx(ci.estimate)
    v = compare({"q": interval(good, bad), "r": interval(bad, good)}, "c", n_seeds=3, n_images=8)
    assert ", higher (Holm-adjusted p = 0.000)" in v["q"]["verdict"]
    assert ", lower" in v["r"]["verdict"]


def test_noise_between_seeds_widens_the_interval_until_it_covers_zero():
    rng = np.random.default_rng(1)
    base = diagonal_tiles(3, 12, 0.7)
    # the variant is better for seed 0 and worse for seed 1: a seed effect, no real gain
    other = np.stack([diagonal_tiles(1, 12, c)[0] for c in (0.8, 0.6, 0.7)])
    ci = interval(other, base, n_boot=4000, seed=2)
    assert ci.low < 0 < ci.high and ci.covers_zero and ci.df == 2
    # a single variant's interval brackets its own seed-mean mIoU
    own = interval(base + rng.integers(0, 5, base.shape))
    assert own.low <= own.estimate <= own.high


def test_tile_resampling_carries_the_spread_between_images():
    # one seed: per-tile accuracy varies, so the single variant's interval has width > 0
    tiles = np.concatenate([diagonal_tiles(1, 5, 0.9), diagonal_tiles(1, 5, 0.6)], axis=1)
    ci = bootstrap(tiles, metric="oa", seed=0)
    assert ci.estimate == pytest.approx(0.75)
    assert 0.6 < ci.low < 0.75 < ci.high < 0.9
    assert isinstance(ci, Interval) and ci.as_dict()["level"] == 0.95


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differs"):
        bootstrap(np.ones((3, 4, 2, 2)), np.ones((3, 5, 2, 2)))
    with pytest.raises(ValueError, match="seeds, tiles, K, K"):
        bootstrap(np.ones((4, 2, 2)))


def test_tiles_are_grouped_by_the_image_they_were_cut_from():
    assert image_of("6_2") == "6" and image_of("image_part_001") == "image_part"
    assert image_of("tile") == "tile"
    assert image_groups(["6_0", "6_1", "9_3", "6_2"]).tolist() == [0, 0, 1, 0]


def test_quadrants_of_one_image_resampled_together_widen_the_interval():
    # 4 images x 4 quadrants; quadrants of an image share their accuracy, images differ
    acc = [0.9, 0.6, 0.8, 0.5]
    cm = np.concatenate([diagonal_tiles(1, 4, a) for a in acc], axis=1)  # (1, 16, 2, 2)
    ids = [f"{i}_{q}" for i in range(4) for q in range(4)]
    by_tile = bootstrap(cm, metric="oa", seed=0)
    by_image = bootstrap(cm, metric="oa", groups=image_groups(ids), seed=0)
    assert by_image.estimate == by_tile.estimate
    assert by_image.high - by_image.low > 1.5 * (by_tile.high - by_tile.low)


def test_holm_adjusts_step_down_and_keeps_the_order():
    # sorted p: 0.01 (x3), 0.02 (x2 -> 0.04), 0.04 (x1 -> 0.04, monotone)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, float("nan")])[0] == 0.5


def test_too_few_seeds_or_images_give_no_verdict_in_one_line():
    good, bad = diagonal_tiles(3, 8, 0.9), diagonal_tiles(3, 8, 0.5)
    for n_seeds, n_images in ((2, 8), (1, 8), (3, 3)):
        v = compare({"q": interval(good, bad)}, "c", n_seeds=n_seeds, n_images=n_images)
        text = v["q"]["verdict"]
        assert text.startswith("q vs c: no verdict:") and "\n" not in text
        assert "higher" not in text and "equivalent" not in text


def test_equivalence_needs_the_interval_inside_the_margin():
    # a difference of 0.005 +- se: equivalent within 0.02 only when se is small
    tight = Interval(0.005, -0.001, 0.011, 0.95, 0, se=0.003, df=2)
    loose = Interval(0.005, -0.05, 0.06, 0.95, 0, se=0.013, df=2)
    v = compare({"a": tight, "b": loose}, "c", n_seeds=3, n_images=8, margin=0.02)
    assert "equivalent within ±0.02" in v["a"]["verdict"]
    assert "inconclusive" in v["b"]["verdict"]
    assert v["a"]["p_tost_holm"] == pytest.approx(2 * v["a"]["p_tost"])  # the smaller, x2


def test_one_seed_falls_back_to_the_image_bootstrap_with_the_callers_seed():
    """Before, interval() with one seed called bootstrap() without its seed, so every seed
    drew the same resamples (seed 0's)."""
    rng = np.random.default_rng(1)
    tiles = np.concatenate([diagonal_tiles(1, 1, a) for a in rng.uniform(0.5, 0.95, 12)], axis=1)
    for seed in (0, 7):
        assert (
            interval(tiles, metric="oa", seed=seed, n_boot=200).as_dict()
            == bootstrap(tiles, metric="oa", seed=seed, n_boot=200).as_dict()
        )
    assert (
        interval(tiles, metric="oa", seed=7, n_boot=200).low
        != interval(tiles, metric="oa", seed=0, n_boot=200).low
    )


def test_seed_interval_is_the_t_interval_over_seeds():
    got = seed_interval([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])  # NaN left out: 5 seeds
    half = 2.7764451 * np.std([1, 2, 3, 4, 5], ddof=1) / np.sqrt(5)  # t(0.975, 4)
    assert got.estimate == 3.0 and got.df == 4 and got.method == "t over seeds"
    assert got.low == pytest.approx(3 - half) and got.high == pytest.approx(3 + half)
    one = seed_interval([0.7])
    assert one.estimate == 0.7 and np.isnan(one.low) and np.isnan(one.high)
