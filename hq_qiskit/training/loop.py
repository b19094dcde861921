"""The training loop: AdamW, warm-up + cosine learning rate, cross-entropy, one validation pass
per epoch, checkpoints and metrics after every epoch, engine-vs-Aer checks at start and end.

``fit`` is the whole run; the pieces before it (schedule, epochs, tile prediction) are usable on
their own.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from hq_qiskit.datasets.classes import class_colours
from hq_qiskit.device import resolve_device as _resolve_device
from hq_qiskit.models import HybridSegmenter
from hq_qiskit.samplers import EpochIndices, GridPatches, RandomPatches
from hq_qiskit.samplers.transforms import check_stats, normalise
from hq_qiskit.training.checkpoint import load_checkpoint, save_checkpoint
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.distributed import Dist, unwrap
from hq_qiskit.training.engine_check import engine_vs_aer
from hq_qiskit.training.grad_ratio import GradRatio
from hq_qiskit.training.losses import CrossEntropyDice
from hq_qiskit.training.metrics import Scores, SegmentationMetrics
from hq_qiskit.training.plots import plot_confusion, plot_curves, plot_overlays
from hq_qiskit.training.precision import (
    autocast,
    grad_scaler,
    memory_format,
    quantum_full_precision,
)
from hq_qiskit.training.run_dir import RunDir

ENGINE_TOLERANCE = 1e-4  # max |engine - Aer| above which a run prints a warning
OVERLAY_TILES = 3


def lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Learning-rate multiplier at optimiser step ``step`` of ``total``.

    Linear warm-up from 1/warmup to 1 over ``warmup`` steps, then cosine decay to ``min_ratio``.
    """
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: decay conv/linear weights (ndim >= 2); not biases, norms or circuit angles."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def resolve_device(name: str) -> torch.device:
    """ "auto" -> CUDA when available, else CPU; otherwise the checked ``torch.device(name)``."""
    return _resolve_device(name)


def global_mean_loss(loss_fn: nn.CrossEntropyLoss, logits: Tensor, y: Tensor, dist: Dist) -> Tensor:
    """Cross-entropy averaged over the valid pixels of the global batch, times the world size.

    Each process sums its pixels' (weighted) losses and divides by the global (weighted) count
    of valid pixels; DistributedDataParallel then averages the gradients over the processes
    (divides by the world size, hence the factor), so the step is the one a single process takes
    on the global batch, also when the processes' batches hold different numbers of ignored
    pixels. One process: ``loss_fn(logits, y)`` unchanged.
    """
    if not dist.active:
        return loss_fn(logits, y)
    valid = y != loss_fn.ignore_index  # (B, P, P)
    w = loss_fn.weight
    local = w[y[valid]].sum() if w is not None else valid.sum().to(logits.dtype)
    total = dist.sum(local.detach().reshape(1).to(logits.dtype))[0]
    summed = nn.functional.cross_entropy(
        logits,
        y,
        weight=w,
        ignore_index=loss_fn.ignore_index,
        reduction="sum",
        label_smoothing=loss_fn.label_smoothing,
    )
    return summed * dist.world_size / total


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.CrossEntropyLoss | CrossEntropyDice,
    cfg: TrainConfig,
    step: int,
    total_steps: int,
    device: torch.device,
    desc: str = "train",
    dist: Dist | None = None,
    scaler: torch.amp.GradScaler | None = None,
    grads: GradRatio | None = None,
) -> tuple[float, int]:
    """One pass over ``loader``; returns (mean loss, optimiser steps done so far).

    ``grads`` (optional) accumulates each step's angle / classical gradient norms.

    ``model`` may be wrapped in DistributedDataParallel (``dist`` says the world); the
    returned loss is then the mean over all processes. The forward pass runs under
    ``cfg.precision``'s autocast, the loss in float32; ``scaler`` scales it for "16-mixed".
    """
    dist = dist or Dist(device=device)
    scaler = scaler or grad_scaler(cfg.precision, device)
    model.train()
    losses: list[float] = []
    bar = tqdm(
        loader,
        desc=desc,
        unit="batch",
        leave=False,
        dynamic_ncols=True,
        disable=None if dist.is_main else True,
    )
    for x, y in bar:  # (B, 3, P, P), (B, P, P)
        valid = (y != cfg.ignore_index).sum().reshape(1)
        if int(dist.sum(valid)[0]) == 0:  # every process agrees, or DDP would wait forever
            continue  # every pixel ignore: no loss to learn from
        x = x.to(device, non_blocking=True, memory_format=memory_format(bool(cfg.channels_last)))
        y = y.to(device, non_blocking=True)
        lr = cfg.lr * lr_factor(step, total_steps, cfg.warmup_steps, cfg.min_lr_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(cfg.precision, device):
            logits = model(x)  # (B, K, P, P), bf16/fp16 under mixed precision
        if isinstance(loss_fn, CrossEntropyDice):  # both terms: those of the global batch
            loss = global_mean_loss(loss_fn.ce, logits.float(), y, dist)
            loss = loss + loss_fn.dice_term(logits.float(), y, dist.sum_differentiable)
        else:
            loss = global_mean_loss(loss_fn, logits.float(), y, dist)
        aux = unwrap(model).aux_loss()  # e.g. QMoE load balancing; None: no extra term
        if aux is not None:
            loss = loss + aux.float()
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if grads is not None:
            grads.update()
        scaler.step(optimizer)
        scaler.update()
        step += 1
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.3f}", lr=f"{lr:.2e}")
    return dist.mean(float(np.mean(losses)) if losses else math.nan), step


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    num_classes: int,
    ignore_index: int,
    device: torch.device,
    loss_fn: nn.Module | None = None,
    desc: str = "val",
    dist: Dist | None = None,
    precision: str = "32",
    channels_last: bool = False,
) -> tuple[Scores, float]:
    """Score ``model`` on every patch of ``loader``: (Scores, mean loss or NaN).

    With several processes (``dist``) each scores its share of the patches and the confusion
    matrices and losses are summed over the processes; every process gets the same result.
    """
    dist = dist or Dist(device=device)
    model.eval()
    metrics = SegmentationMetrics(num_classes, ignore_index)
    losses: list[float] = []
    for x, y in tqdm(
        loader,
        desc=desc,
        unit="batch",
        leave=False,
        dynamic_ncols=True,
        disable=None if dist.is_main else True,
    ):
        with autocast(precision, device):
            x = x.to(device, memory_format=memory_format(channels_last))
            logits = model(x).float()  # (B, K, P, P)
        metrics.update(logits.argmax(1), y)
        if loss_fn is not None and bool((y != ignore_index).any()):
            losses.append(float(loss_fn(logits, y.to(device)).detach()))
    if not dist.active:
        return metrics.compute(), (float(np.mean(losses)) if losses else math.nan)
    confusion = dist.sum(metrics.confusion_matrix())  # (K, K) pixel counts, all processes
    loss_sum, n = dist.sum(torch.tensor([sum(losses), len(losses)], dtype=torch.float64))
    return Scores.from_confusion(confusion), (float(loss_sum / n) if n else math.nan)


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


def _check_engine(
    model: HybridSegmenter, images: Tensor, when: str, echo: Callable[[str], None]
) -> dict[str, float]:
    dev = engine_vs_aer(model, images)
    if dev is None:
        return {}
    note = "" if dev <= ENGINE_TOLERANCE else f"  (WARNING: above {ENGINE_TOLERANCE:g})"
    echo(f"engine vs exact Aer at {when} ({len(images)} patches): max |diff| = {dev:.2e}{note}")
    return {f"engine_vs_aer_max_abs_{when}": dev}


def fit(
    cfg: TrainConfig,
    run: RunDir,
    model: nn.Module,
    train_patches: RandomPatches,
    val_patches: GridPatches,
    *,
    resume: bool = False,
    echo: Callable[[str], None] = tqdm.write,
    dist: Dist | None = None,
) -> dict[str, Any]:
    """Train ``model`` for ``cfg.epochs`` epochs into ``run``; returns the final report.

    With ``resume``, continues from ``run.last`` (model, optimiser, step, history, best, and
    the "16-mixed" loss scaler's scale and growth tracker).
    Writes after every epoch: last.pt, best.pt (when val mIoU improves), metrics.jsonl and
    curves.png; at the end: confusion.png, overlays.png and report.json for the best
    checkpoint.

    Data-parallel (``dist`` with several processes, ``train_patches`` holding this rank's
    share): the model trains inside DistributedDataParallel, each process scores its share of
    ``val_patches``, and only rank 0 reads and writes the run folder (the others receive what
    it read and wait while it writes). ``cfg.sync_batchnorm`` synchronises batch norm.

    ``cfg.precision`` "bf16-mixed" or "16-mixed" runs the classical layers under autocast and
    keeps the quantum blocks in their own float type (``training.precision``).
    """
    mixed = cfg.precision != "32"
    quantum = getattr(model, "quantum_modules", list)() if mixed else []
    with quantum_full_precision(quantum):
        return _fit(cfg, run, model, train_patches, val_patches, resume, echo, dist)


def _fit(cfg, run, model, train_patches, val_patches, resume, echo, dist) -> dict[str, Any]:
    """``fit``'s body, run inside its quantum precision guard."""
    dist = dist or Dist(device=resolve_device(cfg.device))
    device = dist.device
    if cfg.channels_last is None:  # a config from before the option: the model's choice
        cfg = dataclasses.replace(cfg, channels_last=bool(getattr(type(model), "channels_last", 0)))
    model.to(device, memory_format=memory_format(cfg.channels_last))  # 4-D weights only
    net = dist.wrap(model, cfg.sync_batchnorm)  # trains; ``model`` is scored and saved
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
    weight = None
    if cfg.class_weight_values is not None:
        weight = torch.tensor(cfg.class_weight_values, dtype=torch.float32, device=device)
    loss_fn = CrossEntropyDice(
        nn.CrossEntropyLoss(
            weight=weight, ignore_index=cfg.ignore_index, label_smoothing=cfg.label_smoothing
        ),
        cfg.dice,
    )
    loading = {  # workers live across epochs; pinned host memory when copying to a GPU
        "num_workers": cfg.workers,
        "persistent_workers": cfg.workers > 0,
        "pin_memory": device.type == "cuda",
    }
    train_loader = DataLoader(
        train_patches,
        batch_size=cfg.batch_size,
        sampler=EpochIndices(train_patches),  # tells persistent workers the epoch
        drop_last=len(train_patches) >= cfg.batch_size,
        **loading,
    )
    val_share = Subset(val_patches, range(dist.rank, len(val_patches), dist.world_size))
    val_loader = DataLoader(val_share, batch_size=cfg.batch_size, **loading)
    scaler = grad_scaler(cfg.precision, device)
    total_steps = cfg.epochs * len(train_loader)
    epoch, step, best, history = 0, 0, -math.inf, []
    state = None
    if resume:  # rank 0 reads last.pt; the others get it from rank 0
        state = dist.on_main(lambda: load_checkpoint(run.last) if run.last.exists() else None)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        epoch, step, best = state["epoch"], state["step"], state["best"]
        history = list(state["history"])
        torch.set_rng_state(state["torch_rng"])
        if scaler.is_enabled() and state.get("scaler"):  # "16-mixed": its loss scale goes on
            scaler.load_state_dict(state["scaler"])
        # drop lines of an epoch whose checkpoint never landed
        dist.on_main(lambda: run.write_metrics(history))
        echo(f"resuming {run.path} after epoch {epoch} of {cfg.epochs} (step {step})")

    def checkpoint_state() -> dict[str, Any]:
        return {
            "config": cfg.to_dict(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "step": step,
            "best": best,
            "history": history,
            "torch_rng": torch.get_rng_state(),
            "scaler": scaler.state_dict(),  # {} unless "16-mixed"
        }

    n_check = min(cfg.aer_check_samples, len(val_patches)) if dist.is_main else 0
    check_images = torch.stack([val_patches[i][0] for i in range(n_check)]) if n_check else None
    pending = _check_engine(model, check_images, "start", echo) if n_check else {}
    done = epoch
    grads = GradRatio(model)  # angle / classical gradient RMS per epoch, logged if any angle
    for epoch in range(done + 1, cfg.epochs + 1):  # checkpoint_state() reads epoch
        t0 = time.perf_counter()
        train_patches.set_epoch(epoch)
        grads.reset()
        train_loss, step = train_one_epoch(
            net,
            train_loader,
            optimizer,
            loss_fn,
            cfg,
            step,
            total_steps,
            device,
            desc=f"epoch {epoch}/{cfg.epochs}",
            dist=dist,
            scaler=scaler,
            grads=grads,
        )
        train_s = time.perf_counter() - t0
        scores, val_loss = evaluate(
            model,
            val_loader,
            len(cfg.class_names),
            cfg.ignore_index,
            device,
            loss_fn,
            dist=dist,
            precision=cfg.precision,
            channels_last=cfg.channels_last,
        )
        record = {
            "epoch": epoch,
            "step": step,
            "lr": cfg.lr
            * lr_factor(max(step - 1, 0), total_steps, cfg.warmup_steps, cfg.min_lr_ratio),
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_miou": scores.miou,
            "val_oa": scores.oa,
            "val_iou": dict(zip(cfg.class_names, scores.iou, strict=True)),
            "val_confusion": scores.confusion,
            "train_s": round(train_s, 2),
            "epoch_s": round(time.perf_counter() - t0, 2),
            **pending,
        }
        if grads.active:
            record["grad_ratio_quantum_classical"] = grads.value()
        pending = {}
        history.append(record)
        improved = not math.isnan(scores.miou) and scores.miou > best
        if improved:
            best = scores.miou
        snapshot = checkpoint_state() if dist.is_main else {}
        dist.on_main(lambda: _write_epoch(run, snapshot, improved))  # noqa: B023 (called now)
        echo(
            f"epoch {epoch}/{cfg.epochs}  train loss {train_loss:.4f}  val loss {val_loss:.4f}"
            f"  val mIoU {scores.miou:.4f}  OA {100 * scores.oa:.2f} %"
            f"  ({record['epoch_s']:.0f} s){'  *best' if improved else ''}"
        )
    if n_check and history:
        history[-1].update(_check_engine(model, check_images, "end", echo))
        save_checkpoint(run.last, checkpoint_state())
        run.write_metrics(history)
    return dist.on_main(lambda: finish(cfg, run, model, val_patches, history, device))


def _write_epoch(run: RunDir, state: dict[str, Any], improved: bool) -> None:
    """An epoch's files: best.pt (when improved), last.pt, metrics.jsonl, curves.png."""
    if improved:
        save_checkpoint(run.best, state)
    save_checkpoint(run.last, state)
    run.write_metrics(state["history"])
    plot_curves(state["history"], run / "curves.png")


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
