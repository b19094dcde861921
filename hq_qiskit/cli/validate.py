"""Options checked where they are read: finite numbers, writable output locations.

Each refusal is one ``HQError`` line naming the option (the CLI prints it and exits 2), raised
before any data is loaded, any model built or any folder made.

    FINITE_FLOAT                  a click type: a float that is not NaN or infinite
    check_finite_options(ctx)     every float option of a command given on the command line
    probe_train_outputs(opts)     train's --out / --runs-dir / --resume can take files
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from hq_qiskit.atomic import probe_writable
from hq_qiskit.errors import ConfigError


def non_finite_error(option: str, value: object, default: object = None) -> ConfigError:
    """The one line for a NaN or infinite value of ``option``."""
    example = f", e.g. {option} {default:g}" if isinstance(default, int | float) else ""
    return ConfigError(f"{option} {value}: not a finite number; give a finite value{example}")


class FiniteFloat(click.ParamType):
    """A float option that refuses ``nan``, ``inf`` and ``-inf`` in one line (exit 2)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            option = param.opts[0] if param is not None and param.opts else "value"
            raise non_finite_error(option, value, getattr(param, "default", None))
        return number


FINITE_FLOAT = FiniteFloat()


def check_finite_options(ctx: click.Context) -> None:
    """Refuse a NaN or infinite value in any float option of ``ctx``'s command."""
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        values = value if isinstance(value, tuple | list) else (value,)
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                raise non_finite_error(param.opts[0], v, param.default)


def probe_train_outputs(opts: dict[str, Any]) -> None:
    """Refuse a read-only or full run location of ``hq-qiskit train`` before any work."""
    if opts.get("resume") is not None:
        probe_writable(Path(opts["resume"]), "--resume")
    elif opts.get("out") is not None:
        probe_writable(Path(opts["out"]), "--out")
    else:
        probe_writable(Path(opts.get("runs_dir") or "runs"), "--runs-dir")


def check_train_options(ctx: click.Context, opts: dict[str, Any]) -> None:
    """train's start: finite floats, then a writable run location."""
    check_finite_options(ctx)
    probe_train_outputs(opts)
