"""Shared test helpers: scores recomputed outside hq-qiskit's own evaluation path, and the
rule that a test needing ``../shared/`` fails under CI instead of skipping."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared"  # ../shared/ beside the checkout


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def shared_dir() -> Path:
    """``../shared/`` (real data and weights kept beside the checkout). Missing, the test is
    skipped on a developer's machine and FAILS under CI (``CI=true``), where it must exist."""
    if not SHARED.is_dir():
        reason = f"needs {SHARED} (../shared/ beside the checkout)"
        if under_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    return SHARED


TINY_SPLITS = {"train": ["1_2"], "val": ["6_2"], "test": ["6_2"]}


def copy_loveda_tiles(
    root: Path, splits: dict[str, list[str]] | None = None, *, lists: bool = True
) -> Path:
    """A LoveDA-layout folder ``root`` (images_png/, masks_png/) holding copies of built-in
    tiles, split by ``splits`` (default: train 1_2, val and test 6_2), with a <split>.txt per
    split unless ``lists`` is False (a plain image/mask folder)."""
    from hq_qiskit.datasets import builtin_data_dir

    splits = TINY_SPLITS if splits is None else splits
    tiles = sorted({t for ids in splits.values() for t in ids})
    for sub in ("images_png", "masks_png"):
        (root / sub).mkdir(parents=True)
        for tile in tiles:
            shutil.copy(builtin_data_dir() / sub / f"{tile}.png", root / sub / f"{tile}.png")
    if lists:
        for split, ids in splits.items():
            (root / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return root


@pytest.fixture(scope="session")
def tiny_loveda():
    """``tiny_loveda(root, splits=None, lists=True)``: ``copy_loveda_tiles``, the small
    LoveDA-layout dataset the training, evaluation and CLI tests train on."""
    return copy_loveda_tiles


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI, a test skipped for want of ``../shared/`` (however it skips) is a failure."""
    outcome = yield
    report = outcome.get_result()
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if report.skipped and under_ci() and "shared/" in reason:
        report.outcome = "failed"
        report.longrepr = f"CI=true: a test that needs ../shared/ may not skip: {reason}"


def rebuild(checkpoint: Path) -> tuple[torch.nn.Module, dict]:
    """A run's model from its checkpoint file, built from the registry (not from hq-qiskit's
    restore code), in eval mode; for ideal (noiseless) runs."""
    from hq_qiskit.models import build_model

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    config = state["config"]
    model = build_model(config["model"], config["model_options"])
    model.load_state_dict(state["model"])
    return model.eval(), config


def loveda_tile(folder: Path, tile: str) -> tuple[np.ndarray, np.ndarray]:
    """A built-in LoveDA tile read with PIL: image uint8 (3, 512, 512), mask in LandCover.ai's
    classes (255 = ignore). ``tile`` is ``<stem>_<k>`` (k row-major in a 1024-px image)."""
    from PIL import Image

    from hq_qiskit.datasets.classes import LOVEDA_TO_LANDCOVERAI

    stem, _, k = tile.rpartition("_")
    image = np.asarray(Image.open(folder / "images_png" / f"{tile}.png"))
    raw = np.asarray(Image.open(folder / "masks_png" / f"{tile}.png"))
    if image.shape[0] != 512:  # a 1024-px image: tile k of four
        y, x = 512 * (int(k) // 2), 512 * (int(k) % 2)
        image, raw = image[y : y + 512, x : x + 512], raw[y : y + 512, x : x + 512]
    lut = np.full(256, 255, dtype=np.uint8)
    for value, cls in LOVEDA_TO_LANDCOVERAI.items():
        lut[value] = cls
    return np.ascontiguousarray(image.transpose(2, 0, 1)), lut[raw]


def patch_logits(model, config: dict, image: np.ndarray, corners, patch_px: int) -> np.ndarray:
    """Logits (N, K, P, P) of the model on patches of ``image`` (3, H, W) uint8 at (y, x)
    corners, normalised with the run's mean and std (0..255 scale)."""
    mean = np.asarray(config["mean"], dtype=np.float32)[:, None, None]
    std = np.asarray(config["std"], dtype=np.float32)[:, None, None]
    x = np.stack([image[:, y : y + patch_px, c : c + patch_px] for y, c in corners])
    x = (x.astype(np.float32) - mean) / std
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def predict_patches(model, config: dict, image: np.ndarray, corners, patch_px: int) -> np.ndarray:
    """Labels (N, P, P) of the model on patches of ``image`` (3, H, W) at (y, x) corners."""
    return patch_logits(model, config, image, corners, patch_px).argmax(1)


def scores(pred: np.ndarray, truth: np.ndarray, n_classes: int) -> dict:
    """mIoU, OA and confusion (rows truth) from labels with numpy; 255 in truth is ignored; a
    class absent from truth and prediction is left out of the mean."""
    keep = truth != 255
    cm = np.bincount(
        truth[keep].astype(np.int64) * n_classes + pred[keep], minlength=n_classes**2
    ).reshape(n_classes, n_classes)
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - tp
    iou = tp[union > 0] / union[union > 0]
    return {"miou": float(iou.mean()), "oa": float(tp.sum() / cm.sum()), "confusion": cm.tolist()}


def grid(size_px: int, patch_px: int) -> list[tuple[int, int]]:
    """Corners of the non-overlapping patch grid of a tile whose side ``patch_px`` divides."""
    assert size_px % patch_px == 0
    return [(y, x) for y in range(0, size_px, patch_px) for x in range(0, size_px, patch_px)]


@pytest.fixture
def independent() -> SimpleNamespace:
    """Helpers to recompute a run's scores without its sampler, evaluation loop or metrics."""
    return SimpleNamespace(
        rebuild=rebuild,
        loveda_tile=loveda_tile,
        patch_logits=patch_logits,
        predict_patches=predict_patches,
        scores=scores,
        grid=grid,
    )


def save_untrained_hq_unet(
    path: Path,
    mean: list[float],
    std: list[float],
    edit: Callable[[torch.nn.Module], None] | None = None,
) -> Path:
    """Write an untrained HQ-UNet checkpoint (width 4, depth 2, 64-px patches, quantum
    bottleneck, seed 0, five LoveDA-like classes) to ``path``, its folder made if missing.

    Args:
        path: checkpoint file to write, e.g. ``tmp/run/best.pt``.
        mean, std: per-band normalisation (raw 0-255 scale) stored in its config.
        edit: changes the model's weights before saving (run under ``torch.no_grad``).
    """
    from hq_qiskit.models import HQUNet
    from hq_qiskit.training.checkpoint import save_checkpoint

    options = {"width": 4, "depth": 2, "patch_px": 64, "bottleneck": "quantum"}
    torch.manual_seed(0)
    model = HQUNet(num_classes=5, **options)
    if edit is not None:
        with torch.no_grad():
            edit(model)
    config = {
        "model": "hq-unet",
        "model_options": options,
        "mean": mean,
        "std": std,
        "class_names": ["background", "building", "woodland", "water", "road"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, {"config": config, "model": model.state_dict()})
    return path


@pytest.fixture(scope="session")
def untrained_hq_unet() -> Callable[..., Path]:
    """``save_untrained_hq_unet``: a real, untrained HQ-UNet checkpoint written where asked."""
    return save_untrained_hq_unet
