"""Statistics over seeds and tiles for comparing trained variants, from confusion matrices.

Everything starts from per-tile confusion matrices ``cm`` of shape (S, T, K, K): S seeds, T
evaluation tiles, K classes (rows truth, columns prediction, pixel counts). A seed's scores are
read off the sum of its tiles' matrices, exactly as ``metrics.Scores`` reads them (a class
absent from truth and prediction has no IoU and is left out of the mean).

- ``scores``: mIoU, OA and per-class IoU of matrices with any leading shape.
- ``mean_std``: mean and sample standard deviation over seeds.
- ``bootstrap``: a 95 % interval for the seed-mean mIoU (or OA) of one variant, or for the
  difference between two variants paired by seed and by tile: each bootstrap draw resamples
  the seeds and the tiles with replacement and uses the same draw for both variants, so the
  interval carries the spread from initialisation (seeds) and from the choice of images
  (tiles). Percentile interval over ``n_boot`` draws.
- ``verdict``: the plain sentence for an interval of a difference.

numpy only; no torch.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

Metric = Literal["miou", "oa"]


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
    """A point estimate with a bootstrap interval.

    Attributes:
        estimate: the statistic on the data as observed (mean over seeds, all tiles).
        low, high: the percentile interval's ends.
        level: its coverage, e.g. 0.95.
        n_boot: bootstrap draws.
    """

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int

    @property
    def covers_zero(self) -> bool:
        return self.low <= 0.0 <= self.high

    def as_dict(self) -> dict[str, float]:
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "n_boot": self.n_boot,
        }


def _seed_metric(cm: np.ndarray, metric: Metric) -> np.ndarray:
    """Metric of each seed's pooled matrix: cm (..., S, K, K) -> (..., S)."""
    return scores(cm)[metric]


def bootstrap(
    cm: np.ndarray,
    reference: np.ndarray | None = None,
    *,
    metric: Metric = "miou",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Interval for the seed-mean ``metric`` of ``cm``, or for its difference to ``reference``.

    Args:
        cm: per-tile confusion matrices (S, T, K, K) of one variant.
        reference: the same shape for the variant compared against (seed s and tile t of both
            come from the same seed and the same image), or None.
        metric: "miou" or "oa".
        n_boot: bootstrap draws.
        level: interval coverage.
        seed: seed of the resampling generator (the interval is reproducible).

    Returns:
        ``Interval``: estimate = mean over seeds of metric(cm) (minus that of ``reference``),
        with the percentile interval over draws that resample seeds and tiles with
        replacement, the same draw for both variants.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 4 or cm.shape[-1] != cm.shape[-2]:
        raise ValueError(f"cm: expected (seeds, tiles, K, K), got shape {cm.shape}")
    if reference is not None:
        reference = np.asarray(reference, dtype=np.float64)
        if reference.shape != cm.shape:
            raise ValueError(f"reference shape {reference.shape} differs from cm's {cm.shape}")
    n_seeds, n_tiles = cm.shape[:2]

    def statistic(pooled: np.ndarray, pooled_ref: np.ndarray | None) -> np.ndarray:
        value = np.nanmean(_seed_metric(pooled, metric), axis=-1)
        if pooled_ref is not None:
            value = value - np.nanmean(_seed_metric(pooled_ref, metric), axis=-1)
        return value

    estimate = float(statistic(cm.sum(1), None if reference is None else reference.sum(1)))
    rng = np.random.default_rng(seed)
    draws = []
    for start in range(0, n_boot, 500):  # chunks keep memory at 500 * S * K * K numbers
        b = min(500, n_boot - start)
        weights = rng.multinomial(n_tiles, np.full(n_tiles, 1 / n_tiles), size=b)  # (b, T)
        seeds = rng.integers(0, n_seeds, size=(b, n_seeds))  # (b, S)
        rows = np.arange(b)[:, None]

        def pool(x: np.ndarray, w=weights, s=seeds, r=rows) -> np.ndarray:
            return np.einsum("bt,stkl->bskl", w, x)[r, s]  # (b, S, K, K)

        ref = None if reference is None else pool(reference)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN draw: mean of empty slice
            draws.append(statistic(pool(cm), ref))
    values = np.concatenate(draws)
    values = values[~np.isnan(values)]
    alpha = (1 - level) / 2
    low, high = (
        (float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha)))
        if values.size
        else (float("nan"), float("nan"))
    )
    return Interval(estimate, low, high, level, n_boot)


def verdict(interval: Interval, name: str = "", reference: str = "") -> str:
    """A plain sentence on a difference's interval: no significant difference when it covers 0."""
    pct = f"{100 * interval.level:g} %"
    who = f"{name} vs {reference}: " if name and reference else ""
    if np.isnan(interval.low) or np.isnan(interval.high):
        return f"{who}no interval (no valid bootstrap draw)"
    if interval.covers_zero:
        return f"{who}no significant difference ({pct} interval covers 0)"
    side = "higher" if interval.low > 0 else "lower"
    return f"{who}significantly {side} ({pct} interval excludes 0)"
