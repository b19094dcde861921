"""Per-tile confusion matrices of a trained run on any split of any data folder.

The ablation keeps one (K, K) matrix per evaluation tile and the tiles' ids, so
``statistics.interval`` can resample whole images; summed over tiles they give exactly the
scores ``evaluate`` reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from hq_qiskit.datasets import Tiles, open_tiles
from hq_qiskit.errors import DataError
from hq_qiskit.samplers import GridPatches
from hq_qiskit.training.data import open_scored
from hq_qiskit.training.loop import resolve_device
from hq_qiskit.training.restore import restore
from hq_qiskit.training.statistics import image_of, scores


def check_same_classes(flag: str, tiles: Tiles, classes: list[str]) -> None:
    """Refuse evaluation tiles whose classes differ from the training data's."""
    if list(tiles.classes) != list(classes):
        raise DataError(
            f"{flag}: classes {', '.join(tiles.classes)} differ from the training data's "
            f"({', '.join(classes)}); give a folder labelled with the same classes"
        )


def scoring_grid(cfg: Any, tiles: Tiles) -> GridPatches:
    """The windows a run's scores come from: its patch side, side by side (no overlap), each
    normalised with the run's training statistics (``cfg``: its TrainConfig). ``predict``
    blends overlapping windows instead, about 0.01 mIoU better on the default's folds
    (docs/science.md, "Stop 34"); every score keeps this grid so scores stay comparable."""
    return GridPatches(tiles, cfg.patch_px, cfg.patch_px, mean=cfg.mean, std=cfg.std)


def tile_images(tiles: Tiles) -> list[str]:
    """The unit each tile is resampled with: the dataset's own group (a LoveDA image, a
    LandCover.ai sheet, a Dubai region) where it has one; else its source file when several
    tiles share one file, else the name rule of ``statistics.image_of``."""
    groups = getattr(tiles, "groups", None)
    if groups is not None:
        return [str(g) for g in groups]
    out = []
    for i, tile_id in enumerate(tiles.ids):
        ref = tiles.refs[i] if hasattr(tiles, "refs") else None
        path = getattr(ref, "image", None)
        shared = path is not None and Path(path).stem != tile_id
        out.append(str(path) if shared else image_of(tile_id))
    return out


def open_split(
    cfg: Any, data: Path | str | None, split: str, class_map: Mapping[int, int] | None = None
) -> tuple[str, Any, GridPatches, np.ndarray]:
    """(source name, tiles, patches, image group index per tile) of the split a trained run
    (``cfg``: its TrainConfig) is scored on: ``data`` (None: the run's own data) or a fold
    run's own fold (``open_scored``); refused when empty or of other classes. ``class_map``
    maps the folder's raw mask values (None: the run's own map on its own data, else the
    layout's). Shared by evaluate, diagnose, admit and budget."""
    source = str(Path(data).resolve()) if data is not None else cfg.data
    if class_map is None and source == cfg.data:
        class_map = cfg.class_map_ints  # the run's own data: the run's own map
    tiles = open_scored(cfg, source, split, class_map)
    if len(tiles) == 0:
        raise DataError(f"--data {source or 'built-in'}: the {split} split has no tiles")
    check_same_classes(f"--data {source or 'built-in'} ({split})", tiles, cfg.class_names)
    patches = scoring_grid(cfg, tiles)
    groups = np.unique(np.asarray(tile_images(tiles)), return_inverse=True)[1]
    return source or "built-in", tiles, patches, groups


def open_evaluation(cfg: Any, name: str, data: str | None, split: str) -> tuple[Tiles, GridPatches]:
    """The tiles of one named evaluation set (``data`` None: the built-in sample) and the grid a
    run (``cfg``: its TrainConfig) is scored on; refused when of other classes than the run's."""
    tiles = open_tiles(data, split)
    check_same_classes(f"{name} ({data or 'built-in'}, {split})", tiles, cfg.class_names)
    return tiles, scoring_grid(cfg, tiles)


@torch.no_grad()
def tile_confusions(
    model: torch.nn.Module,
    patches: GridPatches,
    num_classes: int,
    ignore_index: int,
    device: torch.device,
    batch_size: int = 16,
) -> np.ndarray:
    """(T, K, K) pixel counts, one matrix per tile of ``patches.tiles`` (rows truth)."""
    model.eval()
    k = num_classes
    out = torch.zeros(len(patches.tiles) * k * k, dtype=torch.int64)
    tile_of = torch.tensor([t for t, _, _ in patches.index], dtype=torch.int64)
    loader = DataLoader(patches, batch_size=batch_size)
    done = 0
    for x, y in loader:  # (B, 3, P, P), (B, P, P); GridPatches is ordered, no shuffle
        pred = model(x.to(device)).argmax(1).cpu()  # (B, P, P)
        tile = tile_of[done : done + len(x)][:, None, None].expand_as(y)
        done += len(x)
        keep = y != ignore_index
        idx = (tile * k + y) * k + pred  # flat (tile, truth, prediction)
        out += torch.bincount(idx[keep], minlength=out.numel())
    return out.view(len(patches.tiles), k, k).numpy()


def score_run_on_tiles(
    run: Path,
    evaluation: dict[str, tuple[str | None, str]],
    *,
    device: str = "auto",
) -> dict[str, dict[str, Any]]:
    """Per-tile scores of a run's best checkpoint (as trained: noise kept) on each data split.

    Args:
        run: a run folder.
        evaluation: name -> (data folder or None for the built-in sample, split).
        device: where to run the model.

    Returns:
        name -> {"data", "split", "tiles" (ids), "groups" (each tile's image or region),
        "confusion" (T x K x K list), "miou", "oa",
        "iou" (class -> IoU or None)}: scores of the tiles' summed matrix.
    """
    restored = restore(run)
    cfg, model = restored.config, restored.model
    dev = resolve_device(device)
    model.to(dev)
    out = {}
    for name, (data, split) in evaluation.items():
        tiles, patches = open_evaluation(cfg, name, data, split)
        cm = tile_confusions(
            model, patches, len(cfg.class_names), cfg.ignore_index, dev, cfg.batch_size
        )
        s = scores(cm.sum(0))
        out[name] = {
            "data": data or "built-in",
            "split": split,
            "tiles": list(tiles.ids),
            "groups": list(tiles.groups),  # the unit resampled: an image, a sheet, a region
            "confusion": cm.tolist(),
            "miou": float(s["miou"]),
            "oa": float(s["oa"]),
            "iou": {
                c: None if np.isnan(v) else float(v)
                for c, v in zip(cfg.class_names, s["iou"], strict=True)
            },
        }
    return out
