"""One HQ-UNet training step against its classical twin, same machine, same run.

A step is forward + cross-entropy + backward + AdamW update on a batch of real 128x128 patches
from the built-in LoveDA sample. The two networks differ only in the bottleneck core (enrichment
QCNN on the fast engine vs Linear 48->32 + tanh). Steps of the two models are interleaved so that
load from other processes hits both alike; the median of each is reported, and their ratio.

    python bench/train_step.py                  # B=16, 128 px, default width, 20 steps each
    python bench/train_step.py --width 16 --device cuda
    python bench/train_step.py --patch-px 256 --input-scale 0.5  # the default run's window
    python bench/train_step.py --channels-last  # also both models in channels-last format
    python bench/train_step.py --design gated   # a design whose block counts (issue 27)
    python bench/train_step.py --design gated --backend aer-noisy-fez  # under exact device noise

``--design``/``--skips`` build both twins in that design (``models.designs``); ``--backend``
puts the quantum one's block on that backends.toml entry as ``train --backend`` does (a noisy
entry: the exact noisy engine with the device's noise and the entry's shots), the twin has no
block to put anywhere.

With --channels-last, each model also steps with its weights and inputs in channels-last
memory format (``train --channels-last``), interleaved with the others, and the ratio
channels-last / contiguous is printed per model.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import time

import torch
from machine import describe_machine  # bench/machine.py, beside this script
from torch import nn

from hq_qiskit.datasets import open_tiles
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.models import HQUNet, build_model
from hq_qiskit.samplers import RandomPatches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch-px", type=int, default=128)
    ap.add_argument("--input-scale", type=float, default=1.0, help="as train --input-scale")
    width = inspect.signature(HQUNet).parameters["width"].default  # the model's default
    ap.add_argument("--width", type=int, default=width)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--design", default="unet", help="HQ-UNet design: unet (papers') or gated")
    ap.add_argument("--skips", type=int, default=None, help="keep the N shallowest skips")
    ap.add_argument("--backend", default="aer", help="backends.toml entry of the quantum twin")
    args = ap.parse_args()
    device = torch.device(args.device)

    tiles = open_tiles(None, "train")
    patches = RandomPatches(tiles, args.patch_px, args.batch, seed=0)
    x = torch.stack([patches[i][0] for i in range(args.batch)]).to(device)  # (B, 3, P, P)
    y = torch.stack([patches[i][1] for i in range(args.batch)]).to(device)  # (B, P, P)

    # CPU: CPU seconds of this process (one thread under OMP_NUM_THREADS=1), which other
    # processes' load does not inflate as it does wall time; CUDA: wall time, synchronised
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    runs = {}
    x_cl = x.contiguous(memory_format=torch.channels_last)
    formats = ("", "+channels-last") if args.channels_last else ("",)
    for fmt in formats:
        for bottleneck in ("quantum", "classical"):
            torch.manual_seed(0)
            options = {"width": args.width, "patch_px": args.patch_px, "bottleneck": bottleneck,
                       "design": args.design, "skips": args.skips,
                       "input_scale": args.input_scale}  # fmt: skip
            model = build_model("hq-unet", options)
            if bottleneck == "quantum":
                model = model.use_backend(get_backend(args.backend), seed=0)
            model = model.to(device)
            if fmt:
                model = model.to(memory_format=torch.channels_last)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            runs[bottleneck + fmt] = (model, opt, [], x_cl if fmt else x)
    loss_fn = nn.CrossEntropyLoss(ignore_index=255)

    def step(model: nn.Module, opt: torch.optim.Optimizer, inputs: torch.Tensor) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = clock()
        loss = loss_fn(model(inputs), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return clock() - t0

    # the bottleneck cores alone, fwd + bwd on (B, 48) inputs in [-1, 1]: what the twins differ by
    q_in = torch.rand(args.batch, 48, device=device) * 2 - 1
    cores = {n: (runs[n][0].bottleneck.core, []) for n in ("quantum", "classical")}

    def core_step(core: nn.Module) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = clock()
        core(q_in.clone().requires_grad_()).sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return clock() - t0

    for i in range(args.warmup + args.steps):
        for model, opt, times, inputs in runs.values():
            dt = step(model, opt, inputs)
            if i >= args.warmup:
                times.append(dt)
        for core, times in cores.values():
            dt = core_step(core)
            if i >= args.warmup:
                times.append(dt)

    print(f"machine: {describe_machine()}, device {device}")
    print(
        f"torch {torch.__version__}; B={args.batch}, {args.patch_px}x{args.patch_px} px "
        f"(input scale {args.input_scale:g}), "
        f"width {args.width}, design {args.design}, skips {args.skips or 'all'}, quantum twin on "
        f"{args.backend}, {args.steps} timed steps each (median), "
        f"{'CPU time of this process' if device.type == 'cpu' else 'wall time'}"
    )
    med = {}
    for name, (model, _, times, _) in runs.items():
        med[name] = statistics.median(times)
        counts = model.parameter_counts()
        print(
            f"  {name:24s} bottleneck: {1e3 * med[name]:8.1f} ms/step  "
            f"(min {1e3 * min(times):.1f})  params {counts['classical']:,} classical + "
            f"{counts['quantum']} quantum"
        )
    core = {name: statistics.median(times) for name, (_, times) in cores.items()}
    print(
        f"  bottleneck core alone, fwd+bwd: QCNN (fast engine) {1e3 * core['quantum']:.1f} ms, "
        f"Linear 48->32 {1e3 * core['classical']:.2f} ms"
    )
    print(
        f"ratio HQ-UNet / classical twin: {med['quantum'] / med['classical']:.3f}x "
        "(targets: papers' design 1.15x; a design of issue 27 1.3x ideal, 3x under device noise)"
    )
    est = 1 + (core["quantum"] - core["classical"]) / med["classical"]
    print(f"ratio from the cores' difference (less sensitive to other load): {est:.3f}x")
    for name in ("quantum", "classical") if args.channels_last else ():
        ratio = med[name + "+channels-last"] / med[name]
        print(f"channels-last / contiguous, {name} bottleneck: {ratio:.3f}x (below 1: faster)")


if __name__ == "__main__":
    main()
