"""Options that name a data folder and what of it a command reads: ``--data`` (one folder, or
repeated for several), ``--class-map`` and the ``--split`` of a command that scores a run.
Every layout they accept is the one ``datasets.open_labelled`` reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from hq_qiskit.cli.options import choice_option


def _check_data(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """--data must be an existing, non-empty folder; None means the built-in sample."""
    if value is None:
        return None
    path = Path(value)
    fix = (
        "give a LoveDA, LandCover.ai, OpenEarthMap, Dubai or plain images/+masks/ folder, or "
        "leave --data out to use the built-in sample"
    )
    if not path.exists():
        raise click.BadParameter(f"folder {path} does not exist; {fix}")
    if not path.is_dir():
        raise click.BadParameter(f"{path} is a file, not a folder; {fix}")
    if not any(path.iterdir()):
        raise click.BadParameter(f"folder {path} is empty; {fix}")
    return path


data_option = click.option(
    "--data",
    default=None,
    metavar="DIR",
    callback=_check_data,
    help="Dataset folder (LoveDA, LandCover.ai, OpenEarthMap, Dubai or a plain images/+masks/ "
    "folder). Default: the built-in LoveDA sample.",
)


def _check_folders(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[Path, ...]:
    """Each repeated --data must be an existing, non-empty folder; () means the built-in one."""
    folders = (_check_data(ctx, param, v) for v in value)
    return tuple(f for f in folders if f is not None)  # a given value is never None


data_folders_option = click.option(
    "--data",
    multiple=True,
    metavar="DIR",
    callback=_check_folders,
    help="Dataset folder (LoveDA, LandCover.ai, OpenEarthMap, Dubai or plain layout); repeat it "
    "to train on several folders as one set (--data loveda/ --data dubai/), each with its "
    "layout's class map and its own train and val splits. Default: the built-in LoveDA sample.",
)


class_map_option = click.option(
    "--class-map",
    "class_map",
    default=None,
    metavar="FILE",
    help="JSON file mapping raw mask values to class indices (255: ignore), e.g. "
    '{"0": 255, "1": 0, "2": 1}, for masks whose values the layout does not map. '
    "[default: the layout's map to LandCover.ai's classes]",
)


SCORED_SPLITS = ["val", "test", "train", "all"]


def scored_split_option(verb: str = "score") -> Callable:
    """``--split`` of a command that scores a trained run on a data folder's tiles."""
    return choice_option(
        "--split",
        SCORED_SPLITS,
        "val",
        f"Split of the data folder whose tiles to {verb}; 'all': every image/mask pair, no split "
        "lists needed (a plain images/+masks/ folder, LoveDA, LandCover.ai, OpenEarthMap, Dubai).",
    )
