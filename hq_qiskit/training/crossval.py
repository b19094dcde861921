"""Cross-validation over whole images: the score a setting is chosen by.

``run_crossval`` trains one run per (seed, fold) with ``folds``/``fold`` set (the data's
tiles pooled and split into K folds of whole images or Dubai regions, ``group_kfold``), scores
each run's **last** checkpoint on the fold it never trained on (best.pt is chosen on that
fold's tiles, so it would flatter the score), and pools the per-tile confusion matrices: every
tile is scored once per seed by a model that never saw its image. The interval resamples whole
images (and seeds, ``statistics.interval``); two cross-validations of the same data, folds and
seeds compare tile by tile (``compare_crossvals``).

A screen (``only``: some of the folds) trains and scores just those folds; its score pools their
images and is recorded as such (``folds_scored``), and it compares with any cross-validation of
the same data, folds and seeds that scored those folds, on their tiles alone. Rerunning the
folder without ``only`` completes the cross-validation and keeps the screen's runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hq_qiskit.errors import ConfigError
from hq_qiskit.training.config import TrainConfig, TrainSettings, settings_that_differ
from hq_qiskit.training.data import also_resolved, open_train_val, resolved
from hq_qiskit.training.diagnose import strict
from hq_qiskit.training.loop import resolve_device
from hq_qiskit.training.restore import restore
from hq_qiskit.training.run_dir import RunDir, open_run_dir
from hq_qiskit.training.statistics import (
    few_images_note,
    group_index,
    interval,
    mean_std,
    scores,
)
from hq_qiskit.training.tile_scores import scoring_grid, tile_confusions

Echo = Callable[[str], None]
FOLD_SCORES = "fold-scores.json"  # written last in a fold's run: the run is complete


def fold_run_name(seed: int, fold: int) -> str:
    """The folder of one cross-validation run, under the cross-validation's folder."""
    return f"seed{seed}-fold{fold}"


def score_fold(run: Path, device: str = "auto") -> dict[str, Any]:
    """Per-tile confusions of a fold run's last.pt on its own validation fold.

    Returns:
        {"tiles": ids, "groups": images/regions, "confusion": (T, K, K) list, "miou", "oa"}.
    """
    restored = restore(run, checkpoint="last.pt")
    cfg, model = restored.config, restored.model
    _, tiles = open_train_val(cfg.data, cfg.class_map_ints, cfg.folds, cfg.fold)
    patches = scoring_grid(cfg, tiles)
    dev = resolve_device(device)
    cm = tile_confusions(
        model.to(dev), patches, len(cfg.class_names), cfg.ignore_index, dev, cfg.batch_size
    )
    s = scores(cm.sum(0))
    return {
        "tiles": list(tiles.ids),
        "groups": list(tiles.groups),
        "confusion": cm.tolist(),
        "miou": float(s["miou"]),
        "oa": float(s["oa"]),
    }


def _train_fold(settings: TrainSettings, path: Path, echo: Echo) -> None:
    """Train (or finish) one fold run into ``path``; a complete run is kept as it is."""
    from hq_qiskit.training.runner import resume_training, start_training

    if not (path / "config.json").is_file():
        start_training(settings, path, overwrite=path.exists(), echo=echo)
        return
    _check_fold_run(settings, path)
    if (path / FOLD_SCORES).is_file():
        echo(f"{path.name}: complete, kept")
        return
    echo(f"{path.name}: continued from its last.pt")
    resume_training(path, echo=echo)


def _check_fold_run(settings: TrainSettings, path: Path) -> None:
    """Refuse a fold run already in the folder that was trained with other settings (one
    started by ``train --folds K --fold k`` with other flags, or copied in): it would be kept,
    or continued, and scored as if it were this setting's."""
    record = TrainConfig.from_dict(open_run_dir(path).read_json("config.json"), str(path))
    differ = settings_that_differ(settings, record)
    if differ:
        raise ConfigError(
            f"{path}: this fold run was trained with other settings ({', '.join(differ)} "
            "differ); give the same settings, or move the run out of the folder"
        )


def run_crossval(
    settings: TrainSettings,
    folds: int,
    seeds: Sequence[int],
    out: Path,
    *,
    device: str = "auto",
    echo: Echo = print,
    only: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Train and score ``folds`` x ``seeds`` runs of ``settings`` under ``out``; write
    ``out/crossval.json`` (atomically) and return it. Rerunning with the same ``out`` keeps the
    complete runs and continues a stopped one (the settings must be the same). ``only``: train
    and score these folds alone (a screen, ``check_only``); None: all of them."""
    scored = check_only(only, folds)
    base = dataclasses.replace(
        settings,
        data=resolved(settings.data),
        train_also=also_resolved(settings.train_also),
        folds=folds,
        fold=0,
        seed=0,
    )
    base.check()
    out.mkdir(parents=True, exist_ok=True)
    record = RunDir(out)
    _check_same_settings(record, base, list(seeds))
    record.write_json("crossval-settings.json", {"settings": base.to_dict(), "seeds": list(seeds)})
    started = time.perf_counter()
    fold_scores: dict[int, list[dict[str, Any]]] = {}
    for seed in seeds:
        for fold in scored:
            path = out / fold_run_name(seed, fold)
            _train_fold(dataclasses.replace(base, seed=seed, fold=fold), path, echo)
            run = open_run_dir(path)
            if not (path / FOLD_SCORES).is_file():
                run.write_json(FOLD_SCORES, score_fold(path, device), strict=True)
            fold_scores.setdefault(seed, []).append(run.read_json(FOLD_SCORES))
    result = summarise(base, fold_scores, scored)
    result["wall_s_this_call"] = round(time.perf_counter() - started, 1)
    record.write_json("crossval.json", result, strict=True)
    return result


def _check_same_settings(record: RunDir, base: TrainSettings, seeds: list[int]) -> None:
    path = record.path / "crossval-settings.json"
    if not path.is_file():
        return
    saved = record.read_json("crossval-settings.json")
    # read as settings: a folder saved before a setting existed has that setting's old value
    theirs = TrainSettings.from_dict(saved["settings"], str(path)).to_dict()
    if theirs != base.to_dict():
        differ = sorted(k for k, v in base.to_dict().items() if theirs.get(k) != v)
        raise ConfigError(
            f"{path}: this folder cross-validates other settings ({', '.join(differ)} differ); "
            "give another --out, or the same settings to continue it"
        )
    if saved["seeds"] != seeds:
        raise ConfigError(f"{path}: seeds {saved['seeds']} here, not {seeds}; give the same seeds")


def pooled(fold_scores: dict[int, list[dict[str, Any]]]) -> tuple[np.ndarray, list, list]:
    """(S, T, K, K) confusions over every tile, tiles in one order (sorted ids) for all seeds;
    with the tile ids and their groups."""
    stacks, order = [], None
    for runs in fold_scores.values():
        by_tile = {
            t: (g, np.asarray(c))
            for r in runs
            for t, g, c in zip(r["tiles"], r["groups"], r["confusion"], strict=True)
        }
        order = order or sorted(by_tile)
        if sorted(by_tile) != order:
            raise ConfigError("the seeds' folds score different tiles; rerun with one data set")
        stacks.append(np.stack([by_tile[t][1] for t in order]))
    assert order is not None
    groups = [by_tile[t][0] for t in order]
    return np.stack(stacks), order, groups


def check_only(only: Sequence[int] | None, folds: int) -> list[int]:
    """The folds a call trains and scores: ``only`` checked (each in 0..folds-1, once, sorted)
    or, for None, every fold."""
    if only is None:
        return list(range(folds))
    wrong = sorted({k for k in only if not 0 <= k < folds})
    if wrong or not only or len(set(only)) != len(only):
        raise ConfigError(
            f"--only-folds {','.join(map(str, only))}: give distinct folds from 0 to "
            f"{folds - 1} (with --folds {folds}), e.g. --only-folds 0,1"
        )
    return sorted(only)


def summarise(
    base: TrainSettings,
    fold_scores: dict[int, list[dict[str, Any]]],
    scored: Sequence[int],
) -> dict:
    """crossval.json's content: pooled CV mIoU (interval over seeds and whole images), per-seed
    and per-fold scores, and the per-tile confusions a comparison pairs on. ``scored``: the
    folds the runs validate on (fewer than ``base.folds``: a screen)."""
    cm, tiles, groups = pooled(fold_scores)
    ci = interval(cm, groups=group_index(groups))
    per_seed = [float(scores(cm[s].sum(0))["miou"]) for s in range(len(cm))]
    n_images = len(set(groups))
    return strict(
        {
            "what": "cross-validated mIoU of last.pt, each tile scored by the run that never saw "
            "its image; pooled confusion over "
            + ("all tiles" if len(scored) == base.folds else "the tiles of the screened folds"),
            "data": base.data or "built-in",
            "folds": base.folds,
            "folds_scored": list(scored),
            "seeds": list(fold_scores),
            "settings": {k: v for k, v in base.to_dict().items() if k not in ("seed", "fold")},
            "images": n_images,
            "miou": ci.as_dict(),
            "miou_per_seed": per_seed,
            "miou_mean_std": mean_std(np.asarray(per_seed)),
            "fold_miou": {str(s): [r["miou"] for r in runs] for s, runs in fold_scores.items()},
            "note": few_images_note(n_images),
            "tiles": tiles,
            "groups": groups,
            "confusion": cm.tolist(),
        }
    )


def compare_crossvals(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Paired difference ``mine - other`` of two crossval.json contents (same data, folds and
    seeds): estimate and interval over seeds and whole images, on the tiles ``mine`` scored.
    ``other`` must have scored them all (a screen compares with a full cross-validation on its
    own folds' tiles; a full one needs another full one)."""
    for key in ("folds", "seeds", "data"):
        if mine[key] != other[key]:
            raise ConfigError(
                f"the two cross-validations differ in {key}; compare runs of the same data, "
                "folds and seeds"
            )
    where = {t: i for i, t in enumerate(other["tiles"])}
    missing = [t for t in mine["tiles"] if t not in where]
    if missing:
        raise ConfigError(
            f"the other cross-validation did not score {len(missing)} of these tiles (folds "
            f"{_scored(other)} against {_scored(mine)}); score its missing folds first "
            "(rerun it without --only-folds, or with the same --only-folds)"
        )
    a = np.asarray(mine["confusion"])
    b = np.asarray(other["confusion"])[:, [where[t] for t in mine["tiles"]]]  # (S, T, K, K)
    ci = interval(a, reference=b, groups=group_index(mine["groups"]))
    return strict({"difference": ci.as_dict(), "p_value": ci.p_value()})


def _scored(result: dict[str, Any]) -> list[int]:
    """The folds a crossval.json scored (one saved before screens existed: all)."""
    return list(result.get("folds_scored", range(result["folds"])))
