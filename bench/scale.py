"""Benchmark: scale-out on this machine: data-parallel training under torchrun (1 and 2 CPU
processes) and many-sheet prediction on a local Dask cluster (1 and 2 worker processes).

Training: ``torchrun --nproc_per_node=N -m hq_qiskit train`` on the built-in sample with the
same global work per epoch (--patches-per-epoch, --batch-size per process, so N processes take
1/N of the steps each); every process has OMP_NUM_THREADS=1, so N processes use N cores. The
time is the last epoch's ``train_s`` from metrics.jsonl (no start-up, no validation).
Efficiency = (patches/s with N) / (N x patches/s with 1).

Prediction: ``predict_sheets`` on 4 sheets cut from 4 real LandCover.ai mask grids (--crop px
square, pixels tiled from the built-in LoveDA imagery, made once in --workdir), an untrained
HQ-UNet (speed does not depend on the weights). sheets/min counts the whole call (cluster
start, model restore per worker, prediction, mosaic); peak memory is each worker process's
maximum resident set.

    python bench/scale.py                 # both parts
    python bench/scale.py --part predict --crop 768
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from machine import describe_machine  # noqa: E402
from predict import DEFAULT_GRID, make_sheet  # noqa: E402


def train_rate(nproc: int, args: argparse.Namespace, workdir: Path) -> dict:
    """One torchrun run; its last epoch's train time and patches/s."""
    out = workdir / f"train-{nproc}"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += [f"--nproc_per_node={nproc}", "-m", "hq_qiskit", "train", "--device", "cpu"]
    cmd += ["--width", str(args.width), "--patch-px", str(args.patch_px)]
    cmd += ["--epochs", str(args.epochs), "--patches-per-epoch", str(args.patches)]
    cmd += ["--batch-size", str(args.batch_size // nproc), "--aer-check-samples", "0"]
    cmd += ["--out", str(out), "--overwrite"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    steps = args.patches // args.batch_size  # global steps per epoch, any N
    return {
        "train_s": last["train_s"],
        "patches_per_s": args.patches / last["train_s"],
        "steps_per_s": steps / last["train_s"],
        "wall_s": wall,
    }


def predict_rate(workers: int, sheets: list[Path], ckpt: Path, workdir: Path) -> dict:
    from hq_qiskit.cluster.sheets import SheetOptions, predict_sheets

    out = workdir / f"maps-{workers}"
    opts = SheetOptions(checkpoint=str(ckpt), device="cpu", overwrite=True)
    done = predict_sheets(ckpt, sheets, out, opts, workers=workers, echo=lambda _: None)
    if done.failures:
        raise SystemExit(f"failed sheets: {done.failures}")
    return {
        "seconds": done.seconds,
        "sheets_per_min": 60 * len(sheets) / done.seconds,
        "task_s": sum(r["seconds"] for r in done.outputs.values()),
        "peak_mib": max(r["peak_rss_mib"] for r in done.outputs.values()),
        "tiles": sum(r["tiles"] for r in done.outputs.values()),
    }


def make_inputs(workdir: Path, crop: int) -> tuple[list[Path], Path]:
    """4 sheets on 4 real grids and an untrained HQ-UNet checkpoint."""
    import torch

    from hq_qiskit.models import HQUNet
    from hq_qiskit.training.checkpoint import save_checkpoint

    grids = sorted(DEFAULT_GRID.parent.glob("*.tif"))[:4]
    sheets = []
    for grid in grids:
        sheet = workdir / "sheets" / f"{grid.stem}_crop{crop}.tif"
        sheet.parent.mkdir(parents=True, exist_ok=True)
        if not sheet.exists():
            make_sheet(grid, sheet, crop)
        sheets.append(sheet)
    options = {"width": 16, "depth": 4, "patch_px": 128, "bottleneck": "quantum"}
    torch.manual_seed(0)
    config = {
        "model": "hq-unet",
        "model_options": options,
        "mean": [90.0, 95.0, 85.0],
        "std": [45.0, 40.0, 42.0],
        "class_names": ["background", "building", "woodland", "water", "road"],
    }
    ckpt = workdir / "run" / "best.pt"
    ckpt.parent.mkdir(exist_ok=True)
    weights = HQUNet(num_classes=5, **options).state_dict()
    save_checkpoint(ckpt, {"config": config, "model": weights})
    return sheets, ckpt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "train", "predict"], default="all")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--width", type=int, default=16, help="HQ-UNet width (training)")
    parser.add_argument("--patch-px", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2, help="the last one is timed")
    parser.add_argument("--patches", type=int, default=256, help="patches per epoch")
    parser.add_argument("--batch-size", type=int, default=16, help="global batch")
    parser.add_argument("--crop", type=int, default=512, help="prediction sheet side, px")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hq_scale_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe_machine()}")
    if args.part in ("all", "train"):
        print(
            f"training: HQ-UNet width {args.width}, patch {args.patch_px} px, global batch "
            f"{args.batch_size}, {args.patches} patches per epoch, epoch {args.epochs} timed"
        )
        base = None
        for n in (1, 2):
            r = train_rate(n, args, workdir)
            base = base or r["patches_per_s"]
            print(
                f"  torchrun {n} process{'es' * (n > 1)}: {r['steps_per_s']:.2f} steps/s, "
                f"{r['patches_per_s']:.1f} patches/s, efficiency "
                f"{r['patches_per_s'] / (n * base):.2f} (epoch {r['train_s']:.1f} s, "
                f"whole command {r['wall_s']:.0f} s); load now {os.getloadavg()[0]:.1f}"
            )
    if args.part in ("all", "predict"):
        sheets, ckpt = make_inputs(workdir, args.crop)
        print(
            f"prediction: 4 sheets of {args.crop}x{args.crop} px, HQ-UNet width 16 (quantum), "
            "patch 128, overlap 32"
        )
        for n in (1, 2):
            r = predict_rate(n, sheets, ckpt, workdir)
            print(
                f"  Dask {n} worker{'s' * (n > 1)}: {r['sheets_per_min']:.1f} sheets/min "
                f"({r['seconds']:.1f} s for {r['tiles']} tiles; {r['task_s']:.1f} s inside the "
                f"tasks), peak memory per worker {r['peak_mib']:.0f} MiB; load now "
                f"{os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
