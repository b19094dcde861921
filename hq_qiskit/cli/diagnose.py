"""``hq-qiskit diagnose``: does a trained run use its quantum blocks?"""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.options import data_option, device_option


@click.command("diagnose")
@click.argument("run_dir", type=click.Path(path_type=Path))
@data_option
@click.option(
    "--split",
    type=click.Choice(["val", "test", "train", "all"]),
    default="val",
    show_default=True,
    help="Split of the data folder whose tiles are scored; 'all': every image/mask pair.",
)
@click.option(
    "--checkpoint",
    type=click.Choice(["best.pt", "last.pt"]),
    default="best.pt",
    show_default=True,
    help="Which checkpoint of the run to diagnose.",
)
@device_option
@click.option(
    "--ideal",
    is_flag=True,
    help="Run the quantum blocks exactly, without the noise a noise-trained run was trained "
    "with [default: as trained].",
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=100),
    default=2000,
    show_default=True,
    help="Bootstrap draws (over whole images) of each interval.",
)
def diagnose(
    run_dir: Path,
    data: Path | None,
    split: str,
    checkpoint: str,
    device: str,
    ideal: bool,
    n_boot: int,
) -> None:
    """For each quantum block of a run (or a classical twin's bottleneck core): the change in
    mIoU when its output is replaced by its mean, shuffled across patches or zeroed; how far
    its angles moved from their initial values; its gradient against the classical layers';
    the spread of its outputs. Writes diagnose.json and diagnose.png into the run.

    \b
    Examples:
      hq-qiskit diagnose runs/hq-unet-aer-0
      hq-qiskit diagnose runs/hq-unet-aer-0 --data /tmp/loveda-heldout --split all
    """
    from hq_qiskit.training.diagnose import diagnose_run
    from hq_qiskit.training.diagnose_report import table

    report = diagnose_run(
        run_dir,
        data=data,
        split=split,
        checkpoint=checkpoint,
        noise="ideal" if ideal else "as_trained",
        device=device,
        n_boot=n_boot,
        echo=click.echo,
    )
    click.echo(table(report))
    click.echo(f"wrote {Path(report['run']) / 'diagnose.json'} and diagnose.png")
