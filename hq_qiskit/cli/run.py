"""``hq-qiskit run``: a trained model's inference with its quantum blocks on IBM Runtime.

The command only declares its flags; ``inference.run_device`` resolves, plans, executes and
records the run (docs/design.md, "Device runs").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hq_qiskit.cli.data_options import data_option
from hq_qiskit.cli.options import choice_option


@click.command("run")
@click.argument(
    "checkpoint",
    metavar="[RUN_DIR_OR_CHECKPOINT]",
    required=False,
    type=click.Path(exists=True, path_type=Path),
)
@click.option(
    "--backend",
    required=True,
    metavar="NAME",
    help="Runtime entry of backends.toml: a device (ibm_fez, ibm_torino, ...) or a "
    "fake_* twin. Without IBM credentials a device runs on its fake twin in local "
    "testing mode, said in the output.",
)
@data_option
@choice_option(
    "--split", ["train", "val", "test"], "val", "Split of the data folder whose tiles are run."
)
@click.option("--tiles", type=int, default=1, show_default=True, help="First N tiles of the split.")
@click.option(
    "--patches",
    type=int,
    default=None,
    help="Patches per tile, evenly spaced over its grid. [default: all]",
)
@click.option("--shots", type=int, default=None, help="Shots per circuit. [default: the entry's]")
@click.option(
    "--precision",
    type=float,
    default=None,
    help="Target standard error per value when --shots is 0. [default: the entry's]",
)
@click.option(
    "--mitigation",
    default=None,
    metavar="LIST",
    help="none or a comma list of trex, zne, twirling, dd: options of the runtime's Estimator "
    "a real device run asks for (local runs ask for none; --compare-mitigation measures them). "
    "[default: the entry's]",
)
@click.option(
    "--ideal-simulator",
    is_flag=True,
    help="Local testing mode on a noiseless AerSimulator with the device's target "
    "(checks layouts and plumbing cheaply).",
)
@click.option(
    "--simulator",
    type=click.Choice(["exact-noisy"]),
    default=None,
    help="Run every block locally on hq-qiskit's exact noisy engine with the device noise of "
    "its logical circuit (seconds, not hours; labelled in run.json/run.md, never a device).",
)
@click.option(
    "--aer-check-samples",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="--simulator exact-noisy: samples of each narrow block (<= 10 qubits) also computed "
    "exactly by Aer's density matrix (must agree with the engine to 1e-6).",
)
@click.option(
    "--compare-mitigation",
    is_flag=True,
    help="Measure unmitigated vs TREX, ZNE, twirling, DD against exact values on a local noisy "
    "simulation of each narrow block (<= 10 qubits), 5 simulator seeds from --seed, mean ± 95 % "
    "interval; the table goes into run.md.",
)
@click.option(
    "--compare-samples",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Samples per block in --compare-mitigation.",
)
@click.option(
    "--fractional-gates",
    is_flag=True,
    help="Ask for the device's target with fractional gates rzz/rx (use_fractional_gates=True); "
    "refused on a device without them, said in the output for a fake twin without them. "
    "[default: the entry's fractional_gates]",
)
@click.option(
    "--device-only",
    is_flag=True,
    help="Fail instead of falling back to local testing mode without credentials.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Reuse the values or finished device jobs recorded in --out/jobs.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Output folder. [default: <run folder>/hardware-<backend>]",
)
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Where to look for the latest run when RUN_DIR_OR_CHECKPOINT is left out.",
)
@click.option(
    "--max-qpu-seconds",
    type=click.FloatRange(min=0),
    default=None,
    help="Refuse a device run whose estimated QPU time is above this budget.",
)
@click.option("--yes", is_flag=True, help="Submit to a real device without asking.")
@click.option(
    "--max-execution-time",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Each job's QPU time limit; IBM stops a job past it. [default: IBM's]",
)
@click.option(
    "--result-timeout",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Stop waiting for a job after this long (it keeps running; --resume fetches it).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Simulator seed of the local modes (reruns are bit-identical); recorded in run.json.",
)
@click.option(
    "--batch-size",
    type=int,
    default=16,
    show_default=True,
    help="Patches per classical forward call.",
)
def run(**flags: Any) -> None:
    """Run a trained model with every quantum block on IBM Runtime and compare with ideal.

    Without a run folder the latest run under ./runs is used. The cost (circuits, shots, QPU
    seconds) is printed before anything is submitted; a real device asks first (--yes skips).

    \b
    Examples:
      hq-qiskit run --backend ibm_brisbane
      hq-qiskit run runs/hq-unet-aer-0 --backend fake_brisbane --patches 4 --shots 64
      hq-qiskit run runs/hq-unet-aer-0/best.pt --backend ibm_fez --tiles 2
      hq-qiskit run runs/hq-unet-aer-0 --backend ibm_fez --resume
      hq-qiskit run --backend ibm_fez --simulator exact-noisy
    """
    from hq_qiskit.inference import RESULT_MD, RunRequest, markdown, run_device

    result, out = run_device(RunRequest(**flags), echo=click.echo, confirm=click.confirm)
    click.echo("")
    click.echo(markdown(result))
    click.echo(f"written: {out / 'run.json'}, {out / RESULT_MD}")
