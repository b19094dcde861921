"""``hq-qiskit evaluate``: score a run's best checkpoint; mIoU, OA, per-class IoU."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.data_options import class_map_option, data_option, scored_split_option
from hq_qiskit.cli.options import checkpoint_option, device_option, engine_option, ideal_option
from hq_qiskit.datasets.classes import read_class_map
from hq_qiskit.training.runner import evaluate_run


@click.command("evaluate")
@click.argument("run_dir", type=click.Path(path_type=Path))
@data_option
@scored_split_option()
@engine_option
@checkpoint_option()
@device_option
@class_map_option
@ideal_option
@click.option(
    "--overwrite", is_flag=True, help="Replace an earlier evaluation file of the same kind."
)
def evaluate(
    run_dir: Path,
    data: Path | None,
    split: str,
    engine: str | None,
    checkpoint: str,
    device: str,
    class_map: str | None,
    ideal: bool,
    overwrite: bool,
) -> None:
    """Rebuild a run's model from config.json + best.pt, score it, write evaluation.json.

    evaluation.json holds the run's own data, val split, best.pt, as trained; other settings
    get their own file (evaluation-test.json, evaluation-qiskit.json, ...), and an
    existing one is replaced only with --overwrite. --data is opened by
    hq_qiskit.datasets.open_labelled: a plain images/ + masks/ folder, LoveDA (flat or the
    official tree, any splits present), LandCover.ai, OpenEarthMap or the Dubai layout.

    \b
    Examples:
      hq-qiskit evaluate runs/hq-unet-aer-0
      hq-qiskit evaluate runs/hq-unet-aer-0 --split test
      hq-qiskit evaluate runs/hq-unet-aer-0 --data /data/landcoverai --split test
      hq-qiskit evaluate runs/hq-unet-aer-0 --data ../shared/data/dubai_aerial_63 --split all
    """
    name = output_name(run_dir, data, split, checkpoint, ideal, overwrite, engine)
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
        out_name=name,
    )
    click.echo(
        f"{result['run']} ({checkpoint}, backend {result['backend']}) on {result['data']} / "
        f"{split}: {result['tiles']} tiles, {result['patches']} patches"
    )
    click.echo(result["text"])
    click.echo(f"wrote {Path(result['run']) / name}")


def output_name(
    run_dir: Path,
    data: Path | None,
    split: str,
    checkpoint: str,
    ideal: bool,
    overwrite: bool,
    engine: str | None = None,
) -> str:
    """The evaluation file for these settings; refuses one that exists unless ``overwrite``."""
    from hq_qiskit.atomic import probe_writable
    from hq_qiskit.errors import OutputError
    from hq_qiskit.training.run_dir import evaluation_name, open_run_dir

    run = open_run_dir(run_dir)
    own = run.read_json("config.json").get("data")
    given = Path(data).resolve() if data is not None else None
    other = given is not None and str(given) != own
    name = evaluation_name(
        data_name=given.name if given is not None and other else None,
        split=split,
        checkpoint=checkpoint,
        ideal=ideal,
        engine=engine,
    )
    probe_writable(run.path, "RUN_DIR", run / name)  # read-only or full: before scoring
    if (run / name).exists() and not overwrite:
        raise OutputError(
            f"{run / name}: already exists (an earlier evaluation with these settings); pass "
            "--overwrite to replace it"
        )
    return name
