"""The training loop: AdamW, warm-up + cosine learning rate, cross-entropy, one validation pass
per epoch, checkpoints and metrics after every epoch, engine-vs-Aer checks at start and end.

``fit`` is the whole run; the pieces before it (schedule, epochs, tile prediction) are usable on
their own.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from hq_qiskit.device import resolve_device as _resolve_device
from hq_qiskit.models import HybridSegmenter
from hq_qiskit.samplers import EpochIndices, GridPatches, RandomPatches
from hq_qiskit.training.checkpoint import (
    load_checkpoint,
    restore_shot_generators,
    save_checkpoint,
    shot_generators,
)
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.distributed import Dist, unwrap
from hq_qiskit.training.engine_check import engine_vs_aer
from hq_qiskit.training.finish import finish, predict_tile  # noqa: F401 (predict_tile: re-export)
from hq_qiskit.training.grad_ratio import GradRatio
from hq_qiskit.training.losses import CrossEntropyDice
from hq_qiskit.training.metrics import Scores, SegmentationMetrics
from hq_qiskit.training.plots import plot_curves
from hq_qiskit.training.precision import (
    autocast,
    grad_scaler,
    memory_format,
    quantum_full_precision,
)
from hq_qiskit.training.run_dir import RunDir

ENGINE_TOLERANCE = 1e-4  # max |engine - Aer| above which a run prints a warning


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


@dataclasses.dataclass
class _Training:
    """What ``fit`` carries from epoch to epoch: the parts it built and how far the run is.

    ``net`` trains (DistributedDataParallel around ``model`` with several processes);
    ``model`` is scored and saved. ``epoch``, ``step``, ``best`` (val mIoU) and ``history``
    (one metrics record per epoch) are what a checkpoint stores and ``resume`` restores.
    """

    cfg: TrainConfig
    model: nn.Module
    net: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: CrossEntropyDice
    train_loader: DataLoader
    val_loader: DataLoader
    scaler: torch.amp.GradScaler
    total_steps: int
    dist: Dist
    epoch: int = 0
    step: int = 0
    best: float = -math.inf
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def checkpoint_state(self) -> dict[str, Any]:
        """The checkpoint of the run so far (last.pt / best.pt)."""
        return {
            "config": self.cfg.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "best": self.best,
            "history": self.history,
            "torch_rng": torch.get_rng_state(),
            "scaler": self.scaler.state_dict(),  # {} unless "16-mixed"
            "shot_rng": {k: g.get_state() for k, g in shot_generators(self.model).items()},
        }


def _fit(cfg, run, model, train_patches, val_patches, resume, echo, dist) -> dict[str, Any]:
    """``fit``'s body, run inside its quantum precision guard."""
    t = _setup(cfg, model, train_patches, val_patches, dist)
    cfg, dist = t.cfg, t.dist
    if resume:
        _resume(t, run, echo)
    n_check = min(cfg.aer_check_samples, len(val_patches)) if dist.is_main else 0
    check_images = torch.stack([val_patches[i][0] for i in range(n_check)]) if n_check else None
    pending = _check_engine(model, check_images, "start", echo) if n_check else {}
    done = t.epoch
    grads = GradRatio(model)  # angle / classical gradient RMS per epoch, logged if any angle
    for epoch in range(done + 1, cfg.epochs + 1):  # checkpoint_state() reads t.epoch
        t.epoch = epoch
        _run_epoch(t, run, train_patches, grads, pending, echo)
        pending = {}
    if n_check and t.history:
        t.history[-1].update(_check_engine(model, check_images, "end", echo))
        save_checkpoint(run.last, t.checkpoint_state())
        run.write_metrics(t.history)
    return dist.on_main(lambda: finish(cfg, run, model, val_patches, t.history, dist.device))


def _setup(cfg, model, train_patches, val_patches, dist: Dist | None) -> _Training:
    """Put ``model`` on the device and build the optimiser, loss, loaders and loss scaler.

    A config from before ``channels_last`` existed takes the model's choice. The training
    loader draws this rank's patches with ``EpochIndices``; the validation loader reads every
    ``world_size``-th patch from ``rank`` on.
    """
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
    return _Training(
        cfg, model, net, optimizer, loss_fn, train_loader, val_loader, scaler, total_steps, dist
    )


def _resume(t: _Training, run: RunDir, echo: Callable[[str], None]) -> None:
    """Continue from ``run.last`` if it exists: model, optimiser, progress, RNGs (torch's and
    the shot generators), loss scale."""
    dist = t.dist  # rank 0 reads last.pt; the others get it from rank 0
    state = dist.on_main(lambda: load_checkpoint(run.last) if run.last.exists() else None)
    if state is None:
        return
    t.model.load_state_dict(state["model"])
    t.optimizer.load_state_dict(state["optimizer"])
    t.epoch, t.step, t.best = state["epoch"], state["step"], state["best"]
    t.history = list(state["history"])
    torch.set_rng_state(state["torch_rng"])
    restore_shot_generators(t.model, state.get("shot_rng", {}))
    if t.scaler.is_enabled() and state.get("scaler"):  # "16-mixed": its loss scale goes on
        t.scaler.load_state_dict(state["scaler"])
    # drop lines of an epoch whose checkpoint never landed
    dist.on_main(lambda: run.write_metrics(t.history))
    echo(f"resuming {run.path} after epoch {t.epoch} of {t.cfg.epochs} (step {t.step})")


def _run_epoch(
    t: _Training,
    run: RunDir,
    train_patches: RandomPatches,
    grads: GradRatio,
    pending: dict[str, float],
    echo: Callable[[str], None],
) -> None:
    """Epoch ``t.epoch``: train, validate, append its record (with ``pending`` engine checks),
    write last.pt / best.pt / metrics.jsonl / curves.png on rank 0 and print one line."""
    cfg, epoch, t0 = t.cfg, t.epoch, time.perf_counter()
    train_patches.set_epoch(epoch)
    grads.reset()
    train_loss, t.step = train_one_epoch(
        t.net,
        t.train_loader,
        t.optimizer,
        t.loss_fn,
        cfg,
        t.step,
        t.total_steps,
        t.dist.device,
        desc=f"epoch {epoch}/{cfg.epochs}",
        dist=t.dist,
        scaler=t.scaler,
        grads=grads,
    )
    train_s = time.perf_counter() - t0
    scores, val_loss = evaluate(
        t.model,
        t.val_loader,
        len(cfg.class_names),
        cfg.ignore_index,
        t.dist.device,
        t.loss_fn,
        dist=t.dist,
        precision=cfg.precision,
        channels_last=cfg.channels_last,
    )
    lr_now = lr_factor(max(t.step - 1, 0), t.total_steps, cfg.warmup_steps, cfg.min_lr_ratio)
    record = {
        "epoch": epoch,
        "step": t.step,
        "lr": cfg.lr * lr_now,
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
    t.history.append(record)
    improved = not math.isnan(scores.miou) and scores.miou > t.best
    if improved:
        t.best = scores.miou
    snapshot = t.checkpoint_state() if t.dist.is_main else {}
    t.dist.on_main(lambda: _write_epoch(run, snapshot, improved))
    echo(
        f"epoch {epoch}/{cfg.epochs}  train loss {train_loss:.4f}  val loss {val_loss:.4f}"
        f"  val mIoU {scores.miou:.4f}  OA {100 * scores.oa:.2f} %"
        f"  ({record['epoch_s']:.0f} s){'  *best' if improved else ''}"
    )


def _write_epoch(run: RunDir, state: dict[str, Any], improved: bool) -> None:
    """An epoch's files: best.pt (when improved), last.pt, metrics.jsonl, curves.png."""
    if improved:
        save_checkpoint(run.best, state)
    save_checkpoint(run.last, state)
    run.write_metrics(state["history"])
    plot_curves(state["history"], run / "curves.png")
