"""``hq-qiskit diagnose``: does a trained run use its quantum blocks?"""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.data_options import data_option, scored_split_option
from hq_qiskit.cli.options import checkpoint_option, device_option, ideal_option, n_boot_option


@click.command("diagnose")
@click.argument("run_dir", type=click.Path(path_type=Path))
@data_option
@scored_split_option("diagnose")
@checkpoint_option("diagnose")
@device_option
@ideal_option
@n_boot_option
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
