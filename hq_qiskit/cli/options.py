"""Options shared by several commands, defined once: --backend, --engine, --data, --device,
--overwrite, --ideal, --workers (Dask), --scheduler, --out/--runs-dir. Use them as decorators:
``@backend_option``. Training settings (--epochs, --lr, ...) are generated from
``TrainSettings`` in ``setting_flags.py``; model options (--width, --no-dmcaf, ...) from the
models' declarations in ``model_flags.py``. One name per concept: ``--loader-workers`` is the
DataLoader's worker processes everywhere, ``--workers`` the Dask worker processes (train's old
``--workers`` is a deprecated, hidden alias of ``--loader-workers``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from hq_qiskit.quantum import ENGINES


def _check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--device must be one this machine's torch can use; checked before anything is written."""
    from hq_qiskit.device import check_device, device_problem

    problem = device_problem(value)
    if problem is not None:
        raise click.BadParameter(f"{value!r}: {problem}")
    return check_device(value)


def choice_option(flag: str, choices: list[str], default: str, help: str) -> Callable:
    """``flag`` taking one of ``choices``, ``default`` shown in --help."""
    return click.option(
        flag, type=click.Choice(choices), default=default, show_default=True, help=help
    )


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
    help="How quantum blocks run: 'fast' (exact in-process torch engine) or 'qiskit' (stock "
    "EstimatorQNN + TorchConnector on Aer; minutes per sample, for 1-2 sample smoke runs "
    "only). [default: the run's own]",
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


def _warn_workers(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None:
        click.echo(
            "warning: train --workers is deprecated (elsewhere --workers counts Dask worker "
            "processes); use --loader-workers",
            err=True,
        )
    return value


# train's old name of --loader-workers, kept hidden so that old scripts run; the command moves
# its value to ``workers`` (``--loader-workers``)
deprecated_workers_option = click.option(
    "--workers", "workers_alias", type=int, default=None, hidden=True, callback=_warn_workers
)


def dask_workers_option(param: str, what: str, default_text: str) -> Callable[[Callable], Callable]:
    """``--workers N``: Dask worker processes on this machine (never the DataLoader's: that is
    ``--loader-workers``), stored in ``param``; ``what`` they do, ``default_text`` what leaving
    it out does."""
    return click.option(
        "--workers",
        param,
        type=int,
        default=None,
        metavar="N",
        help=f"Dask worker processes on this machine (a local cluster) that {what}; not the "
        f"DataLoader's workers (--loader-workers). [default: {default_text}]",
    )


scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) whose workers run the "
    "tasks, instead of a local cluster of --workers processes.",
)

ideal_option = click.option(
    "--ideal",
    is_flag=True,
    help="Run the quantum blocks exactly, without the noise a noise-trained run was trained "
    "with [default: as trained].",
)


def checkpoint_option(verb: str = "score") -> Callable:
    """``--checkpoint``: which of a run's two checkpoints a command reads."""
    return choice_option(
        "--checkpoint", ["best.pt", "last.pt"], "best.pt", f"Which checkpoint of the run to {verb}."
    )


n_boot_option = click.option(
    "--n-boot",
    type=click.IntRange(min=100),
    default=2000,
    show_default=True,
    help="Bootstrap draws (over whole images) of each interval.",
)


def run_folder_options(kind: str, default: str) -> Callable[[Callable], Callable]:
    """``--out DIR`` (``kind``, e.g. "Run folder", defaulting to ``default`` under
    ``--runs-dir``) and ``--runs-dir``."""

    def decorate(command: Callable) -> Callable:
        command = click.option(
            "--runs-dir",
            type=click.Path(path_type=Path),
            default=Path("runs"),
            show_default=True,
            help="Parent of the default --out.",
        )(command)
        return click.option(
            "--out",
            type=click.Path(path_type=Path),
            default=None,
            metavar="DIR",
            help=f"{kind}. Default: runs/{default}.",
        )(command)

    return decorate


def command_line(ctx: click.Context) -> str:
    """The command as given: its path and every option set on the command line."""
    import shlex

    from click.core import ParameterSource

    parts = ctx.command_path.split()
    if parts and parts[0] != "hq-qiskit":
        parts[0] = "hq-qiskit"
    for param in ctx.command.params:
        if param.name is None or ctx.get_parameter_source(param.name) != (
            ParameterSource.COMMANDLINE
        ):
            continue
        value = ctx.params[param.name]
        flag = param.opts[0]
        if getattr(param, "is_flag", False):
            parts.append(flag)
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            parts += [flag, shlex.quote(str(v))]
    return " ".join(parts)
