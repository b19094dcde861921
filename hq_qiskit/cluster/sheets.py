"""Predict many sheets on a Dask cluster: one task per sheet, a folder of outputs, a mosaic.

``hq-qiskit predict CKPT a.tif b.tif 'tiles/*.tif' -o OUT_DIR`` lands here. Everything that
can be refused (no matching file, two inputs with the same name, sheets whose band counts
differ or do not fit the model, an existing non-empty OUT_DIR without --overwrite, --workers
0, an unreachable --scheduler) is refused before OUT_DIR is created. Each worker then runs
``predict_raster`` on one sheet at a time (streaming, so its memory stays bounded as for one
sheet) and writes ``OUT_DIR/<sheet>.tif`` atomically with the input's CRS, transform and size.
A sheet whose task fails is retried once; one that fails twice is reported by name and the
others go on. ``OUT_DIR/mosaic.vrt`` puts the written sheets together.
"""

from __future__ import annotations

import glob
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rasterio

from hq_qiskit.cluster.client import check_workers, open_client
from hq_qiskit.cluster.mosaic import write_mosaic_vrt
from hq_qiskit.cluster.tasks import RETRIES, run_tasks
from hq_qiskit.datasets.raster import gdal_cause
from hq_qiskit.errors import ConfigError, DataError

GLOB_CHARS = frozenset("*?[")
MOSAIC = "mosaic.vrt"


def is_pattern(arg: str | Path) -> bool:
    """True for a glob pattern (``*``, ``?`` or ``[``) that is not itself an existing file."""
    return bool(GLOB_CHARS & set(str(arg))) and not Path(arg).exists()


def is_many(args: Sequence[str | Path]) -> bool:
    """Many-sheet mode: several INPUT arguments, or one glob pattern."""
    return len(args) > 1 or any(is_pattern(a) for a in args)


def expand_inputs(args: Sequence[str | Path]) -> list[Path]:
    """The input files: each argument itself, or the sorted files its glob pattern matches
    (``**`` recurses); duplicates dropped, order kept."""
    found: list[Path] = []
    for arg in args:
        if is_pattern(arg):
            matches = sorted(Path(p) for p in glob.glob(str(arg), recursive=True))
            matches = [p for p in matches if p.is_file()]
            if not matches:
                raise DataError(f"{arg}: no file matches this pattern")
            found += matches
        elif Path(arg).is_file():
            found.append(Path(arg))
        else:
            raise DataError(f"{arg}: no such file")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    by_stem: dict[str, Path] = {}
    for path in unique:
        if path.stem in by_stem:
            raise DataError(
                f"{by_stem[path.stem]} and {path}: both would be written to {path.stem}.tif in "
                "the output folder; predict them in separate calls (or rename one)"
            )
        by_stem[path.stem] = path
    return unique


def check_out_dir(
    out_dir: Path, inputs: Sequence[Path], overwrite: bool, resume: bool = False
) -> None:
    """Refuse an output folder that is a file, or exists with files in it (unless
    ``overwrite`` or ``resume``), or where an output would replace its own input."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"-o {out_dir}: is a file; with several inputs -o names a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (overwrite or resume):
        raise DataError(
            f"-o {out_dir}: folder exists and is not empty; pass --resume to predict only the "
            "sheets missing there, --overwrite to replace its outputs, or choose a new folder"
        )
    for path in inputs:
        if (out_dir / f"{path.stem}.tif").resolve() == path:
            raise DataError(f"-o {out_dir}: would overwrite the input {path}; choose another")


def complete_sheets(paths: Sequence[Path], out_dir: Path, opts: SheetOptions) -> dict[str, dict]:
    """The sheets whose outputs are already complete in ``out_dir`` (a GeoTIFF of the input's
    size whose first and last blocks read back, plus the asked-for siblings), by input name."""
    from hq_qiskit.datasets.raster_write import verify_geotiff
    from hq_qiskit.errors import OutputError
    from hq_qiskit.predict import sibling_paths

    kept = {}
    for path in paths:
        target = out_dir / f"{path.stem}.tif"
        probs, overlay = sibling_paths(target)
        wanted = [target] + [probs] * opts.probabilities + [overlay] * opts.overlay
        if not all(p.is_file() for p in wanted):
            continue
        with rasterio.open(path) as src:
            size = (src.width, src.height)
        try:
            verify_geotiff(target, target, *size, 1)
        except OutputError:
            continue
        kept[path.name] = {"output": str(target), "tiles": 0, "seconds": 0.0, "kept": True}
    return kept


def _run_sheets(
    paths: Sequence[Path],
    out_dir: Path,
    opts: SheetOptions,
    workers: int | None,
    scheduler: str | None,
    echo: Callable[[str], None],
    out: SheetsResult,
):
    """One task per sheet on a Dask cluster; a line per sheet as it ends; the Outcome."""
    with open_client(workers, scheduler) as cluster:
        out.where = cluster.where
        echo(f"predicting {len(paths)} sheets on a {cluster.where} -> {out_dir}")
        out_dir.mkdir(parents=True, exist_ok=True)
        task_opts = SheetOptions(**{**opts.__dict__, "torch_threads": cluster.torch_threads})
        items = [(p.name, (str(p), str(out_dir / f"{p.stem}.tif"), task_opts)) for p in paths]
        done = 0

        def report(name: str, result: Any, error: str | None) -> None:
            nonlocal done
            done += 1
            if error is None:
                echo(f"[{done}/{len(paths)}] {name}: {result['tiles']} tiles in "
                     f"{result['seconds']:.1f} s")  # fmt: skip
            else:
                echo(f"[{done}/{len(paths)}] {name}: FAILED after {RETRIES + 1} tries: {error}")

        return run_tasks(cluster.client, predict_sheet, items, on_done=report)


def check_sheets(paths: Sequence[Path], n_in: int, bands: Sequence[int] | None) -> None:
    """Refuse sheets GDAL cannot open, a mix of band counts, or too few bands for the model
    (``n_in`` channels, or the 1-based ``bands`` chosen)."""
    counts: dict[int, list[str]] = {}
    for path in paths:
        try:
            with rasterio.open(path) as src:
                counts.setdefault(src.count, []).append(path.name)
        except rasterio.errors.RasterioIOError as err:
            raise DataError(f"{path}: not a raster GDAL can read ({err})") from None
    if len(counts) > 1:
        mix = "; ".join(
            f"{n} band{'s' * (n > 1)}: {', '.join(names[:3])}{' ...' * (len(names) > 3)}"
            for n, names in sorted(counts.items())
        )
        raise DataError(
            f"sheets with different band counts ({mix}); predict each kind in its own call"
        )
    count = next(iter(counts))
    if bands is None and count != n_in:
        raise DataError(
            f"the sheets have {count} bands and the model takes {n_in}; choose them with "
            f"--bands (e.g. --bands {','.join(str(b) for b in range(1, n_in + 1))})"
        )
    if bands is not None and max(bands) > count:
        raise DataError(f"--bands {','.join(map(str, bands))}: the sheets have {count} bands")


@dataclass(frozen=True)
class SheetOptions:
    """Settings of ``predict_raster`` for every sheet, plus how to rebuild the model.

    ``patch_px`` and ``overlap_px`` None take the checkpoint's patch and a quarter of it;
    ``torch_threads`` None leaves torch's default thread count.
    """

    checkpoint: str
    engine: str | None = None
    ideal: bool = False
    device: str = "auto"
    patch_px: int | None = None
    overlap_px: int | None = None
    batch_size: int = 16
    bands: tuple[int, ...] | None = None
    value_range: tuple[float, float] | None = None
    probabilities: bool = False
    overlay: bool = False
    overwrite: bool = False
    torch_threads: int | None = None


_MODELS: dict[tuple, Any] = {}  # per worker process: restored once, used for every sheet


def _model(opts: SheetOptions):
    import torch

    from hq_qiskit.training.restore import restore

    device = opts.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    key = (opts.checkpoint, opts.engine, opts.ideal, device)
    if key not in _MODELS:
        noise = "ideal" if opts.ideal else "as_trained"
        restored = restore(opts.checkpoint, engine=opts.engine, noise=noise)
        _MODELS[key] = (restored.model.to(device), restored.config)
    return _MODELS[key]


def predict_sheet(in_path: str, out_path: str, opts: SheetOptions) -> dict[str, Any]:
    """The task: predict one sheet into ``out_path``; returns its sizes, time and the worker
    process's peak memory (MiB)."""
    import torch

    if opts.torch_threads is not None:
        torch.set_num_threads(opts.torch_threads)
    model, cfg = _model(opts)
    patch = opts.patch_px or cfg.patch_px
    with gdal_reason(in_path):
        result = predict_with(
            model,
            in_path,
            out_path,
            opts,
            mean=cfg.mean,
            std=cfg.std,
            classes=cfg.class_names,
            patch=patch,
        )
    return {
        "output": str(result.classes_path),
        "width": result.width,
        "height": result.height,
        "tiles": result.tiles,
        "seconds": result.seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
    }


@contextmanager
def gdal_reason(in_path: str) -> Iterator[None]:
    """A rasterio error from a sheet becomes one DataError with GDAL's own reason, so the
    failure line says what broke rather than "See previous exception for details"."""
    try:
        yield
    except rasterio.errors.RasterioError as err:
        raise DataError(f"{in_path}: {gdal_cause(err)}") from None


def predict_with(
    model,
    in_path: str | Path,
    out_path: str | Path,
    opts: SheetOptions,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    classes: Sequence[str],
    patch: int,
    progress: bool = False,
):
    """``predict_raster`` of one input with ``opts``' settings; one sheet of many and the
    CLI's single input alike.

    Args:
        model: the restored model, on its device.
        in_path, out_path: the input raster and the class GeoTIFF to write.
        opts: the per-sheet settings (its ``overlap_px`` None: a quarter of ``patch``).
        mean, std: per-band normalisation of the checkpoint (raw scale).
        classes: class names of the checkpoint.
        patch: patch side in pixels.
        progress: show predict_raster's tqdm bar.
    """
    from hq_qiskit.predict import predict_raster

    return predict_raster(
        model,
        in_path,
        out_path,
        mean=mean,
        std=std,
        patch_px=patch,
        overlap_px=patch // 4 if opts.overlap_px is None else opts.overlap_px,
        batch_size=opts.batch_size,
        classes=classes,
        bands=list(opts.bands) if opts.bands is not None else None,
        value_range=opts.value_range,
        probabilities=opts.probabilities,
        overlay=opts.overlay,
        overwrite=opts.overwrite,
        progress=progress,
    )


@dataclass
class SheetsResult:
    """What ``predict_sheets`` did: outputs by input name, failures by input name, the mosaic
    (None when no sheet succeeded or the sheets do not share a CRS), timing."""

    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    mosaic: Path | None = None
    mosaic_note: str = ""
    where: str = ""
    kept: list[str] = field(default_factory=list)  # --resume: complete before this run
    seconds: float = 0.0


def predict_sheets(
    checkpoint: Path,
    inputs: Sequence[str | Path],
    out_dir: Path,
    opts: SheetOptions,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    echo: Callable[[str], None] = print,
    resume: bool = False,
) -> SheetsResult:
    """Predict every input sheet into ``out_dir`` on a Dask cluster; write ``mosaic.vrt``.

    Args:
        checkpoint: run folder or checkpoint file (restored once per worker process).
        inputs: files and glob patterns.
        out_dir: output folder: ``<sheet>.tif`` per input (plus ``_probs``/``_overlay``
            siblings when asked) and ``mosaic.vrt``.
        opts: per-sheet settings (``checkpoint`` and ``torch_threads`` are filled here).
        workers: local worker processes (default: one per CPU core).
        scheduler: address of an existing Dask scheduler instead of a local cluster.
        resume: keep the sheets already complete in ``out_dir`` (from a killed or failed
            run) and predict only the others; the mosaic covers them all.
    """
    from hq_qiskit.training.checkpoint import load_checkpoint
    from hq_qiskit.training.restore import find_checkpoint

    check_workers(workers)
    paths = expand_inputs(inputs)
    check_out_dir(Path(out_dir), paths, opts.overwrite, resume)
    ckpt = find_checkpoint(checkpoint)
    config = load_checkpoint(ckpt)["config"]
    mean = config.get("mean") or []
    if not mean:
        raise ConfigError(f"{ckpt}: its config has no input statistics; retrain it")
    check_sheets(paths, len(mean), opts.bands)
    start = time.perf_counter()
    out = SheetsResult()
    kept = complete_sheets(paths, Path(out_dir), opts) if resume else {}
    todo = [p for p in paths if p.name not in kept]
    if resume:
        echo(f"--resume: {len(kept)} of {len(paths)} sheets already complete in {out_dir}")
    if todo:
        opts = SheetOptions(**{**opts.__dict__, "checkpoint": str(ckpt)})
        outcome = _run_sheets(todo, Path(out_dir), opts, workers, scheduler, echo, out)
        out.outputs, out.failures = outcome.results, outcome.failures
    out.outputs, out.kept = {**kept, **out.outputs}, sorted(kept)
    written = [Path(out.outputs[p.name]["output"]) for p in paths if p.name in out.outputs]
    if written:
        try:
            out.mosaic = write_mosaic_vrt(written, Path(out_dir) / MOSAIC)
        except DataError as err:
            out.mosaic_note = str(err)
    out.seconds = time.perf_counter() - start
    return out
