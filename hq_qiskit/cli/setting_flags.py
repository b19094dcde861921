"""Command-line options generated from the training settings (``TrainSettings``), as
``model_flags.py`` generates them from the models: one definition per setting, its default
the field's, so ``train`` and ``ablation`` share each option (``setting_options``) and read
them back the same way (``settings_from``). ``--loader-workers`` is the DataLoader's worker
processes (the field ``workers``); ``--workers`` on other commands counts Dask processes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import click

from hq_qiskit.cli.validate import FINITE_FLOAT
from hq_qiskit.training.config import TrainSettings

# the settings of the recipe (what is trained and how), shared by train and crossval
RECIPE = (
    "epochs",
    "patches_per_epoch",
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_steps",
    "min_lr_ratio",
    "class_weights",
    "jitter",
    "label_smoothing",
    "dice",
)
# TrainSettings field -> (flags, click keywords); the default is the field's
_T = TrainSettings()
SETTING_FLAGS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "seed": (("--seed",), {"help": "Seed for weights, circuit angles and patch sampling."}),
    "epochs": (("--epochs",), {"help": "Passes over --patches-per-epoch random patches."}),
    "patches_per_epoch": (
        ("--patches-per-epoch",),
        {"help": "Random training patches drawn per epoch (flips and 90-degree turns)."},
    ),
    "batch_size": (
        ("--batch-size",),
        {"help": "Patches per optimiser step (per process under torchrun)."},
    ),
    "lr": (("--lr",), {"help": "AdamW peak learning rate."}),
    "weight_decay": (
        ("--weight-decay",),
        {"help": "AdamW weight decay of conv/linear weights (not biases, norms, angles)."},
    ),
    "warmup_steps": (
        ("--warmup-steps",),
        {"help": "Linear warm-up steps before the cosine decay."},
    ),
    "min_lr_ratio": (("--min-lr-ratio",), {"help": "Final learning rate as a fraction of --lr."}),
    "class_weights": (
        ("--class-weights",),
        {
            "help": "Cross-entropy class weights: none, balanced (from training masks) or one "
            "number per class, e.g. 1,2,1,1,3."
        },
    ),
    "jitter": (
        ("--jitter",),
        {
            "help": "Photometric jitter of training patches, 0 (off) to 1: brightness, "
            "contrast, saturation and per-band gain/offset drawn per patch (flips and turns "
            "are always on)."
        },
    ),
    "label_smoothing": (
        ("--label-smoothing",),
        {"help": "Cross-entropy label smoothing, 0 (off) to < 1."},
    ),
    "dice": (
        ("--dice",),
        {
            "help": "Weight of a soft Dice loss added to the cross-entropy (0: off). Dice "
            "weighs every class alike, as mIoU does, so rare classes (buildings, roads) count "
            "more."
        },
    ),
    "shots": (
        ("--shots",),
        {
            "type": int,
            "help": "Noisy backends: shots per Pauli term the quantum blocks sample in "
            "training and evaluation (gradients of the exact noisy mean); 0 gives the exact "
            "noisy values; ideal backends stay exact. [default: the backend entry's shots]",
        },
    ),
    "folds": (
        ("--folds",),
        {
            "help": "0: train on the data's train split, validate on its val split. K >= 2: "
            "pool every tile and split it into K folds of whole images (Dubai: whole "
            "regions), train on K-1 and validate on --fold; one run of `hq-qiskit crossval`."
        },
    ),
    "fold": (("--fold",), {"help": "The fold that validates, 0..K-1 (with --folds K)."}),
    "train_also": (
        ("--train-also",),
        {
            "multiple": True,
            "type": click.Path(exists=True, file_okay=False),
            "help": "A folder whose every image joins the training tiles and is never "
            "validated on (another domain, e.g. the Dubai regions beside LoveDA); repeatable.",
        },
    ),
    "noise_scale": (
        ("--noise-scale",),
        {
            "help": "Noisy backends: every error of the device noise (gate errors, 1/T1 and "
            "1/T2, readout) times this factor, in training and in the rebuilt run (0: none, "
            "1: the device's own)."
        },
    ),
    "val_stride_px": (
        ("--val-stride-px",),
        {"type": int, "help": "Stride of the validation patch grid. [default: the patch side]"},
    ),
    "aer_check_samples": (
        ("--aer-check-samples",),
        {
            "help": "Patches whose quantum outputs are checked against exact Aer at start and "
            "end of a run (0: off)."
        },
    ),
    "workers": (
        ("--loader-workers", "workers"),
        {
            "help": "DataLoader worker processes that read and augment patches for each "
            "training process (0: read in the training process)."
        },
    ),
    "precision": (
        ("--precision",),
        {
            "type": click.Choice(["32", "bf16-mixed", "16-mixed"]),
            "help": "Classical layers under autocast (bf16/fp16); quantum blocks stay float32/64.",
        },
    ),
    "channels_last": (
        ("--channels-last/--no-channels-last",),
        {
            "help": "Conv weights and batches in channels-last (NHWC) memory format, which GPU "
            "convolutions under mixed precision prefer. [default: the model's choice: on for "
            "hq-unet (0.67x the CPU time per step, docs/benchmarks.md), off for hqf-net]"
        },
    ),
    "sync_batchnorm": (
        ("--sync-batchnorm",),
        {
            "is_flag": True,
            "help": "Under torchrun: batch norm over the global batch of all processes.",
        },
    ),
}


def setting_options(*names: str) -> Callable[[Callable], Callable]:
    """Decorator: the options of the ``TrainSettings`` fields ``names`` (``SETTING_FLAGS``),
    in that order, each defaulting to the field's default (shown when it is not None)."""

    def decorate(command: Callable) -> Callable:
        for name in reversed(names):
            flags, keywords = SETTING_FLAGS[name]
            default = getattr(_T, name)
            keywords = {"default": default, "show_default": default is not None, **keywords}
            if default is not None and "type" not in keywords and not keywords.get("is_flag"):
                keywords["type"] = FINITE_FLOAT if isinstance(default, float) else type(default)
            command = click.option(*flags, **keywords)(command)
        return command

    return decorate


def settings_from(opts: dict[str, Any], **given: Any) -> TrainSettings:
    """The ``TrainSettings`` of a command's parsed options: ``given`` first, then every option
    named as a field, the rest at their defaults."""
    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    values = {k: v for k, v in opts.items() if k in fields - set(given)}
    if "train_also" in values:  # click's multiple: a tuple, empty when not given
        values["train_also"] = [str(p) for p in values["train_also"]] or None
    return TrainSettings(**values, **given)
