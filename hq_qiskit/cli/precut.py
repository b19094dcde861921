"""``hq-qiskit precut``: cut a LandCover.ai tree into lossless 512-px PNG tiles."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("precut")
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option(
    "--overwrite",
    is_flag=True,
    help="Write into an existing non-empty DST, replacing files of the same name.",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def precut(src: Path, dst: Path, overwrite: bool, no_progress: bool) -> None:
    """Cut every full 512-px tile of a LandCover.ai tree (SRC) into lossless PNGs under DST.

    \b
    Examples:
      hq-qiskit precut landcover.ai_v1 landcoverai_tiles
      hq-qiskit precut landcover.ai_v1 landcoverai_tiles --overwrite --no-progress
      hq-qiskit train --data landcoverai_tiles
    """
    from hq_qiskit.datasets.precut import precut_landcoverai

    n = precut_landcoverai(src, dst, overwrite=overwrite, progress=not no_progress)
    click.echo(f"wrote {n} tiles to {dst / 'output'}")
