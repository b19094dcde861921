"""``hq-qiskit crossval``: a setting's cross-validated mIoU over folds of whole images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from hq_qiskit.cli.data_options import data_folders_option
from hq_qiskit.cli.model_flags import model_flags, model_options_from
from hq_qiskit.cli.options import backend_option, choice_option, device_option
from hq_qiskit.cli.setting_flags import RECIPE, setting_options, settings_from
from hq_qiskit.cli.validate import check_finite_options
from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS
from hq_qiskit.training.ablation_plan import parse_seeds
from hq_qiskit.training.crossval import compare_crossvals, run_crossval


def _line(name: str, ci: dict[str, Any]) -> str:
    if ci["low"] is None:
        return f"{name}: {ci['estimate']:.3f} (no interval: too few images or seeds)"
    return f"{name}: {ci['estimate']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}] ({ci['method']})"


def _folds_list(spec: str | None) -> list[int] | None:
    """``--only-folds "0,1"`` -> [0, 1] (None: all folds); ranges are checked by
    ``check_only``."""
    if spec is None:
        return None
    try:
        return [int(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(
            f"--only-folds {spec!r}: give fold numbers, comma-separated (e.g. 0,1)"
        ) from None


@click.command("crossval")
@choice_option("--model", sorted(MODELS), "hq-unet", "Network to train.")
@model_flags
@backend_option
@data_folders_option
@click.option(
    "--folds", default=4, show_default=True, help="Folds of whole images (Dubai: regions)."
)
@click.option(
    "--only-folds",
    default=None,
    metavar="LIST",
    help="A screen: train and score only these folds (e.g. 0,1), pooled over their images and "
    "recorded as a screen; --against pairs it with another setting on those folds' tiles. "
    "Rerun the folder without it to complete the cross-validation.",
)
@click.option(
    "--seeds", default="0", show_default=True, metavar="LIST", help="Comma-separated seeds."
)
@setting_options(*RECIPE)
@setting_options("shots", "val_stride_px", "aer_check_samples", "train_also")
@device_option
@setting_options("workers")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder of the fold runs and crossval.json; rerun with it to continue a stopped one.",
)
@click.option(
    "--against",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Another crossval folder (same data, folds, seeds): print the paired difference.",
)
def crossval(**opts: Any) -> None:
    """Cross-validate the training settings: K runs per seed, each validating on one fold of
    whole images (--folds/--fold of `train`), each tile scored by the run that never saw its
    image, on that run's last.pt (best.pt is chosen on the fold itself and would flatter it).

    Settings are chosen by this score, never by a set that later reports a result.
    Writes OUT/crossval.json: pooled mIoU with a 95 % interval over seeds and whole images,
    per-fold scores, per-tile confusions.

    \b
    Examples:
      hq-qiskit crossval --folds 4 --out crossvals/default
      hq-qiskit crossval --folds 4 --epochs 64 --out crossvals/e64 --against crossvals/default
      hq-qiskit crossval --only-folds 0,1 --lr 0.001 --out crossvals/lr --against crossvals/default
    """
    check_finite_options(click.get_current_context())
    folders = [str(p) for p in opts["data"]]
    settings = settings_from(
        opts,
        model_options=model_options_from(opts["model"], opts),
        data=folders[0] if len(folders) == 1 else folders or None,
    )
    result = run_crossval(
        settings,
        opts["folds"],
        parse_seeds(opts["seeds"]),
        opts["out"],
        device=opts["device"],
        echo=click.echo,
        only=_folds_list(opts["only_folds"]),
    )
    click.echo(f"\n{result['what']}; {result['images']} images, {result['folds']} folds")
    if len(result["folds_scored"]) < result["folds"]:
        listed = ", ".join(map(str, result["folds_scored"]))
        click.echo(
            f"a screen: folds {listed} of {result['folds']} scored; rerun without --only-folds "
            "to complete the cross-validation"
        )
    click.echo(_line("cross-validated mIoU", result["miou"]))
    if result["note"]:
        click.echo(result["note"])
    if opts["against"] is not None:
        path = Path(opts["against"]) / "crossval.json"
        if not path.is_file():
            raise ConfigError(f"--against {opts['against']}: no crossval.json; run crossval there")
        diff = compare_crossvals(result, json.loads(path.read_text()))
        click.echo(_line(f"difference to {opts['against']}", diff["difference"]))
    click.echo(f"written: {Path(opts['out']) / 'crossval.json'}")
