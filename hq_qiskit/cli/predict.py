"""``hq-qiskit predict``: a georeferenced class map for a whole raster from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.cli.options import (
    dask_workers_option,
    device_option,
    engine_option,
    ideal_option,
    scheduler_option,
)
from hq_qiskit.cli.predict_inputs import (
    check_folder_output,
    locals_for_many,
    predict_many,
    predict_one,
    sheet_options,
)
from hq_qiskit.cli.validate import FINITE_FLOAT
from hq_qiskit.errors import ConfigError


@click.command("predict")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.argument("images", metavar="INPUT...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Class GeoTIFF to write (same CRS, transform and size as INPUT); with several "
    "inputs or a pattern, a folder of <sheet>.tif and mosaic.vrt.",
)
@click.option("--patch-px", type=int, default=None, help="Patch side [default: the checkpoint's].")
@click.option(
    "--overlap-px",
    type=int,
    default=None,
    help="Overlap of neighbouring patches, blended smoothly [default: patch_px / 4].",
)
@click.option("--batch-size", type=int, default=16, show_default=True, help="Patches per pass.")
@click.option("--bands", default=None, help="1-based input bands, comma-separated (e.g. 4,3,2).")
@click.option(
    "--value-range",
    type=FINITE_FLOAT,
    nargs=2,
    default=None,
    metavar="LOW HIGH",
    help="Raw input range mapped onto 0..255 [default by dtype: uint8 0 255, "
    "uint16 0 65535, float 0 1]; data that fill a small part of it (12-bit data in 16 bits: "
    "give 0 4095) are refused.",
)
@click.option("--probabilities", is_flag=True, help="Also write OUT_probs.tif (K bands, x255).")
@click.option("--overlay", is_flag=True, help="Also write OUT_overlay.png (input + classes).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option(
    "--resume",
    is_flag=True,
    help="Several inputs: keep the sheets already complete in the -o folder (from a killed or "
    "failed run) and predict only the missing ones; the mosaic covers all.",
)
@device_option
@engine_option
@ideal_option
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@dask_workers_option("workers", "predict several inputs, one sheet each", "one per CPU core")
@scheduler_option
def predict(
    checkpoint: Path,
    images: tuple[str, ...],
    output: Path,
    patch_px: int | None,
    overlap_px: int | None,
    batch_size: int,
    bands: str | None,
    value_range: tuple[float, float] | None,
    probabilities: bool,
    overlay: bool,
    overwrite: bool,
    device: str,
    engine: str | None,
    ideal: bool,
    no_progress: bool,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
) -> None:
    """Predict a class map for a raster of any size with a trained checkpoint.

    Several inputs (or a quoted glob pattern) run one task per sheet on a Dask cluster
    and write OUT_DIR/<sheet>.tif for each plus OUT_DIR/mosaic.vrt.

    \b
    Examples:
      hq-qiskit predict runs/hq-unet-aer-0 sheet.tif -o sheet_classes.tif
      hq-qiskit predict best.pt scene.tif -o out.tif --overlap-px 64 --probabilities --overlay
      hq-qiskit predict best.pt s2.tif -o out.tif --bands 4,3,2 --value-range 0 3000
      hq-qiskit predict best.pt 'sheets/*.tif' -o maps/ --workers 4
    """
    from hq_qiskit.atomic import probe_writable
    from hq_qiskit.cluster.sheets import is_many

    if is_many(images) or workers is not None or scheduler is not None:
        check_folder_output(images, output, workers, scheduler)
        probe_writable(output, "-o")
        predict_many(
            checkpoint, images, output, workers, scheduler, resume, **locals_for_many(locals())
        )
        return
    if resume:
        raise ConfigError(
            "--resume: continues a many-sheet prediction (several inputs or a pattern); "
            "for one input run again without it"
        )
    opts = sheet_options(checkpoint, **locals_for_many(locals()))
    predict_one(opts, Path(images[0]), output, progress=not no_progress)
