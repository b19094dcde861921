"""``hq-qiskit run``: a trained model's inference with its quantum blocks on IBM Runtime."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from hq_qiskit.cli.options import data_option
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import MITIGATIONS


def parse_mitigation(text: str | None) -> tuple[str, ...] | None:
    """--mitigation "trex,twirling" -> ("trex", "twirling"); "none" -> (); None: the entry's."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return ()
    names = tuple(t.strip().lower() for t in text.split(",") if t.strip())
    unknown = [n for n in names if n not in MITIGATIONS]
    if unknown:
        raise ConfigError(
            f"--mitigation {text!r}: unknown {', '.join(unknown)}; accepted: none "
            f"or a comma list of {', '.join(MITIGATIONS)}"
        )
    return names


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
@click.option(
    "--split", type=click.Choice(["train", "val", "test"]), default="val", show_default=True
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
    help="none or a comma list of trex, zne, twirling, dd: EstimatorV2 options a real device "
    "applies server-side (local modes apply none; --compare-mitigation measures them). "
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
    help="--simulator exact-noisy: samples of each narrow block (<= 10 qubits) also run on Aer.",
)
@click.option(
    "--compare-mitigation",
    is_flag=True,
    help="Measure unmitigated vs TREX, ZNE, twirling, DD against exact values on a local noisy "
    "simulation of each narrow block (<= 10 qubits); the table goes into run.md.",
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
    "--seed", type=int, default=0, show_default=True, help="Simulator seed in local testing mode."
)
@click.option(
    "--batch-size",
    type=int,
    default=16,
    show_default=True,
    help="Patches per classical forward call.",
)
def run(
    checkpoint: Path | None,
    backend: str,
    data: Path | None,
    split: str,
    tiles: int,
    patches: int | None,
    shots: int | None,
    precision: float | None,
    mitigation: str | None,
    ideal_simulator: bool,
    simulator: str | None,
    aer_check_samples: int,
    compare_mitigation: bool,
    compare_samples: int,
    fractional_gates: bool,
    device_only: bool,
    resume: bool,
    out: Path | None,
    runs_dir: Path,
    max_qpu_seconds: float | None,
    yes: bool,
    max_execution_time: int | None,
    result_timeout: float | None,
    seed: int,
    batch_size: int,
) -> None:
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
    from hq_qiskit.hardware.backends import get_backend, load_backends
    from hq_qiskit.hardware.kinds import kind_of, names_that
    from hq_qiskit.hardware.runtime import resolve
    from hq_qiskit.inference import RunOptions, run_inference, with_mitigation
    from hq_qiskit.inference.device_run import laptop_sizes
    from hq_qiskit.training.run_dir import latest_run

    try:
        entry = get_backend(backend)
    except ConfigError as err:
        raise ConfigError(f"--backend: {err}") from None
    if not kind_of(entry).device_runs:  # before --shots: an Aer entry's budget is not it
        targets = names_that(lambda kind: kind.device_runs, load_backends())
        raise ConfigError(
            f"--backend {backend}: is an Aer simulator target (kind {entry.kind!r}); `run` "
            f"needs a runtime entry: {', '.join(targets)} (Aer targets are for `train --backend`)"
        )
    entry = with_mitigation(entry, parse_mitigation(mitigation))
    if fractional_gates:
        entry = dataclasses.replace(entry, fractional_gates=True)
    if (shots is not None and shots < 0) or (precision is not None and precision < 0):
        raise ConfigError("--shots and --precision must be >= 0")
    if simulator and (ideal_simulator or device_only):
        raise ConfigError(
            f"--simulator {simulator} runs locally with device noise; drop "
            f"{'--ideal-simulator' if ideal_simulator else '--device-only'}"
        )
    target = resolve(
        entry, ideal=ideal_simulator, device_only=device_only, force_local=simulator is not None
    )
    if simulator is None:  # the exact noisy engine needs no laptop sizing
        shots, precision, patches, sized = laptop_sizes(target, shots, precision, patches)
    else:
        sized = ""
    shots = entry.shots if shots is None else shots
    precision = entry.precision if precision is None else precision
    if shots == 0 and precision == 0:
        raise ConfigError("--shots 0 needs --precision > 0 (hardware values are never exact)")
    if checkpoint is None:
        checkpoint = latest_run(runs_dir)
        click.echo(f"no run folder given: using the latest run under {runs_dir}/, {checkpoint}")
    if sized:
        click.echo(sized)
    if out is None:
        run_dir = checkpoint if checkpoint.is_dir() else checkpoint.parent
        out = run_dir / f"hardware-{entry.name}"
    opts = RunOptions(
        shots=shots,
        precision=precision,
        tiles=tiles,
        patches=patches,
        split=split,
        data=str(data) if data is not None else None,
        resume=resume,
        seed=seed,
        batch_size=batch_size,
        max_qpu_seconds=max_qpu_seconds,
        yes=yes,
        max_execution_time=max_execution_time,
        result_timeout_s=result_timeout,
        simulator=simulator,
        aer_check_samples=aer_check_samples,
        compare_mitigation=compare_mitigation,
        compare_samples=compare_samples,
    )
    result = run_inference(
        checkpoint, entry, target, out, opts, echo=click.echo, confirm=click.confirm
    )
    from hq_qiskit.inference import RESULT_MD, markdown

    click.echo("")
    click.echo(markdown(result))
    click.echo(f"written: {out / 'run.json'}, {out / RESULT_MD}")
