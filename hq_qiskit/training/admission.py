"""Admission of a design: does its quantum block carry the map, over seeds, on held-out images?

The rule (issue 27): a design is **admitted** when, over at least ``MIN_SEEDS`` (5) runs of
the same settings that differ only in their seed, scored on the same held-out images (at least
``statistics.MIN_IMAGES``), replacing a quantum block's output by its mean over the data costs
at least ``COST`` (0.05 mIoU) with a 95 % interval that excludes 0. The interval is
``statistics.interval``: a t interval over the seeds' paired differences (each run against
itself as it is) whose standard error adds the image bootstrap's part shared by all seeds.

Each run is scored by ``interventions.intervene`` on the same tiles (a fold run on its own
validation fold, by default from ``last.pt``: a fold run chose ``best.pt`` on that very fold, so
its score there would flatter it); the shuffled and zeroed outputs, and how far the angles
moved, are reported beside the rule, which reads the mean replacement only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import ConfigError
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.diagnose import parameters_moved, strict
from hq_qiskit.training.interventions import KINDS, find_sites, intervene
from hq_qiskit.training.loop import resolve_device
from hq_qiskit.training.restore import build_from_config, restore
from hq_qiskit.training.statistics import MIN_IMAGES, group_index, interval, mean_std, scores
from hq_qiskit.training.tile_scores import open_split, tile_images

Echo = Callable[[str], None]
MIN_SEEDS = 5  # the rule's seeds
COST = 0.05  # mIoU the mean replacement must cost
RULE_KIND = "mean"  # the intervention the rule reads
# settings that may differ between the runs of one design (where a run goes, and the seed)
FREE = {"seed", "device", "loader_workers"}


@dataclass
class RunScores:
    """One run scored as it is and under each intervention, on the held-out tiles.

    Attributes:
        run: the run folder.
        config: its TrainConfig.
        tiles: tile ids, in scoring order.
        images: each tile's image (the unit resampled).
        baseline: (T, K, K) pixel counts as trained (rows truth).
        confusions: site -> kind -> (T, K, K) with the site's output replaced.
        moved: site -> {"n", "max_abs", "rms"} of (trained - initial) parameters: radians for
            a circuit's angles, weight units for a classical core.
        quantum: site -> whether it runs a circuit.
    """

    run: Path
    config: TrainConfig
    tiles: list[str]
    images: list[str]
    baseline: np.ndarray
    confusions: dict[str, dict[str, np.ndarray]]
    moved: dict[str, dict[str, float]]
    quantum: dict[str, bool]


def score_run(
    path: Path, *, data: Path | None, split: str, checkpoint: str, device: str
) -> RunScores:
    """Score one run's ``checkpoint`` (noise as trained) on ``split`` of ``data`` (None: the
    run's own data; a fold run: its validation fold) as it is and under every intervention."""
    restored = restore(path, checkpoint=checkpoint)
    cfg, model = restored.config, restored.model
    sites = find_sites(model)
    if not sites:
        raise ConfigError(f"{path}: the model has no quantum block or bottleneck core to admit")
    _, tiles, patches, _ = open_split(cfg, data, split)
    dev = resolve_device(device)
    result = intervene(
        model, patches, sites, len(cfg.class_names), cfg.ignore_index, dev,
        batch_size=cfg.batch_size, seed=cfg.seed,
    )  # fmt: skip
    initial, _ = build_from_config(cfg)
    return RunScores(
        run=restored.checkpoint.parent,
        config=cfg,
        tiles=[str(t) for t in tiles.ids],
        images=tile_images(tiles),
        baseline=result.baseline,
        confusions=result.confusions,
        moved=parameters_moved(model.cpu(), initial, sites),
        quantum={s.name: s.quantum for s in sites},
    )


def check_runs(runs: Sequence[RunScores]) -> None:
    """The runs are one design: the same settings but the seed, distinct seeds, the same
    tiles. Raises ConfigError naming the first run that differs."""
    first = runs[0]
    base = first.config.given()
    seeds: dict[int, Path] = {}
    for r in runs:
        if r.config.seed in seeds:
            raise ConfigError(
                f"{r.run}: seed {r.config.seed} is also {seeds[r.config.seed]}'s; give runs of "
                "distinct seeds"
            )
        seeds[r.config.seed] = r.run
        given = r.config.given()
        if base is not None and given is not None:
            mine, theirs = base.to_dict(), given.to_dict()
            differ = sorted(k for k in mine if k not in FREE and mine[k] != theirs.get(k))
            if differ:
                raise ConfigError(
                    f"{r.run}/config.json: settings {differ} differ from {first.run}'s; "
                    "admission compares seeds of one design: give runs that differ only in --seed"
                )
        if r.tiles != first.tiles:
            raise ConfigError(
                f"{r.run}: scored on other tiles than {first.run}; give runs of the same data "
                "and folds"
            )


def _verdict(estimate: float, high: float, n_seeds: int, n_images: int, cost: float) -> str:
    if n_seeds < MIN_SEEDS or n_images < MIN_IMAGES:
        return (
            f"no verdict: {n_seeds} seed{'s' if n_seeds != 1 else ''} and {n_images} images "
            f"(the rule needs at least {MIN_SEEDS} seeds and {MIN_IMAGES} images)"
        )
    if estimate <= -cost and high < 0:
        return f"admitted: the mean replacement costs {-estimate:.3f} >= {cost} mIoU"
    if high >= 0:
        return "not admitted: the interval of the mean replacement's change reaches 0"
    return f"not admitted: the mean replacement costs {-estimate:.3f} < {cost} mIoU"


def _site_report(
    runs: Sequence[RunScores], site: str, groups: np.ndarray, cost: float, n_boot: int
) -> dict[str, Any]:
    base = np.stack([r.baseline for r in runs])  # (S, T, K, K)
    changes = {}
    for kind in KINDS:
        cm = np.stack([r.confusions[site][kind] for r in runs])
        ci = interval(cm, base, groups=groups, n_boot=n_boot)
        per_seed = scores(cm.sum(1))["miou"] - scores(base.sum(1))["miou"]
        changes[kind] = {
            "delta": ci.estimate,
            "low": ci.low,
            "high": ci.high,
            "per_seed": [float(v) for v in per_seed],
        }
    rule = changes[RULE_KIND]
    n_images = int(groups.max()) + 1
    moved = [r.moved[site] for r in runs]
    return {
        "name": site,
        "kind": "quantum" if runs[0].quantum[site] else "classical",
        "interventions": changes,
        "moved_max_abs": [m["max_abs"] for m in moved],
        "moved_rms": [m["rms"] for m in moved],
        "verdict": _verdict(rule["delta"], rule["high"], len(runs), n_images, cost),
    }


def admission(runs: Sequence[RunScores], *, cost: float = COST, n_boot: int = 2000) -> dict:
    """The admission report of one design's runs (``check_runs`` first): per site, every
    intervention's change over seeds with its interval, the parameters moved, and the verdict."""
    check_runs(runs)
    groups = group_index(runs[0].images)
    base = np.stack([r.baseline for r in runs])
    miou = scores(base.sum(1))["miou"]
    mean, std = mean_std(miou)
    first = runs[0].config
    return {
        "runs": [str(r.run) for r in runs],
        "seeds": [r.config.seed for r in runs],
        "model": first.model,
        "backend": first.backend,
        "data": first.data or "built-in",
        "folds": first.folds,
        "fold": first.fold,
        "tiles": len(runs[0].tiles),
        "images": int(groups.max()) + 1,
        "miou_per_seed": [float(v) for v in miou],
        "miou": mean,
        "miou_std": std,
        "rule": {"seeds": MIN_SEEDS, "images": MIN_IMAGES, "cost": cost, "kind": RULE_KIND},
        "kinds": list(KINDS),
        "sites": [_site_report(runs, s, groups, cost, n_boot) for s in runs[0].confusions],
    }


def admit_runs(
    paths: Sequence[Path],
    out: Path,
    *,
    data: Path | None = None,
    split: str = "val",
    checkpoint: str = "last.pt",
    device: str = "auto",
    cost: float = COST,
    n_boot: int = 2000,
    echo: Echo = print,
) -> dict[str, Any]:
    """Score every run, apply the rule, write the report to ``out`` (JSON, atomically)."""
    runs = []
    for path in paths:
        echo(f"scoring {path} ({checkpoint}) on {data or 'its own data'} / {split}")
        runs.append(score_run(path, data=data, split=split, checkpoint=checkpoint, device=device))
    report = admission(runs, cost=cost, n_boot=n_boot)
    report = strict({**report, "checkpoint": checkpoint, "split": split})
    atomic_write(out, json.dumps(report, indent=2, allow_nan=False) + "\n")
    return report
