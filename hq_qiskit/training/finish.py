"""The end of a training run: the best checkpoint's confusion matrix, overlays and report.json.

``predict_tile`` labels one tile patch by patch, as the overlays show it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from hq_qiskit.datasets.classes import class_colours
from hq_qiskit.samplers import GridPatches
from hq_qiskit.samplers.transforms import check_stats, normalise
from hq_qiskit.training.checkpoint import load_checkpoint
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.metrics import Scores
from hq_qiskit.training.plots import plot_confusion, plot_overlays
from hq_qiskit.training.run_dir import RunDir

OVERLAY_TILES = 3


@torch.no_grad()
def predict_tile(
    model: nn.Module,
    image: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    patch_px: int,
    device: torch.device,
) -> np.ndarray:
    """Label a tile patch by patch (no overlap): image uint8 (3, T, T) -> classes (T', T').

    T' is T rounded down to a multiple of ``patch_px``; the model sees the patches it was
    trained on.
    """
    m, s = check_stats(mean, std, image.shape[0])
    n = image.shape[-1] // patch_px
    size = n * patch_px
    x = torch.from_numpy(normalise(image[:, :size, :size], m, s))  # (3, nP, nP)
    x = x.view(3, n, patch_px, n, patch_px).permute(1, 3, 0, 2, 4)  # (n, n, 3, P, P)
    model.eval()
    logits = model(x.reshape(n * n, 3, patch_px, patch_px).to(device))  # (n*n, K, P, P)
    labels = logits.argmax(1).cpu().view(n, n, patch_px, patch_px)
    return labels.permute(0, 2, 1, 3).reshape(size, size).numpy()  # (nP, nP)


def finish(
    cfg: TrainConfig,
    run: RunDir,
    model: nn.Module,
    val_patches: GridPatches,
    history: list[dict[str, Any]],
    device: torch.device,
) -> dict[str, Any]:
    """Load best.pt, draw confusion.png and overlays.png, write report.json; return the report."""
    if not history:
        return {}
    best_record = max(
        history, key=lambda r: -math.inf if math.isnan(r["val_miou"]) else r["val_miou"]
    )
    if run.best.exists():
        model.load_state_dict(load_checkpoint(run.best)["model"])
    scores = Scores.from_confusion(torch.tensor(best_record["val_confusion"]))
    plot_confusion(
        scores.confusion,
        cfg.class_names,
        run / "confusion.png",
        title=f"validation, best epoch {best_record['epoch']}",
    )
    tiles = val_patches.tiles
    overlays = []
    for i in range(min(OVERLAY_TILES, len(tiles))):
        image, mask = tiles.arrays(i)
        pred = predict_tile(model, image, cfg.mean, cfg.std, cfg.patch_px, device)
        size = pred.shape[0]
        overlays.append((tiles.ids[i], image[:, :size, :size], mask[:size, :size], pred))
    plot_overlays(
        overlays, cfg.class_names, class_colours(len(cfg.class_names)), run / "overlays.png"
    )
    checks = {k: v for r in history for k, v in r.items() if k.startswith("engine_vs_aer")}
    report = {
        "best_epoch": best_record["epoch"],
        "epochs": history[-1]["epoch"],
        "split": "val",
        "val": scores.as_dict(cfg.class_names),
        **checks,
    }
    run.write_json("report.json", report)
    report["text"] = scores.report(cfg.class_names)
    return report
