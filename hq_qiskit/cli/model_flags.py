"""Command-line flags generated from the models' declared options (``cli_options``).

Every model in ``hq_qiskit.models.MODELS`` lists the constructor arguments a user may set; the
union of those lists becomes the flags of ``hq-qiskit train`` and ``ablation``, each with its
help text and every model's default. A new model adds flags by declaring them: nothing here
changes. A flag given for a model that does not take it is refused, naming the models that do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS, ModelOption, model_defaults


def declared_options() -> dict[str, tuple[ModelOption, list[str]]]:
    """Option name -> (its declaration, the models that take it), in declaration order."""
    out: dict[str, tuple[ModelOption, list[str]]] = {}
    for name, cls in MODELS.items():
        for opt in cls.cli_options:
            out.setdefault(opt.name, (opt, []))[1].append(name)
    return out


def _help(opt: ModelOption, models: list[str]) -> str:
    defaults = []
    for model in models:
        value = model_defaults(model).get(opt.name)
        if opt.type is bool or value is None:
            continue
        if isinstance(value, list | tuple):
            value = ",".join(map(str, value))
        defaults.append(f"{model}: {value}")
    suffix = f" [{'; '.join(defaults)}]" if defaults else ""
    return opt.help + suffix


def _click_option(opt: ModelOption, models: list[str]) -> Callable:
    help_ = _help(opt, models)
    if opt.type is bool:
        return click.option(
            opt.cli_flag, opt.name, is_flag=True, flag_value=False, default=None, help=help_
        )
    kind: Any = click.Choice(opt.choices) if opt.choices else opt.type
    return click.option(
        opt.cli_flag, opt.name, type=kind, default=None, metavar=opt.metavar, help=help_
    )


def model_flags(command: Callable) -> Callable:
    """Decorator: add one flag per declared model option to a click command."""
    for opt, models in reversed(list(declared_options().values())):
        command = _click_option(opt, models)(command)
    return command


def model_options_from(model: str, opts: dict[str, Any]) -> dict[str, Any]:
    """The model options among a command's parsed flags (unset ones left out), parsed.

    Raises:
        ConfigError: a flag given for a model that does not declare it.
    """
    out = {}
    for name, (opt, models) in declared_options().items():
        value = opts.get(name)
        if value is None:
            continue
        if model not in models:
            raise ConfigError(
                f"{opt.cli_flag} is an option of {', '.join(models)}; --model {model} does not "
                f"take it (see hq-qiskit train --help)"
            )
        out[name] = opt.parse(value) if opt.parse is not None and isinstance(value, str) else value
    return out
