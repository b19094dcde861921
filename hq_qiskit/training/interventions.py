"""Test-time interventions on a model's blocks: does the segmentation use what a block outputs?

A *site* is a module whose output is replaced, at test time, by a forward hook:

- ``mean``: its mean over the data (every patch gets the same vector);
- ``shuffle``: the outputs of other patches of the same data (a fixed random permutation over
  all patches, so a patch gets a real output of the block, not its own);
- ``zero``: zeros.

The sites are the model's quantum modules (``HybridSegmenter.quantum_modules``: HQ-UNet's
bottleneck core, HQF-Net's QSkips, QMoE's QCNN and experts; in a plain ``nn.Module``, every
in-process engine module), or, for a classical twin without one, HQ-UNet's classical
bottleneck core, so the quantum and the classical core are measured alike. Every site outputs
one row per patch, (B, d).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from hq_qiskit.quantum.module import EngineModule
from hq_qiskit.samplers import GridPatches
from hq_qiskit.training.tile_scores import tile_confusions

KINDS = ("mean", "shuffle", "zero")


@dataclass
class Site:
    """One block whose output is intervened on.

    Attributes:
        name: its dotted path in the model, e.g. "bottleneck.core".
        module: the module.
        quantum: whether it runs a circuit (its parameters are angles, radians).
    """

    name: str
    module: nn.Module
    quantum: bool


def find_sites(model: nn.Module) -> list[Site]:
    """The model's quantum modules in ``quantum_blocks`` order (any ``EngineModule`` of a model
    that does not declare them), else HQ-UNet's classical bottleneck core; [] if none."""
    names = {id(m): n for n, m in model.named_modules()}
    declared = getattr(model, "quantum_modules", None)
    if declared is not None:
        quantum = list(declared())
    else:
        quantum = [m for m in model.modules() if isinstance(m, EngineModule)]
    sites = [Site(names[id(m)], m, True) for m in quantum]
    bottleneck = getattr(model, "bottleneck", None)
    core = getattr(bottleneck, "core", None)
    if not sites and core is not None and getattr(bottleneck, "pre_q", None) is not None:
        sites.append(Site(names[id(core)], core, False))
    return sites


@dataclass
class _Hook:
    """A forward hook that records a site's outputs or replaces them (see module docstring).

    ``bank`` (N, d) holds the outputs of every patch in data order; ``order`` (N,) the patch
    whose output patch i gets when shuffled.
    """

    kind: str | None = None  # None: record only
    bank: Tensor | None = None
    order: Tensor | None = None
    seen: list[Tensor] = field(default_factory=list)
    done: int = 0

    def __call__(self, module: nn.Module, inputs, output: Tensor) -> Tensor | None:
        if output.dim() != 2:
            raise ValueError(
                f"{type(module).__name__} outputs {tuple(output.shape)}; interventions need one "
                "row per patch, (B, d)"
            )
        n = output.shape[0]
        if self.kind is None:
            self.seen.append(output.detach().float().cpu())
            return None
        if self.kind == "zero":
            return torch.zeros_like(output)
        assert self.bank is not None and self.order is not None
        if self.kind == "mean":
            return self.bank.mean(0).to(output).expand_as(output).contiguous()
        rows = self.order[self.done : self.done + n]
        self.done += n
        return self.bank[rows].to(output)


@dataclass
class Interventions:
    """Per-tile confusion matrices as the model runs and under each intervention.

    Attributes:
        baseline: (T, K, K) pixel counts of the model as it is (rows truth).
        outputs: site name -> (N, d) float32 outputs, one row per patch, data order.
        confusions: site name -> kind -> (T, K, K) with that site's output replaced.
    """

    baseline: np.ndarray
    outputs: dict[str, Tensor]
    confusions: dict[str, dict[str, np.ndarray]]


def _scored(
    model: nn.Module, hooks: dict[nn.Module, _Hook], score: Callable[[], np.ndarray]
) -> np.ndarray:
    handles = [m.register_forward_hook(h) for m, h in hooks.items()]
    try:
        return score()
    finally:
        for handle in handles:
            handle.remove()


def intervene(
    model: nn.Module,
    patches: GridPatches,
    sites: list[Site],
    num_classes: int,
    ignore_index: int,
    device: torch.device,
    *,
    batch_size: int = 16,
    seed: int = 0,
    kinds: tuple[str, ...] = KINDS,
) -> Interventions:
    """Score ``model`` on every patch as it is, then once per site and kind with the site's
    output replaced; 1 + len(sites) * len(kinds) passes over the data.

    Args:
        model: the network (run in eval mode, no gradients).
        patches: the evaluation patches, in order (``GridPatches``).
        sites: the blocks to intervene on (``find_sites``).
        num_classes, ignore_index: of the masks.
        device: where the model runs.
        batch_size: patches per forward pass.
        seed: seed of the shuffle's permutation.
        kinds: which interventions ("mean", "shuffle", "zero").
    """

    def score() -> np.ndarray:
        return tile_confusions(model, patches, num_classes, ignore_index, device, batch_size)

    recorders = {s.module: _Hook() for s in sites}
    baseline = _scored(model, recorders, score)
    outputs = {s.name: torch.cat(recorders[s.module].seen) for s in sites}
    gen = torch.Generator().manual_seed(seed)
    confusions: dict[str, dict[str, np.ndarray]] = {}
    for site in sites:
        bank = outputs[site.name]
        order = torch.randperm(len(bank), generator=gen)
        confusions[site.name] = {
            kind: _scored(model, {site.module: _Hook(kind, bank, order)}, score) for kind in kinds
        }
    return Interventions(baseline, outputs, confusions)


def output_spread(outputs: Tensor) -> dict[str, float | list[float]]:
    """How much a block's outputs vary over the data: outputs (N, d).

    Returns:
        {"variance": (d,) per-output variance over patches, "variance_mean": its mean,
        "effective_rank": exp of the entropy of the centred outputs' normalised singular
        values (1: all variation along one direction; d: spread evenly; 0: constant),
        "dims": d}.
    """
    x = outputs.double()
    var = x.var(0, unbiased=True) if len(x) > 1 else torch.zeros(x.shape[1], dtype=x.dtype)
    s = torch.linalg.svdvals(x - x.mean(0)) if len(x) > 1 else torch.zeros(1, dtype=x.dtype)
    total = float(s.sum())
    if total <= 0:
        rank = 0.0
    else:
        p = s[s > 0] / total
        rank = float(torch.exp(-(p * p.log()).sum()))
    return {
        "variance": var.tolist(),
        "variance_mean": float(var.mean()),
        "effective_rank": rank,
        "dims": int(x.shape[1]),
    }
