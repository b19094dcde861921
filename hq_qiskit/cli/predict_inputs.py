"""How ``hq-qiskit predict`` runs its inputs: one raster in this process (``predict_one``),
several as one Dask task per sheet (``predict_many``), with the checkpoint's settings and the
command's options gathered once into ``SheetOptions`` (``sheet_options``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from hq_qiskit.errors import ConfigError

if TYPE_CHECKING:
    from hq_qiskit.cluster.sheets import SheetOptions


def parse_bands(text: str | None) -> list[int] | None:
    """``"4,3,2"`` -> [4, 3, 2]; None stays None."""
    if text is None:
        return None
    try:
        return [int(b) for b in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"--bands {text!r}: give 1-based band numbers, e.g. --bands 1,2,3"
        ) from None


def checkpoint_settings(config: dict) -> dict:
    """mean, std, classes and patch_px from a run's config (flat or TrainConfig keys)."""
    options = config.get("model_options", {})
    settings = {
        "mean": config.get("mean"),
        "std": config.get("std"),
        "classes": config.get("classes") or config.get("class_names"),
        "patch_px": config.get("patch_px") or options.get("patch_px"),
    }
    missing = [k for k, v in settings.items() if not v]
    if missing:
        raise ConfigError(
            f"checkpoint config lacks {missing}; it was not written by hq-qiskit train "
            "(retrain, or give --patch-px)"
        )
    return settings


def predict_one(opts: SheetOptions, image: Path, output: Path, *, progress: bool) -> None:
    """One input: check the outputs, restore the checkpoint, predict, say what was written.

    ``opts`` holds ``predict``'s per-sheet options (``sheet_options``); ``patch_px`` None takes
    the checkpoint's patch side and ``overlap_px`` None a quarter of it (pixels).
    """
    from hq_qiskit.atomic import probe_writable
    from hq_qiskit.cluster.sheets import predict_with
    from hq_qiskit.device import resolve_device
    from hq_qiskit.predict import check_outputs
    from hq_qiskit.training.restore import restore

    check_outputs(
        image, output, opts.probabilities, opts.overlay, opts.overwrite
    )  # fail before loading
    probe_writable(output.parent, "-o", output)
    noise = "ideal" if opts.ideal else "as_trained"
    restored = restore(Path(opts.checkpoint), engine=opts.engine, noise=noise)
    model = restored.model
    settings = checkpoint_settings(restored.config.to_dict())
    patch = opts.patch_px if opts.patch_px is not None else int(settings["patch_px"])
    result = predict_with(
        model.to(resolve_device(opts.device)),
        image,
        output,
        opts,
        mean=settings["mean"],
        std=settings["std"],
        classes=settings["classes"],
        patch=patch,
        progress=progress,
    )
    click.echo(
        f"wrote {result.classes_path} ({result.width}x{result.height} px, "
        f"{result.tiles} tiles, {result.tiles_per_s:.1f} tiles/s)"
    )
    for extra in (result.probabilities_path, result.overlay_path):
        if extra is not None:
            click.echo(f"wrote {extra}")


def check_folder_output(
    images: tuple[str, ...], output: Path, workers: int | None, scheduler: str | None
) -> None:
    """Many-sheet mode writes a folder: refuse an -o that names a GeoTIFF file (it would
    become a folder called OUT.tif)."""
    from hq_qiskit.cluster.sheets import is_many
    from hq_qiskit.errors import OutputError

    if output.suffix.lower() not in (".tif", ".tiff") or output.is_dir():
        return
    if is_many(images):
        raise OutputError(
            f"-o {output}: several inputs are written as <sheet>.tif files into a folder; "
            f"give a folder, e.g. -o {output.with_suffix('')}"
        )
    flag = "--workers" if workers is not None else "--scheduler"
    raise OutputError(
        f"-o {output}: {flag} predicts into a folder of <sheet>.tif files; for one input "
        f"leave {flag} out, or give a folder, e.g. -o {output.with_suffix('')}"
    )


def locals_for_many(given: dict) -> dict:
    """The per-sheet settings among ``predict``'s arguments."""
    keys = ("patch_px", "overlap_px", "batch_size", "bands", "value_range", "probabilities")
    keys += ("overlay", "overwrite", "device", "engine", "ideal")
    return {k: given[k] for k in keys}


def sheet_options(checkpoint: Path, bands: str | None, **settings) -> SheetOptions:
    """``predict``'s per-sheet settings (``locals_for_many``) as one ``SheetOptions``, for one
    input and for many alike; ``bands`` is the --bands text ("4,3,2")."""
    from hq_qiskit.cluster.sheets import SheetOptions

    chosen = parse_bands(bands)
    return SheetOptions(
        checkpoint=str(checkpoint), bands=tuple(chosen) if chosen else None, **settings
    )


def predict_many(
    checkpoint: Path,
    images: tuple[str, ...],
    out_dir: Path,
    workers: int | None,
    scheduler: str | None,
    resume: bool,
    bands: str | None,
    **settings,
) -> None:
    """Several sheets on a Dask cluster: one line per sheet, the mosaic, failures by name."""
    from hq_qiskit.cluster.sheets import predict_sheets
    from hq_qiskit.errors import DataError

    opts = sheet_options(checkpoint, bands=bands, **settings)
    done = predict_sheets(
        checkpoint,
        images,
        out_dir,
        opts,
        workers=workers,
        scheduler=scheduler,
        echo=click.echo,
        resume=resume,
    )
    n = len(done.outputs) + len(done.failures)
    new = len(done.outputs) - len(done.kept)
    kept = f", {len(done.kept)} kept from before" if done.kept else ""
    click.echo(
        f"wrote {new} of {n} sheets to {out_dir}{kept} in {done.seconds:.1f} s "
        f"({60 * new / max(done.seconds, 1e-9):.1f} sheets/min, {done.where or 'no cluster'})"
    )
    if done.mosaic is not None:
        click.echo(f"wrote {done.mosaic}")
    elif done.mosaic_note:
        click.echo(f"no mosaic: {done.mosaic_note}")
    if done.failures:
        names = ", ".join(sorted(done.failures))
        raise DataError(f"{len(done.failures)} of {n} sheets failed twice: {names} (see above)")
