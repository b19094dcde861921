"""``hq-qiskit diagnose``: does a trained model use its quantum blocks?

For every site (``interventions.find_sites``: each quantum block, or a classical twin's
bottleneck core), on the tiles of a data split:

- the change in mIoU when the site's output is replaced at test time by its mean over the data,
  by other patches' outputs (shuffled) or by zeros, with a 95 % interval over draws that
  resample whole images (``statistics.bootstrap``; a tile's image from ``tile_images``);
- how far its parameters (a circuit's angles, radians) moved from their initial values: the
  model rebuilt from config.json with the run's seed, exactly as training built it;
- the RMS gradient per parameter at the site over that at the classical layers, on one batch
  of the data (``grad_ratio``);
- the spread of its outputs over the data: variance per output and effective rank.

``diagnose_run`` writes diagnose.json (atomically, strict JSON) and diagnose.png into the run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import ConfigError
from hq_qiskit.samplers import GridPatches
from hq_qiskit.training.grad_ratio import squared_norm
from hq_qiskit.training.interventions import (
    KINDS,
    Interventions,
    Site,
    find_sites,
    intervene,
    output_spread,
)
from hq_qiskit.training.loop import resolve_device
from hq_qiskit.training.restore import NoiseMode, build_from_config, restore
from hq_qiskit.training.statistics import bootstrap, scores
from hq_qiskit.training.tile_scores import open_evaluation, open_split, tile_images

Echo = Callable[[str], None]


def parameters_moved(
    model: nn.Module, initial: nn.Module, sites: list[Site]
) -> dict[str, dict[str, float]]:
    """Per site: {"n", "max_abs", "rms"} of (trained - initial) parameters (radians for
    angles), matched by state-dict name."""
    now, then = model.state_dict(), initial.state_dict()
    out = {}
    for site in sites:
        keys = [k for k in now if k.startswith(site.name + ".") and now[k].is_floating_point()]
        keys = [k for k in keys if k in then and then[k].shape == now[k].shape]
        if not keys:
            out[site.name] = {"n": 0, "max_abs": math.nan, "rms": math.nan}
            continue
        delta = torch.cat([(now[k].double() - then[k].double()).flatten() for k in keys])
        out[site.name] = {
            "n": int(delta.numel()),
            "max_abs": float(delta.abs().max()),
            "rms": float(delta.pow(2).mean().sqrt()),
        }
    return out


def gradient_ratios(
    model: nn.Module, sites: list[Site], patches: GridPatches, ignore_index: int, batch: int
) -> dict[str, dict[str, float | None]]:
    """Per site, for the cross-entropy of the first batch with labelled pixels (eval mode:
    batch norm uses its running statistics), against the classical layers (the parameters of
    no site): {"rms": RMS gradient per parameter at the site / at the classical layers,
    "relative": (||g|| / ||w||) at the site / at the classical layers}; None values for a
    site with no trainable parameter or no gradient."""
    device = next(model.parameters()).device
    loader = torch.utils.data.DataLoader(patches, batch_size=batch)
    x, y = next(((x, y) for x, y in loader if bool((y != ignore_index).any())), (None, None))
    if x is None:
        return {s.name: {"rms": None, "relative": None} for s in sites}
    model.eval()
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x.to(device)).float(), y.to(device), ignore_index=ignore_index)
        loss.backward()
    in_sites = {id(p) for s in sites for p in s.module.parameters()}
    classical = [p for p in model.parameters() if p.requires_grad and id(p) not in in_sites]
    sq_c = squared_norm(classical)
    n_c = sum(p.numel() for p in classical)
    w_c = _weight_norm(classical)
    out: dict[str, dict[str, float | None]] = {}
    for site in sites:
        own = [p for p in site.module.parameters() if p.requires_grad]
        sq = squared_norm(own)
        if sq is None or sq_c is None or float(sq_c) == 0:
            out[site.name] = {"rms": None, "relative": None}
            continue
        n = sum(p.numel() for p in own)
        w = _weight_norm(own)
        relative = (float(sq.sqrt()) / w) / (float(sq_c.sqrt()) / w_c) if w > 0 else None
        out[site.name] = {"rms": float(torch.sqrt((sq / n) / (sq_c / n_c))), "relative": relative}
    model.zero_grad(set_to_none=True)
    return out


def _weight_norm(params: list[nn.Parameter]) -> float:
    return float(torch.sqrt(sum(p.detach().double().pow(2).sum() for p in params)))


def miou_changes(
    result: Interventions, groups: np.ndarray, n_boot: int, seed: int = 0
) -> dict[str, dict[str, dict[str, float]]]:
    """Per site and kind: mIoU with the intervention and its change to the model as it is,
    with the 95 % image-bootstrap interval of the change (paired by tile)."""
    base = result.baseline[None]  # (1, T, K, K): one model
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, by_kind in result.confusions.items():
        out[name] = {}
        for kind, cm in by_kind.items():
            ci = bootstrap(cm[None], base, groups=groups, n_boot=n_boot, seed=seed)
            out[name][kind] = {
                "miou": float(scores(cm.sum(0))["miou"]),
                "delta": ci.estimate,
                "low": ci.low,
                "high": ci.high,
            }
    return out


def diagnose_model(
    model: nn.Module,
    initial: nn.Module,
    patches: GridPatches,
    images: list[str],
    *,
    num_classes: int,
    ignore_index: int,
    device: torch.device,
    batch_size: int = 16,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Everything ``hq-qiskit diagnose`` reports for ``model`` on ``patches`` (module
    docstring); ``initial`` is the same network with its initial weights, ``images`` the image
    of each tile of ``patches.tiles``."""
    sites = find_sites(model)
    if not sites:
        raise ConfigError(
            f"{type(model).__name__} has no quantum block and no bottleneck core to diagnose; "
            "diagnose a run with a quantum block or HQ-UNet's classical twin"
        )
    model.to(device).eval()
    groups = np.unique(np.asarray(images), return_inverse=True)[1]
    result = intervene(
        model, patches, sites, num_classes, ignore_index, device, batch_size=batch_size, seed=seed
    )
    changes = miou_changes(result, groups, n_boot, seed)
    moved = parameters_moved(model, initial, sites)
    ratios = gradient_ratios(model, sites, patches, ignore_index, batch_size)
    base = scores(result.baseline.sum(0))
    blocks = []
    for site in sites:
        spread = output_spread(result.outputs[site.name])
        blocks.append(
            {
                "name": site.name,
                "kind": "quantum" if site.quantum else "classical",
                "interventions": changes[site.name],
                "parameters_moved": moved[site.name],
                "grad_ratio": ratios[site.name]["rms"],
                "grad_ratio_relative": ratios[site.name]["relative"],
                "outputs": spread,
            }
        )
    return {
        "miou": float(base["miou"]),
        "oa": float(base["oa"]),
        "tiles": len(patches.tiles),
        "images": int(groups.max()) + 1,
        "patches": len(patches),
        "n_boot": n_boot,
        "kinds": list(KINDS),
        "blocks": blocks,
    }


def strict(obj: Any) -> Any:
    """``obj`` with every NaN or infinity replaced by None (for JSON with allow_nan=False)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


def diagnose_run(
    path: Path,
    *,
    data: Path | None = None,
    split: str = "val",
    checkpoint: str | None = None,
    noise: NoiseMode = "as_trained",
    device: str = "auto",
    n_boot: int = 2000,
    echo: Echo = print,
) -> dict[str, Any]:
    """Diagnose a run's checkpoint (as trained: noise kept) on a split; writes diagnose.json
    and diagnose.png into the run folder and returns the report."""
    from hq_qiskit.training.diagnose_report import figure

    restored = restore(path, checkpoint=checkpoint, noise=noise)
    cfg, model = restored.config, restored.model
    initial, _ = build_from_config(cfg, noise=noise)  # the weights training started from
    source, tiles, patches, _ = open_split(cfg, data, split)
    echo(
        f"diagnosing {restored.checkpoint} on {source} / {split}: "
        f"{len(tiles)} tiles, {len(patches)} patches"
    )
    report = diagnose_model(
        model,
        initial,
        patches,
        tile_images(tiles),
        num_classes=len(cfg.class_names),
        ignore_index=cfg.ignore_index,
        device=resolve_device(device),
        batch_size=cfg.batch_size,
        n_boot=n_boot,
        seed=cfg.seed,
    )
    run = Path(path) if Path(path).is_dir() else restored.checkpoint.parent
    report = {
        "run": str(run),
        "checkpoint": restored.checkpoint.name,
        "backend": restored.backend.name,
        "noise": noise,
        "data": source or "built-in",
        "split": split,
        **report,
    }
    report = strict(report)
    atomic_write(run / "diagnose.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    figure(report, run / "diagnose.png")
    return report


def score_interventions(
    run: Path,
    evaluation: dict[str, tuple[str | None, str]],
    *,
    device: str = "auto",
    seed: int = 0,
) -> dict[str, dict[str, dict[str, float]]]:
    """The ablation's intervention column for one run: per evaluation set, site and kind, the
    change in mIoU (all tiles pooled) when the site's output is replaced.

    Args:
        run: a run folder (its best checkpoint, as trained: noise kept).
        evaluation: name -> (data folder or None for the built-in sample, split), as for
            ``tile_scores.score_run_on_tiles``.
        device: where to run the model.
        seed: seed of the shuffle's permutation.

    Returns:
        name -> site -> {"mean", "shuffle", "zero"} -> ΔmIoU; name -> {} for a model with no
        site (e.g. HQ-UNet without a bottleneck core).
    """
    restored = restore(run)
    cfg, model = restored.config, restored.model
    dev = resolve_device(device)
    model.to(dev)
    sites = find_sites(model)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, (data, split) in evaluation.items():
        if not sites:
            out[name] = {}
            continue
        _, patches = open_evaluation(cfg, name, data, split)
        result = intervene(
            model,
            patches,
            sites,
            len(cfg.class_names),
            cfg.ignore_index,
            dev,
            batch_size=cfg.batch_size,
            seed=seed,
        )
        base = float(scores(result.baseline.sum(0))["miou"])
        out[name] = {
            site: {kind: float(scores(cm.sum(0))["miou"]) - base for kind, cm in kinds.items()}
            for site, kinds in result.confusions.items()
        }
    return out
