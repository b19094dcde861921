"""``hq-qiskit admit``: does a design's quantum block carry the map, over seeds?"""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.data_options import data_option, scored_split_option
from hq_qiskit.cli.options import choice_option, device_option, n_boot_option


@click.command("admit")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False))
@data_option
@scored_split_option("score")
@choice_option(
    "--checkpoint",
    ["last.pt", "best.pt"],
    "last.pt",
    "Which checkpoint of each run to score (a fold run chose best.pt on its own fold).",
)
@click.option(
    "--cost",
    type=click.FloatRange(min=0.0),
    default=0.05,
    show_default=True,
    help="mIoU the block's output replaced by its mean must cost for the design to be admitted.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Report file. Default: admission.json in the runs' common parent folder "
    "(and admission.png beside it).",
)
@device_option
@n_boot_option
def admit(
    runs: tuple[Path, ...],
    data: Path | None,
    split: str,
    checkpoint: str,
    cost: float,
    out: Path | None,
    device: str,
    n_boot: int,
) -> None:
    """Apply the admission rule to RUNS, the runs of one design that differ only in --seed:
    scored on the same held-out images (a fold run: its own fold), does replacing each quantum
    block's output by its mean cost at least --cost mIoU, with a 95 % interval over seeds and
    images that excludes 0? At least 5 seeds and 4 images, or no verdict.

    \b
    Examples:
      hq-qiskit train --design gated --folds 4 --fold 0 --seed 0 --out gated/s0
      (seeds 1-4 alike, --out gated/s1 ... gated/s4)
      hq-qiskit admit gated/s0 gated/s1 gated/s2 gated/s3 gated/s4
    """
    from hq_qiskit.training.admission import admit_runs
    from hq_qiskit.training.admission_report import figure, table

    for run in runs:
        if not (run / "config.json").is_file():
            raise click.BadParameter(f"{run}: no config.json; give run folders", param_hint="RUNS")
    if out is None:
        parents = {r.resolve().parent for r in runs}
        out = (parents.pop() if len(parents) == 1 else Path.cwd()) / "admission.json"
    report = admit_runs(
        list(runs), out, data=data, split=split, checkpoint=checkpoint, device=device,
        cost=cost, n_boot=n_boot, echo=click.echo,
    )  # fmt: skip
    click.echo(table(report))
    png = figure(report, out.with_suffix(".png"))
    click.echo(f"wrote {out} and {png}")
