"""Figures of a run, written as PNG (matplotlib, Agg backend, atomic write).

curves.png      train/val loss, val mIoU and OA per epoch
confusion.png   row-normalised confusion matrix with class names and pixel counts
overlays.png    validation tiles: image, truth, prediction, with a class colour legend
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from hq_qiskit.atomic import atomic_write  # noqa: E402


def save_png(fig, path: Path) -> Path:
    """Write ``fig`` to ``path`` as PNG (110 dpi, tight box) atomically and close it.

    Returns:
        ``path`` as a Path.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue())
    return Path(path)


def plot_curves(history: Sequence[dict[str, Any]], path: Path) -> Path:
    """Loss (train, val) and val mIoU / OA against epoch, from metrics.jsonl records."""
    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, label in (("train_loss", "train"), ("val_loss", "val")):
        ax_loss.plot(epochs, [r.get(key, math.nan) for r in history], marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    for key, label in (("val_miou", "val mIoU"), ("val_oa", "val OA")):
        ax_score.plot(epochs, [r.get(key, math.nan) for r in history], marker="o", label=label)
    ax_score.set(xlabel="epoch", ylabel="score", title="validation", ylim=(0, 1))
    ax_score.legend()
    for ax in (ax_loss, ax_score):
        ax.grid(alpha=0.3)
        if epochs:
            ax.set_xticks(epochs if len(epochs) <= 20 else epochs[:: max(1, len(epochs) // 10)])
    return save_png(fig, path)


def plot_confusion(
    confusion: Sequence[Sequence[int]], class_names: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Confusion matrix (rows truth, columns prediction), coloured by row share, counts printed."""
    cm = np.asarray(confusion, dtype=np.float64)  # (K, K) pixel counts
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)  # row-normalised
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.2 * k + 2.5, 1.0 * k + 1.8))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=35, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set(xlabel="predicted class", ylabel="true class", title=title or "confusion (row share)")
    for i in range(k):
        for j in range(k):
            colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(
                j,
                i,
                f"{share[i, j]:.2f}\n{int(cm[i, j])}",
                ha="center",
                va="center",
                fontsize=7,
                color=colour,
            )
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of true-class pixels")
    return save_png(fig, path)


def colourise(mask: np.ndarray, colours: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """Class mask (H, W) -> RGB uint8 (H, W, 3); ignore (out-of-range) pixels grey."""
    lut = np.full((256, 3), 128, dtype=np.uint8)
    lut[: len(colours)] = np.asarray(colours, dtype=np.uint8)
    return lut[np.clip(mask, 0, 255).astype(np.uint8)]


def plot_overlays(
    tiles: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    class_names: Sequence[str],
    colours: Sequence[tuple[int, int, int]],
    path: Path,
) -> Path:
    """One row per tile: image, truth, prediction blended over the image.

    Args:
        tiles: (id, image uint8 (3, H, W), truth (H, W), prediction (H, W)) per tile.
        class_names: one name per class, for the legend.
        colours: one RGB colour per class.
        path: the PNG to write.
    """
    n = max(len(tiles), 1)
    fig, axes = plt.subplots(n, 3, figsize=(10, 3.4 * n), squeeze=False)
    for row, (tile_id, image, truth, pred) in zip(axes, tiles, strict=False):
        rgb = np.moveaxis(image, 0, -1)  # (H, W, 3)
        blend = (0.5 * rgb + 0.5 * colourise(pred, colours)).astype(np.uint8)
        for ax, img, title in zip(
            row,
            (rgb, colourise(truth, colours), blend),
            (f"{tile_id}: image", "truth", "prediction over image"),
            strict=True,
        ):
            ax.imshow(img)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    handles = [
        Patch(color=np.asarray(c) / 255, label=name)
        for name, c in zip(class_names, colours, strict=False)
    ]
    handles.append(Patch(color=(0.5, 0.5, 0.5), label="ignore"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save_png(fig, path)
