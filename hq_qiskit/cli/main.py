"""The ``hq-qiskit`` click group; each command lives in its own module beside this one."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from hq_qiskit import __version__
from hq_qiskit.errors import HQError

# (module, command function) pairs; a module is imported only when its command runs or
# when --help lists the commands, so a quick command never pays for torch or qiskit-aer.
COMMANDS: dict[str, tuple[str, str]] = {
    "export-circuits": ("hq_qiskit.cli.export", "export_circuits"),
    "backends": ("hq_qiskit.cli.backends", "backends"),
    "report": ("hq_qiskit.cli.report", "report"),
    "predict": ("hq_qiskit.cli.predict", "predict"),
    "train": ("hq_qiskit.cli.train", "train"),
    "evaluate": ("hq_qiskit.cli.evaluate", "evaluate"),
    "diagnose": ("hq_qiskit.cli.diagnose", "diagnose"),
    "admit": ("hq_qiskit.cli.admit", "admit"),
    "budget": ("hq_qiskit.cli.budget", "budget"),
    "ablation": ("hq_qiskit.cli.ablation", "ablation"),
    "crossval": ("hq_qiskit.cli.crossval", "crossval"),
    "run": ("hq_qiskit.cli.run", "run"),
    "precut": ("hq_qiskit.cli.precut", "precut"),
}


class LazyGroup(click.Group):
    """A click group that imports each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HQError as err:
            # under torchrun every rank raises the same error: rank 0 says it once
            if os.environ.get("RANK", "0") == "0":
                click.echo(f"Error: {err}", err=True)
            sys.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hq-qiskit")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
def cli(verbose: int, quiet: bool) -> None:
    """Hybrid quantum-classical segmentation for remote sensing, on Qiskit.

    Train HQ-UNet and HQF-Net on Aer with the fast exact engine, report what their quantum
    blocks cost on IBM devices, run them through IBM Runtime, and predict georeferenced maps.

    \b
    Examples:
      hq-qiskit train --backend aer
      hq-qiskit evaluate runs/hq-unet-aer-0
      hq-qiskit export-circuits
    """
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:  # the transpiler and the runtime log every pass and request at INFO
        # rasterio relays every GDAL error at INFO, already raised as one DataError line
        quiet_loggers = ("qiskit", "qiskit_ibm_runtime", "qiskit_aer", "stevedore", "rasterio")
        for noisy in (*quiet_loggers, "distributed"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
