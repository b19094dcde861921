"""Benchmark: patches per second the training loader delivers from full-size LandCover.ai
sheets, with 0, 1 and 2 DataLoader worker processes.

Builds (once, in --workdir) a LandCover.ai-layout folder: ``images/<sheet>.tif`` a full-size
3-band GeoTIFF on a real mask sheet's grid (pixels tiled from the built-in LoveDA imagery, as
bench/predict.py makes them), ``masks/<sheet>.tif`` the real mask (a link), and ``train.txt``
with that sheet's official tile ids. Then reads --patches random 128-px patches (flips and
turns, normalised) through ``RandomPatches`` and a DataLoader as training does (EpochIndices,
persistent workers), after one warm-up batch. Each worker count is measured with both read
paths in one run: "window" (today's: only the GeoTIFF blocks under the patch, files kept
open) and "whole" (before: each file opened, the whole 512-px tile decoded, the patch sliced
from it); the patches are identical.

GDAL keeps the decoded blocks of open files (GDAL_CACHEMAX, by default 5 % of RAM), so with
one sheet later windows often find their blocks decoded; ``GDAL_CACHEMAX=8`` (MB) leaves
almost no reuse, as a training set of many sheets larger than the cache would.

    python bench/data.py
    GDAL_CACHEMAX=8 python bench/data.py
    python bench/data.py --patches 2048 --workers 0 1 2 4 --reads window
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from machine import describe_machine  # noqa: E402
from predict import DEFAULT_GRID, make_sheet  # noqa: E402


def make_folder(root: Path, grid: Path) -> Path:
    """A LandCover.ai-layout folder holding one full-size sheet."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(exist_ok=True)
    image = root / "images" / grid.name
    if not image.exists():
        make_sheet(grid, image, None)
    mask = root / "masks" / grid.name
    if not mask.exists():
        mask.symlink_to(grid)
    official = (grid.parent.parent / "train.txt").read_text().split()
    ids = [t for t in official if t.rsplit("_", 1)[0] == grid.stem]
    for split in ("train", "val", "test"):
        (root / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return root


def whole_tile_reads(tiles):
    """``tiles`` with the read path before windowed patches: files opened for every read, the
    whole tile decoded, then sliced."""
    from hq_qiskit.datasets.tiles import Tiles

    class WholeTiles(type(tiles)):
        patch = Tiles.patch

    return WholeTiles(tiles.refs, tiles.class_map, tiles.classes, bands=tiles.bands, keep_open=0)


def rate(
    root: Path, workers: int, patches: int, batch: int, read: str = "window"
) -> tuple[float, float]:
    """(patches/s, wall; CPU seconds per patch of this process: all the work with 0 workers)."""
    from torch.utils.data import DataLoader

    from hq_qiskit.datasets import open_tiles
    from hq_qiskit.samplers import EpochIndices, RandomPatches

    tiles = open_tiles(str(root), "train")
    if read == "whole":
        tiles = whole_tile_reads(tiles)
    data = RandomPatches(tiles, 128, patches + batch, mean=[90.0] * 3, std=[45.0] * 3, seed=0)
    loader = DataLoader(
        data,
        batch_size=batch,
        sampler=EpochIndices(data),
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    it = iter(loader)
    next(it)  # warm-up: workers started, first tiles opened
    start, cpu, n = time.perf_counter(), time.process_time(), 0
    for x, _ in it:  # (B, 3, 128, 128)
        n += len(x)
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/hq_qiskit_bench_data"))
    parser.add_argument("--grid", type=Path, default=DEFAULT_GRID)
    parser.add_argument("--patches", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--reads", nargs="+", choices=["window", "whole"], default=["window", "whole"]
    )
    args = parser.parse_args()
    root = make_folder(args.workdir, args.grid)
    print(f"machine: {describe_machine()}")
    print(f"data: {root} (one {args.grid.stem} sheet, full size), 128-px patches")
    for w in args.workers:
        for read in args.reads:
            r, cpu = rate(root, w, args.patches, args.batch_size, read)
            own = f", {1e3 * cpu:.1f} CPU ms per patch" if w == 0 else ""
            print(
                f"  {w} worker{'s' * (w != 1)}, {read:6s} reads: {r:.0f} patches/s{own} "
                f"(load now {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    main()
