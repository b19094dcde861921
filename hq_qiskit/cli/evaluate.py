"""``hq-qiskit evaluate``: score a run's best checkpoint; mIoU, OA, per-class IoU."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.options import (
    choice_option,
    class_map_option,
    data_option,
    device_option,
    engine_option,
    ideal_option,
)
from hq_qiskit.datasets.classes import read_class_map
from hq_qiskit.training.runner import evaluate_run


@click.command("evaluate")
@click.argument("run_dir", type=click.Path(path_type=Path))
@data_option
@choice_option(
    "--split",
    ["val", "test", "train", "all"],
    "val",
    "Split of the data folder to score; 'all': every image/mask pair, no split lists needed.",
)
@engine_option
@choice_option(
    "--checkpoint", ["best.pt", "last.pt"], "best.pt", "Which checkpoint of the run to score."
)
@device_option
@class_map_option
@ideal_option
def evaluate(
    run_dir: Path,
    data: Path | None,
    split: str,
    engine: str | None,
    checkpoint: str,
    device: str,
    class_map: str | None,
    ideal: bool,
) -> None:
    """Rebuild a run's model from config.json + best.pt, score it, write evaluation.json.

    \b
    Examples:
      hq-qiskit evaluate runs/hq-unet-aer-0
      hq-qiskit evaluate runs/hq-unet-aer-0 --split test
      hq-qiskit evaluate runs/hq-unet-aer-0 --data /data/landcoverai --split test
    """
    result = evaluate_run(
        run_dir,
        data=data,
        split=split,
        engine=engine,
        device=device,
        checkpoint=checkpoint,
        noise="ideal" if ideal else "as_trained",
        class_map=read_class_map(class_map) if class_map is not None else None,
        echo=click.echo,
    )
    click.echo(
        f"{result['run']} ({checkpoint}, backend {result['backend']}) on {result['data']} / "
        f"{split}: {result['tiles']} tiles, {result['patches']} patches"
    )
    click.echo(result["text"])
    click.echo(f"wrote {Path(result['run']) / 'evaluation.json'}")
