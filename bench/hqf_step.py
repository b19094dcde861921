"""One HQF-Net training step split into backbone, classical and quantum time, with and without
the backbone feature cache.

A step is forward + cross-entropy + backward + AdamW update on a batch of real patches from the
built-in LoveDA sample. The backbone is a randomly initialised DINOv3 of the real ViT-L/16
SAT-493M shape (timing does not depend on the weights; none can be downloaded here). Times:

    backbone   the frozen DINOv3 forward (or, with the cache on, reading its taps from disk)
    quantum    forward + backward of the 8 circuit modules (4 QSkip QCNNs, QMoE's QCNN and its
               3 experts) on the chosen engine: forwards timed in the step, backwards replayed
               alone on the same inputs and output gradients right after it; pre-Q/post-Q layers
               and the gate MLP count as classical
    classical  the rest of the step: encoder, DMCAF, decoder, loss, backward, AdamW

Steps without and with the cache are interleaved so that load from other processes hits both
alike; the first cached step (which writes the cache) is reported apart, then medians.

    python bench/hqf_step.py                     # B=4, 224 px, ViT-L/16, paper widths
    python bench/hqf_step.py --threads 1         # on a machine shared with other jobs
    python bench/hqf_step.py --vit tiny --patch-px 64 --widths 8,16,32,64,128   # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from machine import describe_machine  # bench/machine.py, beside this script
from torch import nn
from transformers import DINOv3ViTConfig, DINOv3ViTModel

from hq_qiskit.datasets import open_tiles
from hq_qiskit.models.hqf_net import DINOv3Taps, HQFNet, vitl16_sat_config
from hq_qiskit.samplers import RandomPatches, channel_stats


def vit_config(name: str) -> DINOv3ViTConfig:
    if name == "vitl16":
        return vitl16_sat_config()
    return DINOv3ViTConfig(
        hidden_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=128,
        patch_size=16,
        num_register_tokens=4,
    )


class Stopwatch:
    """Seconds spent in the forward of a set of modules, plus (optionally) their backward.

    Autograd may run other ready nodes between a module's backward pre-hook and its backward
    hook, so the backward is not timed inside the step: each module's input and output
    gradient are recorded, and ``time_backward`` replays that backward alone afterwards.
    """

    def __init__(self, modules: list[nn.Module], backward: bool = True) -> None:
        self.total = 0.0
        self._start: dict[int, float] = {}
        self._seen: list[tuple[nn.Module, torch.Tensor, torch.Tensor | None]] = []
        self.backward = backward
        for m in modules:
            m.register_forward_pre_hook(self._begin)
            m.register_forward_hook(self._end)
            if backward:
                m.register_full_backward_pre_hook(self._grad_out)

    def reset(self) -> None:
        self.total = 0.0
        self._seen = []

    def _begin(self, module, args) -> None:
        self._start[id(module)] = time.perf_counter()

    def _end(self, module, args, out) -> None:
        self.total += time.perf_counter() - self._start.pop(id(module))
        if self.backward:
            self._seen.append((module, args[0].detach().clone(), None))

    def _grad_out(self, module, grad_out) -> None:
        for k, (m, x, g) in enumerate(self._seen):
            if m is module and g is None:
                self._seen[k] = (m, x, grad_out[0].detach().clone())
                return

    def time_backward(self) -> float:
        """Replay every recorded backward (input and weight gradients) alone; seconds."""
        spent, seen, self._seen, self.backward = 0.0, self._seen, [], False
        for module, x, grad in seen:
            out = module(x.requires_grad_(True))
            t0 = time.perf_counter()
            out.backward(grad)
            spent += time.perf_counter() - t0
        self.backward = True
        return spent


def step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    quantum: Stopwatch,
    backbone: Stopwatch,
) -> dict[str, float]:
    """One training step; returns {"step", "backbone", "quantum", "classical"} seconds."""
    quantum.reset()
    backbone.reset()
    t0 = time.perf_counter()
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    times = {"step": time.perf_counter() - t0, "backbone": backbone.total}
    forward_s = quantum.total
    times["quantum"] = forward_s + quantum.time_backward()  # replayed after the step
    times["classical"] = times["step"] - times["backbone"] - times["quantum"]
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--patch-px", type=int, default=224)
    ap.add_argument("--widths", default="64,128,256,512,1024")
    ap.add_argument("--vit", choices=["vitl16", "tiny"], default="vitl16")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per mode")
    ap.add_argument("--engine", choices=["fast", "qiskit"], default="fast")
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice); 1 avoids OpenMP spinning "
        "when other processes share the cores",
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    widths = tuple(int(w) for w in args.widths.split(","))

    tiles = open_tiles(None, "train")
    mean, std = channel_stats(tiles)
    patches = RandomPatches(tiles, args.patch_px, args.batch, mean=mean, std=std, seed=0)
    x = torch.stack([patches[i][0] for i in range(args.batch)]).to(device)  # (B, 3, P, P)
    y = torch.stack([patches[i][1] for i in range(args.batch)]).to(device)  # (B, P, P)
    y[y == 255] = 0  # the sample's ignore pixels count as background here

    torch.manual_seed(0)
    taps = DINOv3Taps(DINOv3ViTModel(vit_config(args.vit)))
    cache_dir = tempfile.mkdtemp(prefix="hqf_cache_")
    runs = {}
    for mode, cache in (("cache off", None), ("cache on", cache_dir)):
        torch.manual_seed(0)
        model = HQFNet(
            backbone=taps,
            feature_cache=cache,
            patch_px=args.patch_px,
            widths=widths,
            input_mean=mean,
            input_std=std,
            engine=args.engine,
        ).to(device)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        runs[mode] = (
            model,
            opt,
            Stopwatch(model.quantum_modules()),
            Stopwatch([model.backbone], backward=False),
            [],
        )
    counts = runs["cache off"][0].parameter_counts()
    print(f"machine: {describe_machine()}; torch {torch.__version__}, device {device}")
    print(
        f"HQF-Net: B={args.batch}, {args.patch_px} px, widths {widths}, backbone {args.vit} "
        f"({sum(p.numel() for p in taps.parameters()) / 1e6:.1f} M frozen, taps {taps.taps}), "
        f"{counts['classical']:,} classical + {counts['quantum']:,} quantum trainable, "
        f"engine {args.engine}"
    )

    first_cached = step(*_args(runs["cache on"], x, y))  # fills the cache (misses + writes)
    step(*_args(runs["cache off"], x, y))  # warm-up of the uncached model
    for _ in range(args.steps):
        for mode in runs:
            runs[mode][4].append(step(*_args(runs[mode], x, y)))

    def row(name: str, times: dict[str, float]) -> str:
        s = times["step"]
        parts = "  ".join(
            f"{k} {times[k]:7.3f} s ({100 * times[k] / s:4.1f} %)"
            for k in ("backbone", "classical", "quantum")
        )
        return f"{name:<22} step {s:7.3f} s   {parts}"

    print(row("cache on, first step", first_cached))
    medians = {}
    for mode, (*_, history) in runs.items():  # noqa: B007
        medians[mode] = {k: statistics.median(t[k] for t in history) for k in history[0]}
        print(row(f"{mode}, median of {args.steps}", medians[mode]))
    off = medians["cache off"]["step"]
    saved = off - medians["cache on"]["step"]
    print(
        f"the cache saves {saved:.3f} s per step ({100 * saved / off:.1f} %); "
        "cache-off / cache-on step time = "
        f"{medians['cache off']['step'] / medians['cache on']['step']:.2f}x; "
        f"quantum share with the cache on: "
        f"{100 * medians['cache on']['quantum'] / medians['cache on']['step']:.1f} % "
        "(target <= 15 %)"
    )


def _args(run, x, y):
    model, opt, quantum, backbone, _ = run
    return model, opt, x, y, quantum, backbone


if __name__ == "__main__":
    main()
