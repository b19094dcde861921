"""A trained model's inference with every quantum block executed by IBM Runtime's EstimatorV2.

The classical part runs in torch. Each quantum module of the model (``model.quantum_blocks()``)
is wrapped by a ``BlockTap`` that can record the block's inputs and the exact (fast engine)
values, or replay values computed elsewhere. For each block, in the order the forward pass
calls them:

1. one pass over all selected patches records the block's inputs, (N, n_in) (blocks called
   earlier already replay their hardware values, so a block fed by another block sees the
   hardware values of that block);
2. the block is transpiled to ISA once for the target (``layout.transpile_block``, cached) and
   its N samples go to the runtime as ONE PUB with a (N, 1, P) parameter array
   (``runtime.run_block`` writes the job id, layout, observables and sample ids to
   ``<out>/jobs/<tag>.json`` before waiting);
3. its values (N, n_obs) are replayed from then on.

A last pass with every block replaying gives the hardware prediction; the first pass, with the
exact fast engine everywhere, gives the ideal prediction. A checkpoint trained on a noisy Aer
backend is loaded without its noise-mode wrappers: "ideal" always means exact values.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from qiskit.quantum_info import PauliList, SparsePauliOp
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import CheckpointError, ConfigError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.layout import MappedCircuit, isa_block
from hq_qiskit.hardware.runtime import (
    RuntimeTarget,
    parameter_array,
    qpu_seconds_estimate,
    run_block,
)
from hq_qiskit.inference.patches import select_patches
from hq_qiskit.inference.report import RESULT_JSON, RESULT_MD, markdown
from hq_qiskit.inference.taps import BlockTap, install_taps
from hq_qiskit.models import HybridSegmenter
from hq_qiskit.training.metrics import SegmentationMetrics
from hq_qiskit.training.restore import restore

Echo = Callable[[str], None]
__all__ = ["RESULT_JSON", "RESULT_MD", "RunOptions", "markdown", "run_inference"]


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
def _predict(model: nn.Module, loader: DataLoader, desc: str) -> tuple[Tensor, Tensor]:
    """Predicted labels (N, P, P) and masks (N, P, P) over the loader, in order."""
    preds, masks = [], []
    for x, y in tqdm(loader, desc=desc, leave=False):
        preds.append(model(x).argmax(1))
        masks.append(y)
    return torch.cat(preds), torch.cat(masks)


def _scores(pred: Tensor, mask: Tensor, classes: list[str], ignore: int) -> dict[str, Any]:
    m = SegmentationMetrics(len(classes), ignore_index=ignore)
    m.update(pred, mask)
    s = m.compute().as_dict(classes)
    return {"miou": s["miou"], "oa": s["oa"], "iou": s["iou"], "pixels": s["pixels"]}


def measurement_groups(observables: Sequence[SparsePauliOp]) -> int:
    """Circuits per sample: qubit-wise commuting groups of all the observables' Pauli terms."""
    paulis = PauliList([str(p) for op in observables for p in op.paulis])
    return len(paulis.group_qubit_wise_commuting())


@dataclass
class RunOptions:
    """Settings of one hardware inference run (the command's flags, resolved).

    Attributes:
        shots: shots per circuit (0: use ``precision``); precision: target standard error.
        tiles, patches: first ``tiles`` tiles of the split, ``patches`` per tile (None: all).
        resume: reuse saved values or finished device jobs in ``out/jobs``.
        seed: simulator seed in local testing mode.
        batch_size: patches per classical forward call.
    """

    shots: int
    precision: float
    tiles: int = 1
    patches: int | None = None
    split: str = "val"
    data: str | None = None
    resume: bool = False
    seed: int = 0
    batch_size: int = 16


def shots_per_circuit(opts: RunOptions) -> int:
    """Shots of one circuit: ``shots``, else ceil(1 / precision**2)."""
    return opts.shots if opts.shots else math.ceil(1.0 / opts.precision**2)


def cost_rows(
    blocks: list[dict[str, Any]],
    mapped: list[MappedCircuit],
    target: RuntimeTarget,
    samples: dict[str, int],
    shots: int,
) -> dict[str, dict[str, float]]:
    """QPU cost lower bounds for each scope (name -> samples): circuits, shots, seconds.

    One sub-job per block per scope; IBM's baseline of 2 s per sub-job plus
    (rep_delay + circuit duration) x shots per circuit; no queueing, no compilation.
    """
    rows = {}
    for scope, n in samples.items():
        circuits = sum(n * b["groups"] for b in blocks)
        seconds = sum(
            qpu_seconds_estimate(m, target.backend.target, n * b["groups"], shots)
            for b, m in zip(blocks, mapped, strict=True)
        )
        rows[scope] = {
            "samples": n,
            "circuits": circuits,
            "shots": circuits * shots,
            "seconds_lower_bound": seconds,
        }
    return rows


def run_inference(
    checkpoint: Path,
    backend: Backend,
    target: RuntimeTarget,
    out: Path,
    opts: RunOptions,
    *,
    echo: Echo = tqdm.write,
) -> dict[str, Any]:
    """Run a checkpoint's inference with its quantum blocks on ``target``; write run.json/.md.

    Args:
        checkpoint: a ``.pt`` file or a run folder (best.pt, else last.pt).
        backend: the backends.toml entry (transpile settings; its mitigation as requested).
        target: where the circuits run (``runtime.resolve``).
        out: output folder; job records and values go to ``out/jobs``.
        opts: shots, data selection, resume.

    Returns:
        The result written to ``out/run.json`` (see ``markdown`` for its fields in words).
    """
    start = time.perf_counter()
    model, path, config = load_exact_model(checkpoint)
    patches = select_patches(config, opts.data, opts.split, opts.tiles, opts.patches)
    jobs = Path(out) / "jobs"
    if not opts.resume and jobs.is_dir() and any(jobs.iterdir()):
        raise ConfigError(
            f"--out {out} already holds jobs of an earlier run; pass --resume to "
            "reuse their values, or choose another --out"
        )
    taps = install_taps(model)
    mapped = [isa_block(t.block, backend, target.backend) for t in taps]  # CircuitError if too wide
    shots = shots_per_circuit(opts)
    echo(f"{target.note}")
    echo(
        f"checkpoint {path}: {len(taps)} quantum block(s); {len(patches.ids)} patches of "
        f"{len(patches.tiles)} tile(s) ({', '.join(patches.tiles)}), {shots} shots per circuit"
    )
    loader = DataLoader(patches.dataset, batch_size=opts.batch_size)

    def run_pass(recording: BlockTap | None, desc: str) -> tuple[Tensor, Tensor]:
        taps[0].clock[0] = 0
        for tap in taps:
            tap.reset()
            tap.record = tap is recording
        return _predict(model, loader, desc)

    # pass 0: exact everywhere; finds the call order and gives the ideal prediction
    for tap in taps:
        tap.replay = None
    ideal_pred, masks = run_pass(None, "ideal")
    order = sorted(
        (i for i in range(len(taps)) if taps[i].first is not None), key=lambda i: taps[i].first
    )  # a block the forward never calls is skipped
    block_rows: list[dict[str, Any]] = []
    for k, i in enumerate(order):
        tap = taps[i]
        run_pass(tap, f"inputs of {tap.block.name}")  # earlier blocks replay hardware values
        x = torch.cat(tap.inputs).numpy()  # (N, n_in)
        exact = torch.cat(tap.exact).numpy()  # (N, n_obs)
        w = tap.inner.weight.detach().double().cpu().numpy()  # (n_w,) radians
        cols = {p: x[:, j] for j, p in enumerate(tap.block.inputs)}
        cols.update({p: np.full(len(x), w[j]) for j, p in enumerate(tap.block.weights)})
        values = parameter_array(mapped[i], cols)  # (N, 1, P)
        tag = f"{k:02d}-{tap.block.name}"
        echo(
            f"block {tap.block.name}: one PUB of {len(x)} samples x {len(mapped[i].observables)}"
            f" observables on {len(mapped[i].active_qubits)} physical qubits -> jobs/{tag}.json"
        )
        result = run_block(
            mapped[i],
            values,
            target,
            run_dir=Path(out),
            tag=tag,
            shots=opts.shots,
            precision=opts.precision,
            resume=opts.resume,
            seed=opts.seed,
            sample_ids=patches.ids,
        )
        tap.replay = torch.from_numpy(result.evs)  # (N, n_obs)
        err = np.abs(result.evs - exact)  # (N, n_obs)
        block_rows.append(
            {
                "block": tap.block.name,
                "tag": tag,
                "job_id": result.job_id,
                "resumed": result.resumed,
                "samples": len(x),
                "observables": err.shape[1],
                "groups": measurement_groups(tap.block.observables),
                "active_qubits": len(mapped[i].active_qubits),
                "layout": list(mapped[i].final_layout),
                "layout_strategy": mapped[i].strategy,
                "mae_vs_exact": float(err.mean()),
                "max_abs_vs_exact": float(err.max()),
                "mean_std_error": float(np.mean(result.stds)),
                "seconds": result.seconds,
            }
        )
    hw_pred, _ = run_pass(None, "hardware")
    classes, ignore = list(config["class_names"]), int(config.get("ignore_index", 255))
    ideal_scores = _scores(ideal_pred, masks, classes, ignore)
    hw_scores = _scores(hw_pred, masks, classes, ignore)
    ordered = [mapped[i] for i in order]
    result = {
        "checkpoint": str(path),
        "model": config["model"],
        "backend": backend.name,
        "device": getattr(target.backend, "name", "?"),
        "local": target.local,
        "ideal_simulator": target.ideal,
        "note": target.note,
        "mode": target.mode,
        "mitigation_requested": list(backend.mitigation),
        "mitigation_applied": list(target.mitigation),
        "mitigated": bool(target.mitigation),
        "shots": shots,
        "precision": opts.precision if not opts.shots else 1 / math.sqrt(shots),
        "data": opts.data or config.get("data") or "built-in",
        "split": opts.split,
        "tiles": patches.tiles,
        "samples": patches.ids,
        "blocks": block_rows,
        "pixel_agreement": float((hw_pred == ideal_pred).double().mean()),
        "miou_ideal": ideal_scores["miou"],
        "miou_hardware": hw_scores["miou"],
        "miou_change": hw_scores["miou"] - ideal_scores["miou"],
        "scores_ideal": ideal_scores,
        "scores_hardware": hw_scores,
        "cost": cost_rows(
            block_rows,
            ordered,
            target,
            {
                "this run": len(patches.ids),
                "per tile": patches.per_tile,
                f"full input ({patches.split_tiles} tiles of split {opts.split})": patches.per_tile
                * patches.split_tiles,
            },
            shots,
        ),
        "seconds": time.perf_counter() - start,
    }
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write(Path(out) / RESULT_JSON, json.dumps(result, indent=1, default=str))
    atomic_write(Path(out) / RESULT_MD, markdown(result))
    return result


def with_mitigation(backend: Backend, mitigation: Sequence[str] | None) -> Backend:
    """The entry with its requested mitigation replaced (None keeps the entry's)."""
    if mitigation is None:
        return backend
    return dataclasses.replace(backend, mitigation=tuple(mitigation))
