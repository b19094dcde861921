"""``hq-qiskit ablation``: train a model's ablation variants over seeds (and backends) on the same
data, score every run tile by tile on the validation split and held-out folders, and write one
comparison with intervals (ablation.md, ablation.json, ablation.png) beside their run folders.

The engine is ``training.ablation`` (plan in ``training.ablation_plan``); this command reads
the options, checks them before any training, and runs the engine here or, with ``--workers N``
or ``--scheduler``, on a Dask cluster (``cluster.sweep.ablation_executor``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hq_qiskit.cli.data_options import data_option
from hq_qiskit.cli.model_flags import model_flags, model_options_from
from hq_qiskit.cli.options import (
    backend_option,
    choice_option,
    command_line,
    dask_workers_option,
    device_option,
    overwrite_option,
    run_folder_options,
    scheduler_option,
)
from hq_qiskit.cli.setting_flags import setting_options, settings_from
from hq_qiskit.cluster.client import check_workers, open_client
from hq_qiskit.cluster.sweep import ablation_executor
from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS
from hq_qiskit.training.ablation import run_ablation
from hq_qiskit.training.ablation_plan import (
    ABLATIONS,
    TABLE_FILES,
    check_not_varied,
    check_out,
    check_shots,
    evaluation_sets,
    parse_backends,
    parse_seeds,
    parse_variants,
)
from hq_qiskit.training.config import check_batch
from hq_qiskit.training.statistics import DEFAULT_MARGIN


@click.command("ablation")
@choice_option(
    "--model",
    sorted(ABLATIONS),
    "hq-unet",
    "Model whose ablation to run (hqf-net needs DINOv3 weights: --backbone).",
)
@click.option(
    "--variants",
    default=None,
    metavar="LIST",
    help="Comma-separated subset of the model's variants ("
    + "; ".join(f"{m}: {', '.join(v)}" for m, v in sorted(ABLATIONS.items()))
    + "). [default: the model's; hq-unet: quantum, quantum-frozen, classical, classical-small, "
    "none, and with --design/--skips also the matched cores product, surrogate, mlp, mlp-macs]",
)
@model_flags
@backend_option
@click.option(
    "--backends",
    default=None,
    metavar="LIST",
    help="Comma-separated backends.toml entries to repeat the ablation on, e.g. "
    "aer,aer-noisy-fez (variants without a circuit train once). [default: --backend]",
)
@setting_options("shots")
@data_option
@click.option(
    "--seeds",
    default="0,1,2",
    show_default=True,
    metavar="LIST",
    help="Comma-separated seeds; each variant trains once per seed (weights, circuit angles "
    "and patches seeded).",
)
@click.option(
    "--eval-data",
    "eval_data",
    type=click.Path(path_type=Path),
    multiple=True,
    metavar="DIR",
    help="Held-out dataset folder to score every variant and seed on, besides --split "
    "(repeatable); its --eval-split split is used.",
)
@choice_option(
    "--eval-split",
    ["val", "test", "all"],
    "test",
    "Split of each --eval-data folder to score; 'all': every image/mask pair, no split lists "
    "needed (a folder of held-out images).",
)
@setting_options(
    "epochs", "patches_per_epoch", "batch_size", "lr", "val_stride_px", "aer_check_samples"
)
@choice_option(
    "--split", ["val", "test"], "val", "Split the table scores each variant's best checkpoint on."
)
@device_option
@setting_options("workers")
@dask_workers_option(
    "dask_workers",
    "train the runs in parallel, one run each (each run's log goes to --out/logs/)",
    "1, runs one after another in this process",
)
@scheduler_option
@run_folder_options("Folder for the variants' runs and the table", "ablation-<model>-<backend>-<n>")
@overwrite_option
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an ablation that stopped, in its --out, with the options it started with: "
    "finished runs are scored again without training, an unfinished run continues from its "
    "last.pt, runs not begun start. A run whose settings differ is refused.",
)
@click.option(
    "--margin",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MARGIN,
    show_default=True,
    help="Equivalence margin in mIoU, fixed before the run: a variant is called equivalent to "
    "the reference only when its whole interval lies inside +-margin (Holm across variants).",
)
def ablation(**opts: Any) -> None:
    """Train a model's ablation variants over seeds on the same data; compare them with intervals.

    \b
    Examples:
      hq-qiskit ablation --seeds 0,1,2 --eval-data heldout/
      hq-qiskit ablation --model hq-unet --variants quantum,classical --backends aer,aer-noisy-fez
      hq-qiskit ablation --design gated --seeds 0,1,2,3,4 --eval-data heldout/
      hq-qiskit ablation --model hqf-net --backbone weights/dinov3-sat493m --feature-cache cache/
    """
    from hq_qiskit.training.run_dir import next_run_path

    model = opts["model"]
    options = model_options_from(model, opts)
    MODELS[model].check_options(options)
    variants = parse_variants(model, opts["variants"], options)
    seeds = parse_seeds(opts["seeds"])
    backends = parse_backends(opts["backends"], opts["backend"])
    check_shots(opts["shots"], backends)
    check_not_varied(model, variants, options)
    base = settings_from(
        opts,
        model_options=options,
        backend=backends[0],
        data=str(Path(opts["data"]).resolve()) if opts["data"] is not None else None,
        seed=seeds[0],
    )
    base.check()
    check_batch(base.batch_size, base.patches_per_epoch)
    check_workers(opts["dask_workers"])  # before any training, as an unreachable --scheduler
    one_folder = base.data if not isinstance(base.data, list) else None  # one --data here
    evaluation = evaluation_sets(
        one_folder, opts["split"], list(opts["eval_data"]), opts["eval_split"]
    )
    if opts["resume"] and opts["out"] is None:
        raise ConfigError("--resume: give the --out of the ablation to continue")
    out = opts["out"] or next_run_path(opts["runs_dir"], f"ablation-{model}", backends[0])
    check_out(Path(out), opts["overwrite"], opts["resume"])
    sweep = dict(
        variants=variants,
        seeds=seeds,
        backends=backends,
        evaluation=evaluation,
        command=command_line(click.get_current_context()),
        overwrite=opts["overwrite"],
        resume=opts["resume"],
        margin=opts["margin"],
    )
    if opts["scheduler"] is None and opts["dask_workers"] in (None, 1):
        result = run_ablation(model, base, Path(out), echo=click.echo, **sweep)
    else:
        with open_client(opts["dask_workers"], opts["scheduler"]) as cluster:
            result = run_ablation(
                model, base, Path(out), execute=ablation_executor(cluster), echo=click.echo, **sweep
            )
    files = ", ".join(str(Path(out) / f) for f in TABLE_FILES)
    click.echo(f"\n{result['text']}\nwritten: {files}")
