"""The model passes of a device run: the exact model, its forward passes with the block taps
recording or replaying, each block's PUB, the block dependency waves, and the scores.

1. ``ModelPasses.run(recording, desc)``: one forward over the patches; the listed taps record
   their inputs (and exact values), every tap with ``replay`` set returns those values.
2. ``dependency_waves``: which blocks read others' outputs, by perturbing each one's values.
3. ``scores``: mIoU, OA and per-class IoU of a prediction against the masks.

A checkpoint trained on a noisy Aer backend is loaded without its noise-mode wrappers: "ideal"
always means exact values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from hq_qiskit.errors import CheckpointError
from hq_qiskit.hardware.estimator import observable_array, parameter_array
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.inference.taps import BlockTap, install_taps
from hq_qiskit.models import HybridSegmenter
from hq_qiskit.training.metrics import SegmentationMetrics
from hq_qiskit.training.restore import restore


def load_exact_model(source: Path) -> tuple[HybridSegmenter, Path, dict[str, Any]]:
    """A run's model with its trained weights on the exact fast engine (``restore`` with
    ``engine="fast"``, ``noise="ideal"``): "ideal" in a device run always means exact values.

    Returns:
        (model, checkpoint path, the run's config as a dict).

    Raises:
        CheckpointError: unreadable file, weights that do not fit, or no quantum block.
    """
    restored = restore(source, engine="fast", noise="ideal")
    if not restored.model.quantum_blocks():
        raise CheckpointError(
            f"{restored.checkpoint}: model {restored.config.model!r} with options "
            f"{restored.config.model_options} has no quantum blocks; hq-qiskit run needs a "
            "quantum model (not --bottleneck classical)"
        )
    return restored.model, restored.checkpoint, restored.config.to_dict()


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, desc: str) -> tuple[Tensor, Tensor]:
    """Predicted labels (N, P, P) and masks (N, P, P) over the loader, in order."""
    preds, masks = [], []
    for x, y in tqdm(loader, desc=desc, leave=False):
        preds.append(model(x).argmax(1))
        masks.append(y)
    return torch.cat(preds), torch.cat(masks)


def scores(pred: Tensor, mask: Tensor, classes: list[str], ignore: int) -> dict[str, Any]:
    """mIoU, OA, per-class IoU and pixel counts of predicted labels (N, P, P) against masks."""
    m = SegmentationMetrics(len(classes), ignore_index=ignore)
    m.update(pred, mask)
    s = m.compute().as_dict(classes)
    return {"miou": s["miou"], "oa": s["oa"], "iou": s["iou"], "pixels": s["pixels"]}


class ModelPasses:
    """The forward passes of one device run over its patches, with every block tapped.

    Attributes:
        model: the exact model (``load_exact_model``); taps: its ``BlockTap``s in module order.
        loader: all the run's patches; probe: the first patch only (dependency passes).
    """

    def __init__(self, model: nn.Module, dataset, batch_size: int) -> None:
        self.model = model
        self.taps = install_taps(model)
        self.loader = DataLoader(dataset, batch_size=batch_size)
        self.probe = DataLoader(Subset(dataset, [0]), batch_size=1)

    def run(
        self, recording: Sequence[BlockTap], desc: str, over: DataLoader | None = None
    ) -> tuple[Tensor, Tensor]:
        """One forward pass; the ``recording`` taps record inputs. Returns (labels, masks)."""
        self.taps[0].clock[0] = 0
        for tap in self.taps:
            tap.reset()
            tap.record = tap in recording
        return predict(self.model, self.loader if over is None else over, desc)

    def exact_pass(self) -> tuple[Tensor, Tensor, list[int]]:
        """Pass 0, exact everywhere: the ideal prediction, its masks, and the blocks in call
        order (a block the forward never calls is left out)."""
        for tap in self.taps:
            tap.replay = None
        ideal, masks = self.run(self.taps, "ideal")
        order = sorted(
            (i for i, t in enumerate(self.taps) if t.first is not None),
            key=lambda i: self.taps[i].first,
        )
        return ideal, masks, order

    def waves(self, order: list[int]) -> list[list[int]]:
        """``dependency_waves`` of the called blocks, probed on the first patch."""
        return dependency_waves(
            self.taps, order, lambda recording, desc: self.run(recording, desc, self.probe)
        )

    def inputs(self, i: int) -> np.ndarray:
        """Block ``i``'s recorded inputs (N, n_in)."""
        return torch.cat(self.taps[i].inputs).numpy()

    def exact(self, i: int) -> np.ndarray:
        """Block ``i``'s exact values (N, n_obs)."""
        return torch.cat(self.taps[i].exact).numpy()

    def weights(self, i: int) -> np.ndarray:
        """Block ``i``'s trained weights (n_w,), radians."""
        return self.taps[i].inner.weight.detach().double().cpu().numpy()

    def pub(self, i: int, m: MappedCircuit) -> tuple:
        """Block ``i``'s PUB: (ISA circuit, observables (1, n_obs), values (N, 1, P))."""
        tap, x, w = self.taps[i], self.inputs(i), self.weights(i)
        cols = {p: x[:, j] for j, p in enumerate(tap.block.inputs)}
        cols.update({p: np.full(len(x), w[j]) for j, p in enumerate(tap.block.weights)})
        return (m.circuit, observable_array(m), parameter_array(m, cols))


def dependency_waves(
    taps: list[BlockTap], order: list[int], run_pass: Callable[..., Any]
) -> list[list[int]]:
    """Blocks grouped into waves whose inputs do not depend on each other (HQF-Net's QMoE
    experts all read the QMoE QCNN's output): a wave is submitted at once, then waited on.

    Found by measurement, not declared: after a reference pass with every block exact, each
    block's outputs are replaced in turn by other values (0.5 - exact) and the blocks whose
    recorded inputs change depend on it. ``run_pass(recording, desc)`` runs the model's forward
    over a few samples (one patch is enough: the dependencies are the network's, not the
    data's) with the given taps recording; 1 + (number of blocks) passes.
    """
    if len(order) < 2:
        return [list(order)]
    run_pass([taps[i] for i in order], "block dependencies")
    ref = {i: torch.cat(taps[i].inputs) for i in order}
    exact = {i: torch.cat(taps[i].exact) for i in order}
    deps: dict[int, set[int]] = {i: set() for i in order}
    for p in order:
        taps[p].replay = 0.5 - exact[p]  # (N, n_obs), differs from the exact values
        run_pass([taps[q] for q in order if q != p], f"dependencies of {taps[p].block.name}")
        taps[p].replay = None
        for q in order:
            if q != p and not torch.equal(torch.cat(taps[q].inputs), ref[q]):
                deps[q].add(p)
    waves: list[list[int]] = []
    placed: set[int] = set()
    while len(placed) < len(order):
        wave = [i for i in order if i not in placed and deps[i] <= placed]
        if not wave:  # a cycle cannot happen in a forward pass; be safe and go one by one
            wave = [next(i for i in order if i not in placed)]
        waves.append(wave)
        placed.update(wave)
    return waves
