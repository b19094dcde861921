"""Statistics over seeds and images for comparing trained variants, from confusion matrices.

Everything starts from per-tile confusion matrices ``cm`` of shape (S, T, K, K): S seeds, T
evaluation tiles, K classes (rows truth, columns prediction, pixel counts). A seed's scores are
read off the sum of its tiles' matrices, exactly as ``metrics.Scores`` reads them (a class
absent from truth and prediction has no IoU and is left out of the mean).

Tiles cut from one image are not independent (LoveDA's evaluation tiles are quadrants of a few
images), so the unit resampled is the image: ``groups`` gives each tile's image (``image_groups``
reads it off the tile ids, "<image>_<k>" -> "<image>").

- ``scores``: mIoU, OA and per-class IoU of matrices with any leading shape.
- ``mean_std``: mean and sample standard deviation over seeds.
- ``bootstrap``: percentile interval over draws that resample whole images (every seed kept,
  the same draw for both variants of a difference). This is the interval of one model
  (``hq-qiskit diagnose``) and the image part of ``interval``.
- ``interval``: the interval for several seeds: a t interval (S - 1 degrees of freedom) around
  the mean of the per-seed (paired) values, whose standard error adds the spread between seeds
  (var / S) and the image bootstrap's variance of the seed mean (the images are shared by
  every seed, so their part does not shrink with S). With 3 seeds a percentile bootstrap over
  seeds is the min-max of 3 numbers: simulated (3 seeds, 8 images of 4 quadrants, a known
  effect) it covered the truth 81 % of the time, this interval 98 %
  (``tests/training/test_statistics_coverage.py``).
- ``seed_interval``: the t interval over seeds of one number per seed (no image part).
- ``holm``: Holm's step-down adjusted p-values (family-wise error, any dependence).
- ``compare``: verdicts for variants against one reference: a difference, or equivalence
  within a margin fixed before the run (two one-sided tests, TOST), both Holm-corrected across
  the variants; no verdict at all from fewer than ``MIN_SEEDS`` seeds or ``MIN_IMAGES`` images.

numpy and scipy only; no torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as _st

Metric = Literal["miou", "oa"]
MIN_SEEDS = 3  # fewer seeds: no verdict (a t interval on 2 values has 1 degree of freedom)
MIN_IMAGES = 4  # fewer images: no verdict (a 4-tile set gave an interval reaching 1.0)
DEFAULT_MARGIN = 0.02  # mIoU: |difference| below it counts as "no difference that matters"
_TILE_OF_IMAGE = re.compile(r"^(.+)_(\d+)$")


def image_of(tile_id: str) -> str:
    """The image a tile was cut from: "<image>_<k>" -> "<image>", any other id -> itself.

    Both namings of the toolkit follow this: ``open_tiles`` names tile k of a multi-tile image
    "<stem>_<k>", and the built-in sample names quadrant q of LoveDA image i "<i>_<q>".
    """
    match = _TILE_OF_IMAGE.match(str(tile_id))
    return match.group(1) if match else str(tile_id)


def few_images_note(n_images: int) -> str | None:
    """The line a report prints when its intervals rest on fewer than ``MIN_IMAGES`` images
    (a bootstrap over 2 or 3 images does not hold its coverage); None from enough images."""
    if n_images >= MIN_IMAGES:
        return None
    return (
        f"only {n_images} image{'s' * (n_images != 1)}: intervals over fewer than {MIN_IMAGES} "
        "images do not hold their coverage, read them as descriptive; score more images with "
        "--data DIR --split all"
    )


def group_index(names: Sequence[str]) -> np.ndarray:
    """(T,) int: each tile's group name (as the dataset gives it) as an index 0..G-1, groups
    in order of first appearance."""
    index: dict[str, int] = {}
    return np.array([index.setdefault(str(g), len(index)) for g in names], dtype=int)


def image_groups(tile_ids: Sequence[str]) -> np.ndarray:
    """(T,) int: each tile's image as an index 0..G-1, images in order of first appearance."""
    index: dict[str, int] = {}
    return np.array([index.setdefault(image_of(t), len(index)) for t in tile_ids], dtype=int)


def scores(cm: np.ndarray) -> dict[str, np.ndarray]:
    """mIoU (...), OA (...) and IoU (..., K) of confusion matrices ``cm`` (..., K, K).

    IoU is NaN for a class with no pixel in truth or prediction; mIoU is the mean of the defined
    IoUs (NaN if none); OA is NaN for a matrix with no pixel.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)  # (..., K)
    denom = cm.sum(-1) + cm.sum(-2) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(denom > 0, tp / np.where(denom > 0, denom, 1), np.nan)
        defined = ~np.isnan(iou)
        n = defined.sum(-1)
        miou = np.where(n > 0, np.where(defined, iou, 0).sum(-1) / np.maximum(n, 1), np.nan)
        total = cm.sum((-2, -1))
        oa = np.where(total > 0, tp.sum(-1) / np.where(total > 0, total, 1), np.nan)
    return {"miou": miou, "oa": oa, "iou": iou}


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """(mean, sample std with ddof=1) of the non-NaN values; std NaN with fewer than 2."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


@dataclass(frozen=True)
class Interval:
    """A point estimate with its interval.

    Attributes:
        estimate: the statistic on the data as observed (mean over seeds, all tiles).
        low, high: the interval's ends.
        level: its coverage, e.g. 0.95.
        n_boot: bootstrap draws of the image part.
        se: standard error of ``estimate`` (NaN when unknown).
        df: degrees of freedom of its t distribution (inf: normal).
        method: how the interval was made ("image bootstrap" or "t over seeds + images").
    """

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    se: float = float("nan")
    df: float = float("inf")
    method: str = "image bootstrap"

    @property
    def covers_zero(self) -> bool:
        return self.low <= 0.0 <= self.high

    def p_value(self) -> float:
        """Two-sided p-value of "the true value is 0" (t with ``df``; NaN without an se)."""
        if not self.se > 0:
            return float("nan") if math.isnan(self.se) else float(self.estimate == 0)
        return float(2 * _st.t.sf(abs(self.estimate) / self.se, self.df))

    def p_equivalent(self, margin: float) -> float:
        """TOST p-value of "the true value lies outside (-margin, margin)": the larger of the two
        one-sided p-values (small: equivalent within the margin)."""
        if not self.se > 0:
            return float("nan") if math.isnan(self.se) else float(abs(self.estimate) >= margin)
        below = _st.t.sf((self.estimate + margin) / self.se, self.df)  # H0: value <= -margin
        above = _st.t.cdf((self.estimate - margin) / self.se, self.df)  # H0: value >= +margin
        return float(max(below, above))

    def as_dict(self) -> dict[str, float | str]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "n_boot": self.n_boot,
            "se": self.se,
            "df": None if math.isinf(self.df) else self.df,
            "method": self.method,
        }


def _check(cm: np.ndarray, reference: np.ndarray | None, groups) -> tuple:
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 4 or cm.shape[-1] != cm.shape[-2]:
        raise ValueError(f"cm: expected (seeds, tiles, K, K), got shape {cm.shape}")
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64)
        if reference.shape != cm.shape:
            raise ValueError(f"reference shape {reference.shape} differs from cm's {cm.shape}")
    groups = np.arange(cm.shape[1]) if groups is None else np.asarray(groups, dtype=int)
    if groups.shape != (cm.shape[1],):
        raise ValueError(f"groups: one image index per tile ({cm.shape[1]}), got {groups.shape}")
    return cm, reference, np.unique(groups, return_inverse=True)[1]


def _per_image(cm: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(S, T, K, K) -> (S, G, K, K): each image's tiles summed."""
    out = np.zeros((cm.shape[0], int(groups.max()) + 1, *cm.shape[2:]))
    np.add.at(out, (slice(None), groups), cm)
    return out


def _seed_values(pooled: np.ndarray, pooled_ref: np.ndarray | None, metric: Metric) -> np.ndarray:
    """Per-seed metric (minus the reference's): pooled (..., S, K, K) -> (..., S)."""
    value = scores(pooled)[metric]
    return value if pooled_ref is None else value - scores(pooled_ref)[metric]


def image_draws(cm, reference, groups, metric, n_boot, seed) -> np.ndarray:
    """Per-seed statistic (n, S) over ``n_boot`` draws resampling whole images (the draws with
    a NaN seed value left out). The draws depend only on the number of images, ``n_boot`` and
    ``seed``: calls with the same three resample the same images."""
    img = _per_image(cm, groups)
    ref = None if reference is None else _per_image(reference, groups)
    n_img = img.shape[1]
    rng = np.random.default_rng(seed)
    draws = []
    for start in range(0, n_boot, 500):  # chunks keep memory at 500 * S * K * K numbers
        b = min(500, n_boot - start)
        w = rng.multinomial(n_img, np.full(n_img, 1 / n_img), size=b).astype(float)  # (b, G)
        pooled = np.einsum("bg,sgkl->bskl", w, img)
        pooled_ref = None if ref is None else np.einsum("bg,sgkl->bskl", w, ref)
        with np.errstate(invalid="ignore"):
            draws.append(_seed_values(pooled, pooled_ref, metric))  # (b, S)
    values = np.concatenate(draws)
    return values[~np.isnan(values).any(1)]


def bootstrap(
    cm: np.ndarray,
    reference: np.ndarray | None = None,
    *,
    groups: Sequence[int] | np.ndarray | None = None,
    metric: Metric = "miou",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval for the seed-mean ``metric`` (minus ``reference``'s), resampling
    whole images; every seed is kept in every draw.

    Args:
        cm: per-tile confusion matrices (S, T, K, K) of one variant.
        reference: the same shape for the variant compared against (seed s and tile t of both
            come from the same seed and the same tile), or None.
        groups: (T,) image index of each tile (``image_groups``); None: each tile its own image.
        metric: "miou" or "oa".
        n_boot: bootstrap draws.
        level: interval coverage.
        seed: seed of the resampling generator (the interval is reproducible).
    """
    cm, reference, groups = _check(cm, reference, groups)
    estimate = float(np.nanmean(_seed_values(cm.sum(1), _sum1(reference), metric)))
    values = image_draws(cm, reference, groups, metric, n_boot, seed).mean(1)
    alpha = (1 - level) / 2
    if values.size == 0:
        return Interval(estimate, math.nan, math.nan, level, n_boot)
    low, high = np.quantile(values, [alpha, 1 - alpha])
    se = float(values.std(ddof=1)) if values.size > 1 else math.nan
    return Interval(estimate, float(low), float(high), level, n_boot, se=se)


def _sum1(x: np.ndarray | None) -> np.ndarray | None:
    return None if x is None else x.sum(1)


def interval(
    cm: np.ndarray,
    reference: np.ndarray | None = None,
    *,
    groups: Sequence[int] | np.ndarray | None = None,
    metric: Metric = "miou",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Interval for the seed-mean ``metric`` (or its paired difference to ``reference``) that
    holds its coverage with few seeds.

    estimate +- t(level, S - 1) * se, se^2 = var_s(per-seed values) / S + var(image bootstrap
    of the seed mean). One seed: the image ``bootstrap`` alone (it says nothing about seeds).
    Arguments as for ``bootstrap``.
    """
    cm, reference, groups = _check(cm, reference, groups)
    n_seeds = cm.shape[0]
    if n_seeds < 2:
        return bootstrap(
            cm, reference, groups=groups, metric=metric, n_boot=n_boot, level=level, seed=seed
        )
    per_seed = _seed_values(cm.sum(1), _sum1(reference), metric)  # (S,)
    draws = image_draws(cm, reference, groups, metric, n_boot, seed)  # (n, S)
    return seeds_and_images(per_seed, draws, int(groups.max()) + 1, level, n_boot)


def seeds_and_images(
    per_seed: np.ndarray, draws: np.ndarray, n_images: int, level: float, n_boot: int
) -> Interval:
    """``interval``'s t interval from its parts: ``per_seed`` (S,), each seed's value on the data
    as observed, and ``draws`` (n, S), each seed's value on whole-image bootstrap draws (the same
    draw for every seed). se^2 = var_s(per_seed) / S + the images' part shared by all seeds;
    t with min(S, n_images) - 1 degrees of freedom. NaN ends when a seed is NaN or draws < 2."""
    n_seeds = per_seed.size
    per_seed = per_seed[~np.isnan(per_seed)]
    estimate = float(per_seed.mean()) if per_seed.size else math.nan
    if per_seed.size < n_seeds or len(draws) < 2:
        return Interval(estimate, math.nan, math.nan, level, n_boot)
    # the images' part shared by all seeds: var of the seed mean less the per-seed image
    # variance that the spread between seeds already holds; G / (G - 1) undoes the bootstrap's
    # shrinkage of a variance over G images
    shared = draws.mean(1).var(ddof=1) - draws.var(0, ddof=1).mean() / n_seeds
    shared *= n_images / max(n_images - 1, 1)
    se = math.sqrt(per_seed.var(ddof=1) / n_seeds + max(shared, 0.0))
    df = min(n_seeds, n_images) - 1
    half = float(_st.t.ppf(0.5 + level / 2, df)) * se
    method = "t over seeds + images"
    return Interval(estimate, estimate - half, estimate + half, level, n_boot, se, df, method)


def seed_interval(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Interval:
    """t interval over seeds of one number per seed (no images: e.g. a simulator seed's error):
    mean +- t(level, S - 1) * std / sqrt(S) over the non-NaN values; NaN ends with fewer than 2.
    """
    v = np.asarray(values, dtype=np.float64)
    n = int((~np.isnan(v)).sum())
    mean, std = mean_std(v)
    if n < 2:
        return Interval(mean, math.nan, math.nan, level, 0, method="t over seeds")
    se = std / math.sqrt(n)
    half = float(_st.t.ppf(0.5 + level / 2, n - 1)) * se
    return Interval(mean, mean - half, mean + half, level, 0, se=se, df=n - 1,
                    method="t over seeds")  # fmt: skip


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order (NaN stays NaN, left out)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def too_few(n_seeds: int, n_images: int) -> str | None:
    """The one line that refuses a verdict from too few seeds or images, else None."""
    if n_seeds >= MIN_SEEDS and n_images >= MIN_IMAGES:
        return None
    return (
        f"no verdict: {n_seeds} seed{'s' * (n_seeds != 1)} and {n_images} "
        f"image{'s' * (n_images != 1)} (a verdict needs at least {MIN_SEEDS} seeds and "
        f"{MIN_IMAGES} images)"
    )


def compare(
    diffs: Mapping[str, Interval],
    reference: str,
    *,
    n_seeds: int,
    n_images: int,
    margin: float = DEFAULT_MARGIN,
    alpha: float = 0.05,
) -> dict[str, dict[str, float | str]]:
    """Verdicts for each variant's paired difference to ``reference``.

    ``margin`` (mIoU) must be fixed before the run. A difference is claimed when its Holm-
    adjusted p-value is below ``alpha``; equivalence when the TOST p-value, Holm-adjusted over
    the same variants, is below ``alpha`` (the (1 - 2 alpha) interval lies inside +-margin).

    Returns:
        variant -> {"verdict": one sentence, "p", "p_holm", "p_tost", "p_tost_holm"}.
    """
    names = list(diffs)
    p = [diffs[n].p_value() for n in names]
    p_eq = [diffs[n].p_equivalent(margin) for n in names]
    p_adj, p_eq_adj = holm(p), holm(p_eq)
    refused = too_few(n_seeds, n_images)
    out: dict[str, dict[str, float | str]] = {}
    for i, name in enumerate(names):
        d = diffs[name]
        who = f"{name} vs {reference}: {d.estimate:+.3f}"
        if refused is not None:
            text = f"{name} vs {reference}: {refused}"
        elif math.isnan(p_adj[i]):
            text = f"{who}, no interval"
        elif p_adj[i] < alpha:
            side = "higher" if d.estimate > 0 else "lower"
            within = p_eq_adj[i] < alpha
            text = f"{who}, {side} (Holm-adjusted p = {p_adj[i]:.3f})" + (
                f", yet equivalent within ±{margin:g}" if within else ""
            )
        elif p_eq_adj[i] < alpha:
            text = (
                f"{who}, equivalent within ±{margin:g} (TOST, Holm-adjusted p = {p_eq_adj[i]:.3f})"
            )
        else:
            text = (
                f"{who}, inconclusive: neither a difference (Holm-adjusted p = {p_adj[i]:.3f}) "
                f"nor equivalence within ±{margin:g} (p = {p_eq_adj[i]:.3f}) is shown"
            )
        out[name] = {
            "verdict": text,
            "p": p[i],
            "p_holm": p_adj[i],
            "p_tost": p_eq[i],
            "p_tost_holm": p_eq_adj[i],
        }
    return out
