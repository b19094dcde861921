"""Benchmark: georeferenced prediction of a full-size LandCover.ai sheet, end to end.

Builds (once, in --workdir) a 3-band uint8 GeoTIFF with the size, CRS and transform of a real
LandCover.ai mask sheet (default M-33-20-D-c-4-2, 9095x9636 px at 0.25 m), its pixels tiled from
the real LoveDA imagery of the built-in sample, then runs ``predict_raster`` on it and prints
peak resident memory and tiles per second. The sheet is made in a child process, so the peak
memory reported is the prediction's alone (plus Python, torch and the model).

    python bench/predict.py                          # tiny conv net, full sheet: memory
    python bench/predict.py --model hq-unet --crop 2048   # HQ-UNet (quantum bottleneck): speed
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HQ_SHARED", REPO.parent / "shared"))
DEFAULT_GRID = SHARED / "data" / "landcoverai_masks_only" / "masks" / "M-33-20-D-c-4-2.tif"


def rss_mb() -> float:
    """Current resident set size of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_sheet(grid: Path, out: Path, crop: int | None) -> None:
    """Write a uint8 RGB GeoTIFF on ``grid``'s raster grid, filled with real LoveDA tiles."""
    import rasterio
    from PIL import Image
    from rasterio.windows import Window

    from hq_qiskit.datasets import builtin_data_dir

    tiles = [
        np.asarray(Image.open(p)) for p in sorted((builtin_data_dir() / "images_png").glob("*.png"))
    ]  # 12 x (512, 512, 3)
    with rasterio.open(grid) as src:
        width, height = src.width, src.height
        if crop:
            width, height = min(width, crop), min(height, crop)
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": 3,
            "dtype": "uint8",
            "crs": src.crs,
            "transform": src.transform,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "compress": "deflate",
            "BIGTIFF": "IF_SAFER",
        }
    tmp = out.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for row, y in enumerate(range(0, height, 512)):
            h = min(512, height - y)
            band = np.empty((3, h, width), dtype=np.uint8)
            for col, x in enumerate(range(0, width, 512)):
                w = min(512, width - x)
                tile = np.rot90(tiles[(row * 5 + col * 7) % len(tiles)], (row + col) % 4)
                band[:, :, x : x + w] = tile[:h, :w].transpose(2, 0, 1)
            dst.write(band, window=Window(0, y, width, h))
    os.replace(tmp, out)


def build_model(name: str, width: int, patch_px: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name == "tiny":
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 5, 1))
    from hq_qiskit.models import HQUNet

    return HQUNet(num_classes=5, width=width, depth=4, patch_px=patch_px, bottleneck="quantum")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--grid",
        type=Path,
        default=DEFAULT_GRID,
        help="raster whose size, CRS and transform the sheet copies",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/hq_qiskit_bench"))
    parser.add_argument("--crop", type=int, default=None, help="use the top-left N x N px only")
    parser.add_argument("--model", choices=["tiny", "hq-unet"], default="tiny")
    parser.add_argument("--width", type=int, default=16, help="HQ-UNet base width")
    parser.add_argument("--patch-px", type=int, default=128)
    parser.add_argument("--overlap-px", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--make-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.grid.is_file():
        sys.exit(f"{args.grid}: not found; pass --grid with a LandCover.ai mask sheet")
    args.workdir.mkdir(parents=True, exist_ok=True)
    sheet = args.workdir / f"{args.grid.stem}{f'_crop{args.crop}' if args.crop else ''}.tif"
    if args.make_only:
        make_sheet(args.grid, sheet, args.crop)
        return
    if not sheet.exists():
        cmd = [
            sys.executable,
            __file__,
            "--make-only",
            "--grid",
            str(args.grid),
            "--workdir",
            str(args.workdir),
        ] + (["--crop", str(args.crop)] if args.crop else [])
        subprocess.run(cmd, check=True)

    import rasterio
    import torch

    from hq_qiskit.predict import predict_raster

    torch.set_num_threads(args.threads)
    model = build_model(args.model, args.width, args.patch_px).eval()
    before = rss_mb()
    start = time.perf_counter()
    result = predict_raster(
        model,
        sheet,
        args.workdir / f"{sheet.stem}_{args.model}_classes.tif",
        mean=[90.0, 95.0, 85.0],
        std=[45.0, 40.0, 42.0],
        patch_px=args.patch_px,
        overlap_px=args.overlap_px,
        batch_size=args.batch_size,
        overwrite=True,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB -> MB on Linux
    with rasterio.open(sheet) as src, rasterio.open(result.classes_path) as dst:
        same = (
            dst.crs == src.crs
            and dst.transform == src.transform
            and (dst.width, dst.height) == (src.width, src.height)
        )
        k = 5
        whole = src.width * src.height * (3 + 12 + 4 * k + 4) / 2**30
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.platform()}; "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"rasterio {rasterio.__version__} (GDAL {rasterio.__gdal_version__}); "
        f"{args.threads} torch threads"
    )
    print(
        f"input: {sheet.name} {result.width}x{result.height} px, grid of {args.grid.name}; "
        f"output on the same grid: {same}"
    )
    print(
        f"model: {args.model}"
        + (f" width {args.width}" if args.model == "hq-unet" else "")
        + f"; patch {args.patch_px} px, overlap {args.overlap_px} px, batch {args.batch_size}"
    )
    print(
        f"tiles: {result.tiles} in {seconds:.1f} s = {result.tiles / seconds:.1f} tiles/s "
        f"({result.width * result.height / seconds / 1e6:.2f} Mpx/s)"
    )
    print(
        f"resident memory: {before:.0f} MB before predicting, peak {peak:.0f} MB "
        f"(a whole-array implementation would hold >= {whole:.2f} GB of arrays)"
    )


if __name__ == "__main__":
    main()
