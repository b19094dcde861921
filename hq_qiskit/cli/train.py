"""``hq-qiskit train``: train a model into a run folder, or continue one with --resume."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.model_flags import model_flags, model_options_from
from hq_qiskit.cli.options import (
    aer_check_option,
    backend_option,
    batch_size_option,
    class_map_option,
    data_option,
    device_option,
    epochs_option,
    loader_workers_option,
    lr_option,
    overwrite_option,
    patches_per_epoch_option,
    seed_option,
    val_stride_option,
)
from hq_qiskit.datasets.classes import read_class_map
from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS
from hq_qiskit.training.config import TrainSettings
from hq_qiskit.training.runner import resume_training, start_training

_D = TrainSettings()  # training defaults, shown by --help

# Options --resume may change; every other setting comes from the run's config.json.
RESUME_OPTIONS = ("resume", "epochs", "device", "workers")


@click.command("train")
@click.option(
    "--model",
    type=click.Choice(sorted(MODELS)),
    default="hq-unet",
    show_default=True,
    help="Network to train.",
)
@model_flags
@backend_option
@data_option
@seed_option
@epochs_option
@patches_per_epoch_option
@batch_size_option
@lr_option
@click.option(
    "--weight-decay",
    type=float,
    default=_D.weight_decay,
    show_default=True,
    help="AdamW weight decay of conv/linear weights (not biases, norms, angles).",
)
@click.option(
    "--warmup-steps",
    type=int,
    default=_D.warmup_steps,
    show_default=True,
    help="Linear warm-up steps before the cosine decay.",
)
@click.option(
    "--min-lr-ratio",
    type=float,
    default=_D.min_lr_ratio,
    show_default=True,
    help="Final learning rate as a fraction of --lr.",
)
@click.option(
    "--class-weights",
    default=_D.class_weights,
    show_default=True,
    help="Cross-entropy class weights: none, balanced (from training masks) or one "
    "number per class, e.g. 1,2,1,1,3.",
)
@click.option(
    "--jitter",
    type=float,
    default=_D.jitter,
    show_default=True,
    help="Photometric jitter of training patches, 0 (off) to 1: brightness, contrast, "
    "saturation and per-band gain/offset drawn per patch (flips and turns are always on).",
)
@click.option(
    "--label-smoothing",
    type=float,
    default=_D.label_smoothing,
    show_default=True,
    help="Cross-entropy label smoothing, 0 (off) to < 1.",
)
@click.option(
    "--dice",
    type=float,
    default=_D.dice,
    show_default=True,
    help="Weight of a soft Dice loss added to the cross-entropy (0: off). Dice weighs every "
    "class alike, as mIoU does, so rare classes (buildings, roads) count more.",
)
@class_map_option
@click.option(
    "--shots",
    type=int,
    default=None,
    help="Noisy backends: shots per Pauli term the quantum blocks sample in training and "
    "evaluation (gradients of the exact noisy mean); 0 gives the exact noisy values. "
    "[default: the backend entry's shots]",
)
@val_stride_option
@aer_check_option
@device_option
@loader_workers_option("--workers")
@click.option(
    "--precision",
    type=click.Choice(["32", "bf16-mixed", "16-mixed"]),
    default=_D.precision,
    show_default=True,
    help="Classical layers under autocast (bf16/fp16); quantum blocks stay float32/64.",
)
@click.option(
    "--channels-last/--no-channels-last",
    default=None,
    help="Conv weights and batches in channels-last (NHWC) memory format, which GPU "
    "convolutions under mixed precision prefer. [default: the model's choice: on for "
    "hq-unet (0.67x the CPU time per step, docs/benchmarks.md), off for hqf-net]",
)
@click.option(
    "--sync-batchnorm",
    is_flag=True,
    help="Under torchrun: batch norm over the global batch of all processes.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Run folder. Default: runs/<model>-<backend>-<n>.",
)
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Parent of the default run folders.",
)
@overwrite_option
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    default=None,
    metavar="RUN_DIR",
    help="Continue a run from its last.pt (with --epochs to train longer).",
)
@click.pass_context
def train(ctx: click.Context, **opts) -> None:
    """Train HQ-UNet (or another --model) and end with a validation report.

    Under torchrun each process trains one replica on its share of the patches
    (--batch-size is per process); only rank 0 writes the run folder.

    \b
    Examples:
      hq-qiskit train --backend aer
      hq-qiskit train --bottleneck classical --epochs 20 --data /data/landcoverai
      hq-qiskit train --resume runs/hq-unet-aer-0 --epochs 12
      torchrun --nproc_per_node=4 -m hq_qiskit train --sync-batchnorm --data /data/lcai
    """

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE

    if opts["resume"] is not None:
        fixed = [n for n in opts if n not in RESUME_OPTIONS and given(n)]
        if fixed:
            flags = ", ".join("--" + n.replace("_", "-") for n in fixed)
            raise ConfigError(
                f"--resume continues {opts['resume']} with its own config.json; {flags} cannot "
                "change there (only --epochs, --device, --loader-workers); start a new run instead"
            )
        changes = {n: opts[n] for n in RESUME_OPTIONS[1:] if given(n)}
        done = resume_training(opts["resume"], **changes, echo=click.echo)
    else:
        model_opts = model_options_from(opts["model"], opts)
        cfg = TrainSettings(
            model=opts["model"],
            model_options=model_opts,
            backend=opts["backend"],
            data=str(opts["data"]) if opts["data"] is not None else None,
            class_map=(
                {str(k): v for k, v in read_class_map(opts["class_map"]).items()}
                if opts["class_map"] is not None
                else None
            ),
            **{
                k: opts[k]
                for k in (
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
                    "shots",
                    "seed",
                    "device",
                    "val_stride_px",
                    "aer_check_samples",
                    "workers",
                    "sync_batchnorm",
                    "precision",
                    "channels_last",
                )
            },
        )
        done = start_training(
            cfg,
            opts["out"],
            runs_root=opts["runs_dir"],
            overwrite=opts["overwrite"],
            echo=click.echo,
        )
    if done.report and done.main:
        click.echo(
            f"\nValidation report (best epoch {done.report['best_epoch']}), {done.run.path}:"
        )
        click.echo(done.report["text"])
