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
from torch.utils.data import DataLoader, Subset
from tqdm.auto import tqdm

from hq_qiskit.atomic import atomic_write
from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.errors import CheckpointError, ConfigError, DataError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.layout import MappedCircuit, transpile_block
from hq_qiskit.hardware.runtime import (
    RuntimeTarget,
    parameter_array,
    qpu_seconds_estimate,
    run_block,
)

Echo = Callable[[str], None]
RESULT_JSON, RESULT_MD = "run.json", "run.md"


# ---------------------------------------------------------------- the model, without noise


def resolve_checkpoint(path: Path) -> Path:
    """A checkpoint file, or a run folder's best.pt (else last.pt)."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(
            f"{path}: no best.pt or last.pt in this folder; give a run folder "
            "written by hq-qiskit train, or a .pt checkpoint"
        )
    return path


def _ideal_state(state: dict[str, Tensor], prefixes: Sequence[str]) -> dict[str, Tensor]:
    """Drop the noise-mode wrappers of a noisy-Aer run from a state dict.

    ``<prefix>.inner.<rest>`` becomes ``<prefix>.<rest>``; ``<prefix>.damping`` and
    ``<prefix>.offset`` (the calibration buffers) are left out.
    """
    out = {}
    for key, value in state.items():
        for p in prefixes:
            if key in (f"{p}.damping", f"{p}.offset"):
                break
            if key.startswith(f"{p}.inner."):
                out[f"{p}.{key[len(p) + 7 :]}"] = value
                break
        else:
            out[key] = value
    return out


def load_ideal_model(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a checkpoint's model with the exact fast engine and its trained weights, eval mode.

    Raises:
        CheckpointError: unreadable file, weights that do not fit the stored config (e.g. a
            quantum block with another circuit), or a model without quantum blocks.
    """
    from hq_qiskit.models import build_model
    from hq_qiskit.training.checkpoint import load_checkpoint

    state = load_checkpoint(path)
    config = state["config"]
    options = {**config.get("model_options", {}), "engine": "fast"}
    model = build_model(config["model"], options)
    blocks = getattr(model, "quantum_blocks", list)()
    if not blocks:
        raise CheckpointError(
            f"{path}: model {config['model']!r} with options {options} has no "
            "quantum blocks; hq-qiskit run needs a quantum model (not "
            "--bottleneck classical)"
        )
    names = {id(m): n for n, m in model.named_modules()}
    weights = _ideal_state(state["model"], [names[id(m)] for _, m in blocks])
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(
            f"{path}: its weights do not fit the quantum blocks of model {config['model']!r} "
            f"built from its config ({first}); the config and weights come from different "
            "runs: use the run's own checkpoint or retrain"
        ) from None
    for block, module in blocks:
        if module.weight.numel() != block.n_weights:  # pragma: no cover - connect guarantees it
            raise CheckpointError(
                f"{path}: block {block.name} has {block.n_weights} angles, "
                f"the module {module.weight.numel()}"
            )
    return model.eval(), config


# ---------------------------------------------------------------- taps


class BlockTap(nn.Module):
    """Wraps one quantum module: x (B, n_in) -> (B, n_obs), exact or replayed.

    Attributes:
        inner: the exact module (fast engine).
        block: its ``QuantumBlock``.
        record: when True, inputs (B, n_in) and exact outputs (B, n_obs) are kept, float64.
        replay: (N, n_obs) values handed out in call order instead of the exact ones.
        first: rank of this tap's first call among all taps since the last ``reset`` (None:
            not called); the blocks are sent to the device in that order.
    """

    def __init__(self, inner: nn.Module, block: QuantumBlock, clock: list[int]) -> None:
        super().__init__()
        self.inner = inner
        self.block = block
        self.clock = clock  # shared by the taps of one model: [next rank]
        self.record = False
        self.replay: Tensor | None = None
        self.reset()

    def reset(self) -> None:
        self.inputs: list[Tensor] = []
        self.exact: list[Tensor] = []
        self.pos = 0
        self.first: int | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Exact values of ``inner`` (recorded if asked), or the next B replayed rows."""
        if self.first is None:
            self.first, self.clock[0] = self.clock[0], self.clock[0] + 1
        if self.replay is not None:
            rows = self.replay[self.pos : self.pos + x.shape[0]]  # (B, n_obs)
            if rows.shape[0] != x.shape[0]:
                raise RuntimeError(
                    f"{self.block.name}: replay has {self.replay.shape[0]} rows,"
                    " fewer than the forward calls ask for"
                )
            self.pos += x.shape[0]
            return rows.to(dtype=x.dtype, device=x.device)
        y = self.inner(x)  # (B, n_obs)
        if self.record:
            self.inputs.append(x.detach().double().cpu())
            self.exact.append(y.detach().double().cpu())
        return y


def _install_taps(model: nn.Module) -> list[BlockTap]:
    """Replace each quantum module of ``model`` by a BlockTap around it, in place."""
    taps, clock = [], [0]
    for block, module in model.quantum_blocks():
        tap = BlockTap(module, block, clock)
        slots = [
            (parent, name)
            for parent in model.modules()
            for name, child in parent.named_children()
            if child is module
        ]
        for parent, name in slots:  # found first, replaced after: the tap holds the module too
            setattr(parent, name, tap)
        taps.append(tap)
    return taps


# ---------------------------------------------------------------- data


@dataclass
class Patches:
    """The patches inference runs on.

    Attributes:
        dataset: (image (3, P, P) float32, mask (P, P) int64) items, in sample order.
        ids: sample names "<tile id>@<top px>,<left px>", (N,).
        tiles: tile ids used; ``per_tile``: patches of one whole tile; ``split_tiles``: tiles
            in the split (the "full input" of the cost estimate).
    """

    dataset: Subset
    ids: list[str]
    tiles: list[str]
    per_tile: int
    split_tiles: int


def select_patches(
    config: dict[str, Any], data: str | None, split: str, n_tiles: int, n_patches: int | None
) -> Patches:
    """The first ``n_tiles`` tiles of a split, cut into the model's patch grid.

    Args:
        config: the checkpoint's resolved training config (patch size, normalisation, classes).
        data: dataset folder, or None for the run's own data.
        n_patches: patches per tile, evenly spaced over the tile's grid (None: all of them).
    """
    from hq_qiskit.datasets import open_tiles
    from hq_qiskit.samplers import GridPatches

    source = str(Path(data).resolve()) if data is not None else config.get("data")
    tiles = open_tiles(source, split)
    where = f"--data {source or 'built-in'}"
    if len(tiles) == 0:
        raise DataError(f"{where}: the {split} split has no tiles; choose another --split")
    if list(tiles.classes) != list(config["class_names"]):
        raise DataError(
            f"{where}: classes {list(tiles.classes)} differ from the run's "
            f"{config['class_names']}; give the dataset the model was trained on"
        )
    if n_tiles < 1 or (n_patches is not None and n_patches < 1):
        raise ConfigError("--tiles and --patches must be >= 1")
    patch_px = int(config["model_options"]["patch_px"])
    grid = GridPatches(tiles, patch_px, patch_px, mean=config["mean"], std=config["std"])
    per_tile = len(grid) // len(tiles)
    use = min(n_tiles, len(tiles))
    keep = per_tile if n_patches is None else min(n_patches, per_tile)
    within = np.unique(np.linspace(0, per_tile - 1, keep).round().astype(int))
    order = [t * per_tile + int(k) for t in range(use) for k in within]
    ids = [f"{tiles.ids[t]}@{y},{x}" for t, y, x in (grid.index[i] for i in order)]
    return Patches(Subset(grid, order), ids, tiles.ids[:use], per_tile, len(tiles))


# ---------------------------------------------------------------- passes and metrics


@torch.no_grad()
def _predict(model: nn.Module, loader: DataLoader, desc: str) -> tuple[Tensor, Tensor]:
    """Predicted labels (N, P, P) and masks (N, P, P) over the loader, in order."""
    preds, masks = [], []
    for x, y in tqdm(loader, desc=desc, leave=False):
        preds.append(model(x).argmax(1))
        masks.append(y)
    return torch.cat(preds), torch.cat(masks)


def _scores(pred: Tensor, mask: Tensor, classes: list[str], ignore: int) -> dict[str, Any]:
    from hq_qiskit.training.metrics import SegmentationMetrics

    m = SegmentationMetrics(len(classes), ignore_index=ignore)
    m.update(pred, mask)
    s = m.compute().as_dict(classes)
    return {"miou": s["miou"], "oa": s["oa"], "iou": s["iou"], "pixels": s["pixels"]}


def measurement_groups(observables: Sequence[SparsePauliOp]) -> int:
    """Circuits per sample: qubit-wise commuting groups of all the observables' Pauli terms."""
    paulis = PauliList([str(p) for op in observables for p in op.paulis])
    return len(paulis.group_qubit_wise_commuting())


# ---------------------------------------------------------------- transpilation


_ISA: dict[tuple, MappedCircuit] = {}


def isa_block(block: QuantumBlock, backend: Backend, target: RuntimeTarget) -> MappedCircuit:
    """The block's ISA circuit and mapped observables for the target's device (cached)."""
    from hq_qiskit.quantum.noise import circuit_key

    device = target.backend
    key = (
        circuit_key(block),
        tuple(p.uuid for p in block.circuit.parameters),
        getattr(device, "name", "?"),
        device.num_qubits,
        backend.optimization_level,
        backend.layout,
        backend.seed_transpiler,
    )
    if key not in _ISA:
        _ISA[key] = transpile_block(
            block.circuit,
            block.observables,
            device.target,
            optimization_level=backend.optimization_level,
            seed=backend.seed_transpiler,
            strategy=backend.layout,
        )
    return _ISA[key]


# ---------------------------------------------------------------- the run


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
    path = resolve_checkpoint(checkpoint)
    model, config = load_ideal_model(path)
    patches = select_patches(config, opts.data, opts.split, opts.tiles, opts.patches)
    jobs = Path(out) / "jobs"
    if not opts.resume and jobs.is_dir() and any(jobs.iterdir()):
        raise ConfigError(
            f"--out {out} already holds jobs of an earlier run; pass --resume to "
            "reuse their values, or choose another --out"
        )
    taps = _install_taps(model)
    mapped = [isa_block(t.block, backend, target) for t in taps]  # CircuitError if too wide
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


def markdown(r: dict[str, Any]) -> str:
    """The result in words: where it ran, per-block errors, predictions, the QPU cost."""
    where = "local testing mode (simulated)" if r["local"] else "IBM Quantum device"
    lines = [
        f"# hq-qiskit run: {r['model']} on {r['backend']}",
        "",
        f"- checkpoint: `{r['checkpoint']}`",
        f"- executed on: {r['device']}, {where}; mode {r['mode']}",
        f"- {r['note']}",
        f"- mitigation requested: {', '.join(r['mitigation_requested']) or 'none'}; applied: "
        f"{', '.join(r['mitigation_applied']) or 'none (results are unmitigated)'}",
        f"- data: {r['data']}, split {r['split']}, tiles {', '.join(r['tiles'])}, "
        f"{len(r['samples'])} patches; {r['shots']} shots per circuit",
        "",
        "| block | samples | active qubits | MAE vs exact | max abs | mean std error | job |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in r["blocks"]:
        lines.append(
            f"| {b['block']} | {b['samples']} | {b['active_qubits']} | "
            f"{b['mae_vs_exact']:.4f} | {b['max_abs_vs_exact']:.4f} | "
            f"{b['mean_std_error']:.4f} | {b['job_id']}"
            f"{' (resumed)' if b['resumed'] else ''} |"
        )
    lines += [
        "",
        "| prediction | mIoU | OA |",
        "|---|---|---|",
        f"| ideal (exact fast engine) | {r['miou_ideal']:.4f} | {r['scores_ideal']['oa']:.4f} |",
        f"| hardware | {r['miou_hardware']:.4f} | {r['scores_hardware']['oa']:.4f} |",
        "",
        f"Pixel agreement hardware vs ideal: {100 * r['pixel_agreement']:.2f} %; mIoU change "
        f"{r['miou_change']:+.4f}.",
        "",
        "QPU cost estimate (a lower bound: 2 s per sub-job + (rep_delay + circuit duration) x "
        "shots; no queue, no compilation, no mitigation overhead):",
        "",
        "| scope | samples | circuits | shots | seconds (lower bound) |",
        "|---|---|---|---|---|",
    ]
    for scope, c in r["cost"].items():
        lines.append(
            f"| {scope} | {c['samples']} | {c['circuits']} | {c['shots']} | "
            f"{c['seconds_lower_bound']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def with_mitigation(backend: Backend, mitigation: Sequence[str] | None) -> Backend:
    """The entry with its requested mitigation replaced (None keeps the entry's)."""
    if mitigation is None:
        return backend
    return dataclasses.replace(backend, mitigation=tuple(mitigation))
