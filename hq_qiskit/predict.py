"""Georeferenced prediction of a whole raster: sliding window, smooth blending, GeoTIFF out.

``predict_raster`` walks the input in rows of overlapping square patches. Each row of patches
is read as one full-width strip (cheap for striped and tiled GeoTIFFs alike), normalised, run
through the model in batches, and its logits are added into a rolling accumulator, weighted by
a window that tapers linearly over the overlap. Rows no later patch can touch are divided by
their summed weights, turned into classes (and optionally probabilities) and written out in
block-aligned bands, so memory is bounded by a few strips of the input's width, whatever its
height (plus GDAL's block cache, capped at ``GDAL_CACHE_MB``). The output is a tiled,
compressed GeoTIFF with the input's CRS, transform and size, a colour table and the run's
statistics in its tags; it is written to a temp file and renamed into place, so a failed run
leaves no half-written file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import torch
from PIL import Image
from rasterio.enums import MaskFlags, Resampling
from rasterio.windows import Window
from torch import nn
from tqdm.auto import tqdm

from hq_qiskit import __version__
from hq_qiskit.atomic import atomic_path
from hq_qiskit.datasets.classes import LANDCOVERAI_CLASSES, class_colours
from hq_qiskit.datasets.raster import (
    default_value_range,
    open_raster,
    quiet_no_georef,
    reading,
    select_bands,
    to_255,
)
from hq_qiskit.datasets.raster_write import gdal_write_errors, verify_geotiff
from hq_qiskit.datasets.value_range import (
    band_statistics,
    check_value_range,
    declared_bits,
)
from hq_qiskit.errors import ConfigError, DataError, OutputError
from hq_qiskit.samplers.grid import grid_starts

log = logging.getLogger(__name__)

GEOTIFF_SUFFIXES = (".tif", ".tiff")  # what -o may end in (the output is always a GeoTIFF)
BLOCK_PX = 256  # output GeoTIFF block side
GDAL_CACHE_MB = 256  # GDAL's block cache (default: 5 % of RAM) capped, so memory stays bounded


@dataclass(frozen=True)
class Prediction:
    """What ``predict_raster`` wrote and how long it took."""

    classes_path: Path
    probabilities_path: Path | None
    overlay_path: Path | None
    width: int
    height: int
    tiles: int
    seconds: float

    @property
    def tiles_per_s(self) -> float:
        return self.tiles / max(self.seconds, 1e-9)


def blend_window(patch_px: int, overlap_px: int) -> np.ndarray:
    """Blending weights (P, P), float32 in (0, 1]: 1 inside, ramping down over the overlap.

    Along each axis the weight is min(1, (i + 0.5) / O, (P - i - 0.5) / O), so two patches
    overlapping by O pixels hand over linearly; with O = 0 every weight is 1.
    """
    i = np.arange(patch_px, dtype=np.float32) + 0.5
    if overlap_px == 0:
        ramp = np.ones(patch_px, dtype=np.float32)
    else:
        ramp = np.minimum(1.0, np.minimum(i, patch_px - i) / overlap_px).astype(np.float32)
    return np.outer(ramp, ramp)


def sibling_paths(out_path: Path) -> tuple[Path, Path]:
    """Paths of the optional outputs beside ``OUT.tif``: ``OUT_probs.tif``, ``OUT_overlay.png``."""
    return (
        out_path.with_name(f"{out_path.stem}_probs.tif"),
        out_path.with_name(f"{out_path.stem}_overlay.png"),
    )


def check_outputs(
    in_path: Path, out_path: Path, probabilities: bool, overlay: bool, overwrite: bool
) -> tuple[Path, Path]:
    """Refuse outputs that exist (unless ``overwrite``) or overwrite the input; returns the
    probabilities and overlay paths."""
    probs_path, overlay_path = sibling_paths(out_path)
    if out_path.resolve() == Path(in_path).resolve():
        raise DataError(f"-o {out_path}: is the input itself; choose another output path")
    for path in [out_path] + [probs_path] * probabilities + [overlay_path] * overlay:
        if path.is_dir():
            raise DataError(
                f"-o {out_path}: {path} is a folder, which --overwrite does not replace; "
                f"give a file path, e.g. -o {out_path / 'classes.tif'}"
            )
        if path.exists() and not overwrite:
            raise DataError(f"{path}: already exists; pass --overwrite or choose another -o")
    if out_path.suffix.lower() not in GEOTIFF_SUFFIXES:
        raise OutputError(
            f"-o {out_path}: predict writes a GeoTIFF, so its name must end in .tif; "
            f"e.g. -o {out_path.with_suffix('.tif')}"
        )
    return probs_path, overlay_path


class RowWriter:
    """Write rows (C, h, W) to a dataset top to bottom in bands of whole blocks."""

    def __init__(self, dst, block_rows: int) -> None:
        self.dst, self.block_rows = dst, block_rows
        self.pending: list[np.ndarray] = []
        self.top = 0  # first row not yet written

    def push(self, rows: np.ndarray) -> None:
        self.pending.append(rows)
        n = sum(p.shape[1] for p in self.pending)
        if n >= self.block_rows:
            self._write(n - n % self.block_rows)

    def close(self) -> None:
        n = sum(p.shape[1] for p in self.pending)
        if n:
            self._write(n)

    def _write(self, n: int) -> None:
        data = np.concatenate(self.pending, axis=1)  # (C, rows, W)
        self.dst.write(data[:, :n], window=Window(0, self.top, data.shape[2], n))
        self.top += n
        self.pending = [data[:, n:]] if data.shape[1] > n else []


class Strips:
    """Normalised full-width strips of an input raster, with their validity masks.

    The first strip read is checked against ``value_range`` (``check_value_range``, with the
    file's own band statistics and declared bit depth where present).
    """

    def __init__(
        self, src, bands: list[int], mean, std, value_range, path=None, assumed=False
    ) -> None:
        self.src, self.bands = src, bands
        self.mean = np.asarray(mean, dtype=np.float32)[:, None, None]  # (C, 1, 1), 0..255 scale
        self.std = np.asarray(std, dtype=np.float32)[:, None, None]
        self.value_range = value_range
        self.path = path or src.name
        self.checked, self.assumed = False, assumed
        self.stats, self.bits = band_statistics(src, bands), declared_bits(src, bands)
        flags = [src.mask_flag_enums[b - 1] for b in bands]
        self.masked = any(MaskFlags.all_valid not in f for f in flags)

    def read(self, top: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows [top, top + rows): image float32 (C, rows, W) normalised, valid bool (rows, W)."""
        window = Window(0, top, self.src.width, rows)
        with reading(self.path, f"reading rows {top}..{top + rows - 1}"):
            raw = self.src.read(self.bands, window=window)  # (C, rows, W), input dtype
            valid = np.ones(raw.shape[1:], dtype=bool)
            if self.masked:
                valid = self.src.read_masks(self.bands, window=window).max(axis=0) > 0
        x = to_255(raw, self.value_range)  # (C, rows, W) on the 0..255 scale
        if raw.dtype.kind == "f":
            valid &= np.isfinite(raw).all(axis=0)
        if not self.checked:
            check_value_range(
                raw, valid, self.value_range, self.path, self.assumed, self.stats, self.bits
            )
            self.checked = True
        x = np.where(valid[None], x, self.mean)  # nodata -> the mean, i.e. 0 after normalising
        return ((x - self.mean) / self.std).astype(np.float32), valid


def patch_batches(
    strip: np.ndarray, xs: Sequence[int], patch_px: int, batch_size: int
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Cut a strip (C, h, W) into patches (B, C, P, P) at columns ``xs``, zero-padded to P."""
    c, h, w = strip.shape
    for i in range(0, len(xs), batch_size):
        cols = list(xs[i : i + batch_size])
        batch = np.zeros((len(cols), c, patch_px, patch_px), dtype=np.float32)
        for j, x in enumerate(cols):
            piece = strip[:, :, x : x + patch_px]  # (C, <=P, <=P)
            batch[j, :, : piece.shape[1], : piece.shape[2]] = piece
        yield cols, batch


def _class_profile(src, n_classes: int, **extra) -> dict:
    return {
        "driver": "GTiff",
        "width": src.width,
        "height": src.height,
        "crs": src.crs,
        "transform": src.transform,
        "tiled": True,
        "blockxsize": BLOCK_PX,
        "blockysize": BLOCK_PX,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
        **extra,
    }


def write_overlay(
    image_path: Path,
    classes_path: Path,
    out: Path,
    bands,
    value_range,
    max_side_px: int = 1024,
    alpha: float = 0.5,
) -> None:
    """PNG of the input (decimated to at most ``max_side_px``) with class colours blended in."""
    with open_raster(image_path) as src, rasterio.open(classes_path) as cls, reading(image_path):
        scale = max(src.width, src.height) / max_side_px
        h, w = max(1, round(src.height / max(scale, 1))), max(1, round(src.width / max(scale, 1)))
        rgb = src.read(
            bands[:3] if len(bands) >= 3 else [bands[0]] * 3,
            out_shape=(3, h, w),
            resampling=Resampling.average,
        )
        labels = cls.read(1, out_shape=(h, w), resampling=Resampling.nearest)  # (h, w)
        colours = np.array(class_colours(int(cls.tags().get("N_CLASSES", 256))), dtype=np.float32)
    base = np.clip(to_255(rgb, value_range), 0, 255).transpose(1, 2, 0)  # (h, w, 3)
    known = labels < len(colours)
    tint = colours[np.where(known, labels, 0)]
    blended = np.where(known[..., None], (1 - alpha) * base + alpha * tint, base)
    Image.fromarray(blended.astype(np.uint8)).save(out, format="PNG")


def predict_raster(
    model: nn.Module,
    in_path: str | Path,
    out_path: str | Path,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    patch_px: int = 128,
    overlap_px: int = 32,
    batch_size: int = 16,
    classes: Sequence[str] = LANDCOVERAI_CLASSES,
    bands: Sequence[int] | None = None,
    value_range: tuple[float, float] | None = None,
    probabilities: bool = False,
    overlay: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> Prediction:
    """Predict a class map for a whole raster and write it as a georeferenced GeoTIFF.

    Args:
        model: maps (B, C, P, P) normalised float32 to logits (B, K, P, P); run on the device
            of its parameters, in eval mode.
        in_path: input raster (GeoTIFF or any GDAL format), any size.
        out_path: class GeoTIFF to write: uint8 (uint16 past 255 classes), 255 (65535) where
            the input is nodata; same CRS, transform, width and height as the input.
        mean, std: per-channel statistics on the 0..255 scale (the training run's); their
            length is the number of input channels.
        patch_px: patch side in pixels (the model's training patch size).
        overlap_px: overlap between neighbouring patches in pixels (0..patch_px-1); logits are
            blended with weights ramping linearly over it.
        batch_size: patches per forward pass.
        classes: class names, K of them.
        bands: 1-based input bands (default: all, when their count equals len(mean)).
        value_range: raw input range mapped onto 0..255 before normalising (default by dtype:
            uint8 0..255, uint16 0..65535, float 0..1).
        probabilities: also write ``<OUT>_probs.tif``: K uint8 bands, probability x 255.
        overlay: also write ``<OUT>_overlay.png``: the input with class colours, max side 1024.
        overwrite: replace existing outputs instead of refusing.
        progress: show a progress bar of tiles done.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    check_settings(mean, std, patch_px, overlap_px, batch_size)
    probs_path, overlay_path = check_outputs(in_path, out_path, probabilities, overlay, overwrite)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_path, probs_path] if probabilities else [out_path]

    start = time.perf_counter()
    # every output is written to a temp path beside it and renamed into place only when all of
    # them are complete (atomic_path); a failure anywhere leaves the old files untouched
    with ExitStack() as outputs, gdal_write_errors(out_path) as gdal_errors, quiet_no_georef():
        with ExitStack() as stack:
            strips = _open_input(stack, in_path, mean, std, bands, value_range, patch_px)
            tags = run_tags(strips, in_path, classes, mean, std, patch_px, overlap_px)
            writers, temps = _open_outputs(outputs, stack, strips.src, paths, classes, tags)
            tiles = _sliding_window(
                model, strips, writers, patch_px, overlap_px, batch_size, len(classes), progress
            )
            _close_outputs(writers)
        # GDAL flushes blocks and the TIFF directory at close() without raising on a full
        # disk: read every GeoTIFF back before any of them replaces an earlier file
        size = (strips.src.width, strips.src.height)
        for tmp, path, count in zip(temps, paths, (1, len(classes)), strict=False):
            verify_geotiff(tmp, path, *size, count, gdal_errors)
        if overlay:
            tmp_png = outputs.enter_context(atomic_path(overlay_path))
            write_overlay(in_path, temps[0], tmp_png, strips.bands, strips.value_range)
    with quiet_no_georef(), rasterio.open(out_path) as done:
        width, height = done.width, done.height
    return Prediction(
        out_path,
        probs_path if probabilities else None,
        overlay_path if overlay else None,
        width,
        height,
        tiles,
        time.perf_counter() - start,
    )


def check_settings(
    mean: Sequence[float], std: Sequence[float], patch_px: int, overlap_px: int, batch_size: int
) -> None:
    """Refuse a patch side, overlap or batch size out of range, or ``std`` not matching
    ``mean`` (one value per input band each), with one line naming the option."""
    if patch_px < 1:
        raise ConfigError(f"--patch-px {patch_px}: must be >= 1 (the model's training patch side)")
    if batch_size < 1:
        raise ConfigError(f"--batch-size {batch_size}: must be >= 1")
    if not 0 <= overlap_px < patch_px:
        raise ConfigError(f"--overlap-px {overlap_px}: choose 0..{patch_px - 1} (below --patch-px)")
    if len(std) != len(mean):
        raise ConfigError(f"mean {list(mean)} and std {list(std)}: give one value per band each")


def class_dtype(n_classes: int) -> tuple[str, int]:
    """The class map's (dtype, nodata): ("uint8", 255), or ("uint16", 65535) past 255 classes."""
    return ("uint16", 65535) if n_classes > 255 else ("uint8", 255)


def _open_input(
    stack: ExitStack, in_path: Path, mean, std, bands, value_range, patch_px: int
) -> Strips:
    """Open the input inside ``stack`` (GDAL's cache capped) and check its first strip.

    Chooses the bands (``select_bands``), warns once when it has no CRS, and reads the first
    ``patch_px`` rows so that a value range that does not fit fails before any output exists.
    """
    stack.enter_context(rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB))
    src = stack.enter_context(open_raster(in_path))
    chosen = select_bands(src, bands, len(mean), in_path)
    if src.crs is None:  # said once, through logging (the CLI prints it as one line)
        log.warning(f"{in_path}: has no CRS; the prediction will have none either")
    vrange = value_range or default_value_range(src.dtypes[chosen[0] - 1])
    strips = Strips(src, chosen, mean, std, vrange, in_path, value_range is None)
    strips.read(0, min(patch_px, src.height))  # the range check, before any output
    return strips


def run_tags(
    strips: Strips, in_path: Path, classes, mean, std, patch_px: int, overlap_px: int
) -> dict[str, str]:
    """GeoTIFF tags that record the run: classes, statistics, value range, bands, patching."""
    vrange = strips.value_range
    return {
        "CLASSES": ",".join(classes),
        "N_CLASSES": str(len(classes)),
        "MEAN": ",".join(f"{v:.6g}" for v in mean),
        "STD": ",".join(f"{v:.6g}" for v in std),
        "VALUE_RANGE": f"{vrange[0]:.6g},{vrange[1]:.6g}",
        "BANDS": ",".join(map(str, strips.bands)),
        "PATCH_PX": str(patch_px),
        "OVERLAP_PX": str(overlap_px),
        "SOURCE": in_path.name,
        "SOFTWARE": f"hq-qiskit {__version__}",
    }


def _open_outputs(
    outputs: ExitStack, stack: ExitStack, src, paths: list[Path], classes, tags: dict[str, str]
) -> tuple[list[RowWriter], list[Path]]:
    """Open the class GeoTIFF (and, with a second path, the probabilities one) at temp paths.

    Each temp path is entered in ``outputs`` (renamed into place when it closes), each dataset
    in ``stack``. The class map gets the tags, a colour table (up to 255 classes) and transparent
    nodata; the probabilities one K uint8 bands named after the classes, scale 1/255.
    Returns one ``RowWriter`` and one temp path per output.
    """
    n_classes = len(classes)
    dtype, nodata = class_dtype(n_classes)
    tmp_cls = outputs.enter_context(atomic_path(paths[0]))
    dst = stack.enter_context(
        rasterio.open(
            tmp_cls, "w", **_class_profile(src, n_classes, count=1, dtype=dtype, nodata=nodata)
        )
    )
    dst.update_tags(**tags)
    dst.set_band_description(1, "class")
    if n_classes <= 255:
        colours = class_colours(n_classes)
        dst.write_colormap(
            1, {i: (*c, 255) for i, c in enumerate(colours)} | {nodata: (0, 0, 0, 0)}
        )
    writers, temps = [RowWriter(dst, BLOCK_PX)], [tmp_cls]
    if len(paths) > 1:
        tmp_probs = outputs.enter_context(atomic_path(paths[1]))
        profile = _class_profile(src, n_classes, count=n_classes, dtype="uint8", interleave="band")
        pdst = stack.enter_context(rasterio.open(tmp_probs, "w", **profile))
        pdst.update_tags(**tags, SCALE="probability = value / 255")
        for k, name in enumerate(classes, start=1):
            pdst.set_band_description(k, name)
        pdst.scales = [1 / 255] * n_classes
        writers.append(RowWriter(pdst, BLOCK_PX))
        temps.append(tmp_probs)
    return writers, temps


def _close_outputs(writers: list[RowWriter]) -> None:
    """Write the rows still pending; give a class map over 4 blocks a side overviews (nearest,
    2x..32x, down to about 256 px)."""
    for writer in writers:
        writer.close()
    dst = writers[0].dst
    if max(dst.width, dst.height) > 4 * BLOCK_PX:
        factors = [f for f in (2, 4, 8, 16, 32) if max(dst.width, dst.height) / f >= 256]
        dst.build_overviews(factors, Resampling.nearest)


def _sliding_window(
    model, strips: Strips, writers, patch_px, overlap_px, batch_size, n_classes, progress
) -> int:
    """Run the model over every patch, blend, and push finished rows to ``writers``.

    Nodata pixels get the class map's nodata value (``class_dtype``) and probability 0.
    """
    nodata, name = class_dtype(n_classes)[1], Path(strips.path).name
    src = strips.src
    height, width = src.height, src.width
    stride = patch_px - overlap_px
    ys, xs = grid_starts(height, patch_px, stride), grid_starts(width, patch_px, stride)
    rows_px = min(patch_px, height)  # accumulator height: one patch (or the whole raster)
    acc = np.zeros((n_classes, rows_px, width), dtype=np.float32)  # weighted logit sums
    wsum = np.zeros((rows_px, width), dtype=np.float32)  # summed weights
    weight = blend_window(patch_px, overlap_px)  # (P, P)
    params = next(iter(model.parameters()), None)
    device = params.device if params is not None else torch.device("cpu")
    model.eval()
    bar = tqdm(total=len(ys) * len(xs), unit="tile", desc=name, disable=not progress)
    try:
        for r, y in enumerate(ys):
            strip, valid = strips.read(y, rows_px)  # (C, rows_px, W), (rows_px, W)
            for cols, batch in patch_batches(strip, xs, patch_px, batch_size):
                with torch.inference_mode():
                    logits = model(torch.from_numpy(batch).to(device)).float().cpu().numpy()
                if logits.shape[1:] != (n_classes, patch_px, patch_px):
                    raise ConfigError(
                        f"the model returned {tuple(logits.shape)} for {len(cols)} patches of "
                        f"{patch_px} px; expected (B, {n_classes}, {patch_px}, {patch_px}): "
                        "set --patch-px to the training patch size and check the class count"
                    )
                for logit, x in zip(logits, cols, strict=True):  # logit (K, P, P)
                    w = min(patch_px, width - x)
                    acc[:, :, x : x + w] += logit[:, :rows_px, :w] * weight[:rows_px, :w]
                    wsum[:, x : x + w] += weight[:rows_px, :w]
                bar.update(len(cols))
            done = ys[r + 1] - y if r + 1 < len(ys) else rows_px  # rows no later patch touches
            blended = acc[:, :done] / wsum[None, :done]  # (K, done, W) mean logits
            labels = blended.argmax(axis=0).astype(writers[0].dst.dtypes[0])
            labels[~valid[:done]] = nodata
            writers[0].push(labels[None])
            if len(writers) > 1:
                z = np.exp(blended - blended.max(axis=0, keepdims=True))
                probs = np.rint(255 * z / z.sum(axis=0, keepdims=True)).astype(np.uint8)
                probs[:, ~valid[:done]] = 0
                writers[1].push(probs)
            acc[:, : rows_px - done] = acc[:, done:].copy()  # slide the accumulator down
            acc[:, rows_px - done :] = 0
            wsum[: rows_px - done] = wsum[done:].copy()
            wsum[rows_px - done :] = 0
    finally:
        bar.close()
    return len(ys) * len(xs)
