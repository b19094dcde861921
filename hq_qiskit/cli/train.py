"""``hq-qiskit train``: train a model into a run folder, or continue one with --resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hq_qiskit.cli.data_options import class_map_option, data_folders_option
from hq_qiskit.cli.model_flags import model_flags, model_options_from
from hq_qiskit.cli.options import (
    backend_option,
    choice_option,
    deprecated_workers_option,
    device_option,
    overwrite_option,
    run_folder_options,
)
from hq_qiskit.cli.setting_flags import RECIPE, setting_options, settings_from
from hq_qiskit.cli.validate import check_train_options
from hq_qiskit.datasets.classes import read_class_map
from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS
from hq_qiskit.training.runner import resume_training, start_training

# Options --resume may change; every other setting comes from the run's config.json.
RESUME_OPTIONS = ("resume", "epochs", "device", "workers")


@click.command("train")
@choice_option("--model", sorted(MODELS), "hq-unet", "Network to train.")
@model_flags
@backend_option
@data_folders_option
@setting_options("seed", *RECIPE)
@class_map_option
@setting_options(
    "shots",
    "noise_scale",
    "val_stride_px",
    "aer_check_samples",
    "folds",
    "fold",
    "train_also",
)
@device_option
@setting_options("workers", "precision", "channels_last", "sync_batchnorm")
@deprecated_workers_option
@run_folder_options("Run folder", "<model>-<backend>-<n>")
@overwrite_option
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    default=None,
    metavar="RUN_DIR",
    help="Continue a run from its last.pt (with --epochs to train longer).",
)
@click.pass_context
def train(ctx: click.Context, **opts: Any) -> None:
    """Train HQ-UNet (or another --model) and end with a validation report.

    Under torchrun each process trains one replica on its share of the patches
    (--batch-size is per process); only rank 0 writes the run folder.

    \b
    Examples:
      hq-qiskit train --backend aer
      hq-qiskit train --bottleneck classical --epochs 20 --data /data/landcoverai
      hq-qiskit train --data /data/loveda --data /data/dubai_aerial_63
      hq-qiskit train --resume runs/hq-unet-aer-0 --epochs 12
      torchrun --nproc_per_node=4 -m hq_qiskit train --sync-batchnorm --data /data/lcai
    """

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE

    if opts.pop("workers_alias") is not None:  # train's old --workers (warned)
        opts["workers"] = ctx.params["workers_alias"]
        ctx.set_parameter_source("workers", click.core.ParameterSource.COMMANDLINE)
    check_train_options(ctx, opts)  # finite floats, writable run folder: before any work
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
        folders = [str(p) for p in opts["data"]]
        if len(folders) > 1 and opts["class_map"] is not None:
            raise ConfigError(
                f"--class-map: {len(folders)} --data folders each read their masks through "
                "their own layout's map; leave --class-map out, or train on one folder"
            )
        class_map = None
        if opts["class_map"] is not None:
            class_map = {str(k): v for k, v in read_class_map(opts["class_map"]).items()}
        cfg = settings_from(
            opts,
            model_options=model_options_from(opts["model"], opts),
            data=folders[0] if len(folders) == 1 else folders or None,
            class_map=class_map,
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
