"""Options shared by several commands, defined once: --backend, --engine, --data, --seed,
--overwrite, --device. Use them as decorators: ``@backend_option``. Model options (--width,
--no-dmcaf, ...) are generated from the models' declarations in ``model_flags.py``."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.quantum import ENGINES
from hq_qiskit.training.config import TrainSettings


def _check_data(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """--data must be an existing, non-empty folder; None means the built-in sample."""
    if value is None:
        return None
    path = Path(value)
    fix = "give a LandCover.ai or LoveDA folder, or leave --data out to use the built-in sample"
    if not path.exists():
        raise click.BadParameter(f"folder {path} does not exist; {fix}")
    if not path.is_dir():
        raise click.BadParameter(f"{path} is a file, not a folder; {fix}")
    if not any(path.iterdir()):
        raise click.BadParameter(f"folder {path} is empty; {fix}")
    return path


def _check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--device must be one this machine's torch can use; checked before anything is written."""
    from hq_qiskit.device import check_device, device_problem

    problem = device_problem(value)
    if problem is not None:
        raise click.BadParameter(f"{value!r}: {problem}")
    return check_device(value)


backend_option = click.option(
    "--backend",
    default="aer",
    show_default=True,
    metavar="NAME",
    help="Execution target from backends.toml (see `hq-qiskit backends`); 'aer' is the ideal "
    "exact simulator.",
)

engine_option = click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default=None,
    help="How quantum blocks run: 'fast' (exact in-process torch engine, the default) or "
    "'qiskit' (stock EstimatorQNN + TorchConnector on Aer; minutes per sample, for 1-2 sample "
    "smoke runs only).",
)

data_option = click.option(
    "--data",
    default=None,
    metavar="DIR",
    callback=_check_data,
    help="Dataset folder (LandCover.ai or LoveDA layout). Default: the built-in LoveDA sample.",
)

seed_option = click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for weights, circuit angles and patch sampling.",
)

overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an existing run folder given by --out (only a folder with config.json).",
)
device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    callback=_check_device,
    help="Where the network runs: auto (CUDA when available, else CPU), cpu, cuda, cuda:N, mps.",
)


class_map_option = click.option(
    "--class-map",
    "class_map",
    default=None,
    metavar="FILE",
    help="JSON file mapping raw mask values to class indices (255: ignore), e.g. "
    '{"0": 255, "1": 0, "2": 1}, for masks whose values the layout does not map. '
    "[default: the layout's map to LandCover.ai's classes]",
)


# Training settings that `train` and `ablation` share, defined once with TrainSettings's defaults.
_T = TrainSettings()
epochs_option = click.option("--epochs", type=int, default=_T.epochs, show_default=True)
patches_per_epoch_option = click.option(
    "--patches-per-epoch",
    type=int,
    default=_T.patches_per_epoch,
    show_default=True,
    help="Random training patches drawn per epoch (flips and 90-degree turns).",
)
batch_size_option = click.option(
    "--batch-size",
    type=int,
    default=_T.batch_size,
    show_default=True,
    help="Patches per optimiser step (per process under torchrun).",
)
lr_option = click.option(
    "--lr", type=float, default=_T.lr, show_default=True, help="AdamW peak learning rate."
)
val_stride_option = click.option(
    "--val-stride-px",
    type=int,
    default=None,
    help="Stride of the validation patch grid. [default: the patch side]",
)
aer_check_option = click.option(
    "--aer-check-samples",
    type=int,
    default=_T.aer_check_samples,
    show_default=True,
    help="Patches whose quantum outputs are checked against exact Aer at start and end of a "
    "run (0: off).",
)
LOADER_WORKERS_HELP = (
    "DataLoader worker processes that read and augment patches for each training process "
    "(0: read in the training process)."
)


def loader_workers_option(*aliases: str, param: str = "workers"):
    """``--loader-workers N`` (plus ``aliases``, e.g. train's ``--workers``): DataLoader worker
    processes, stored in the command's ``param`` argument. ``ablation`` uses ``--workers`` for
    its Dask worker processes, so the two commands share this name for the loader's."""
    return click.option(
        "--loader-workers",
        *aliases,
        param,
        type=int,
        default=_T.workers,
        show_default=True,
        help=LOADER_WORKERS_HELP,
    )


scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) whose workers run the "
    "tasks, instead of a local cluster of --workers processes.",
)
