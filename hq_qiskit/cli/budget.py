"""``hq-qiskit budget``: how much device noise a trained model can take."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.data_options import data_option, scored_split_option
from hq_qiskit.cli.options import checkpoint_option, device_option, n_boot_option


@click.command("budget")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--backend",
    required=True,
    help="backends.toml entry with device noise (e.g. ibm_kingston; offline: its fake twin).",
)
@data_option
@scored_split_option()
@click.option(
    "--factors",
    default="0,0.5,1,2,4",
    show_default=True,
    help="Comma-separated scales of every device error (0: no noise, 1: the device).",
)
@click.option(
    "--shots",
    type=click.IntRange(min=0),
    default=None,
    help="Shots per expectation value; 0: exact [default: the backend entry's].",
)
@checkpoint_option()
@click.option(
    "--devices",
    default="",
    help="Other backends.toml entries to place on the curve by their ESP, comma-separated.",
)
@device_option
@n_boot_option
def budget(
    run_dir: Path,
    backend: str,
    data: Path | None,
    split: str,
    factors: str,
    shots: int | None,
    checkpoint: str,
    devices: str,
    device: str,
    n_boot: int,
) -> None:
    """Score a trained run with its quantum blocks under a device's noise, every error scaled
    by each factor; report mIoU per factor with 95 % intervals over images, the largest factor
    that costs at most 0.01 mIoU, and the device's ESP on that curve. Trains nothing. Writes
    budget.json and budget.png into the run.

    \b
    Examples:
      hq-qiskit budget runs/hq-unet-aer-0 --backend ibm_kingston
      hq-qiskit budget runs/hq-unet-aer-0 --backend ibm_fez --factors 0,1,2 --shots 0
      hq-qiskit budget runs/hq-unet-aer-0 --backend ibm_kingston --devices ibm_fez,fake_nighthawk
    """
    from hq_qiskit.training.budget import budget_run, parse_factors
    from hq_qiskit.training.budget_report import table

    report = budget_run(
        run_dir,
        backend=backend,
        data=data,
        split=split,
        factors=parse_factors(factors),
        shots=shots,
        checkpoint=checkpoint,
        device=device,
        n_boot=n_boot,
        devices=[d.strip() for d in devices.split(",") if d.strip()],
        echo=click.echo,
    )
    click.echo(table(report))
    click.echo(f"wrote {Path(report['run']) / 'budget.json'} and budget.png")
