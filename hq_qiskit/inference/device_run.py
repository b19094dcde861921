"""A trained model's inference with every quantum block executed by IBM Runtime's EstimatorV2.

The classical part runs in torch. Each quantum module of the model (``model.quantum_blocks()``)
is wrapped by a ``BlockTap`` that can record the block's inputs and the exact (fast engine)
values, or replay values computed elsewhere.

1. Pass 0, exact everywhere: the ideal prediction, the call order, and every block's inputs.
2. The cost plan (samples, circuits, shots, QPU seconds per block and in all, local wall time)
   is printed; a device run over ``--max-qpu-seconds`` is refused, and one not confirmed
   (unless ``--yes``) is not submitted. Nothing is submitted before this point.
3. ``dependency_waves`` finds, by perturbing each block's outputs on one patch, which blocks
   read others' outputs: HQF-Net's QSkips and QMoE QCNN form one wave, its three experts the
   next. Every block of a wave is submitted (one PUB each, a (N, 1, P) parameter array, job
   record written first) before any is waited on; all jobs share one Batch or Session.
4. A wave's values replay from then on, so a later block sees the hardware values of the
   blocks that feed it. A last pass with every block replaying gives the hardware prediction.

Each block's row in ``run.json`` comes from its job's own record (where it ran, snapshot date,
mitigation applied, status, usage); the top-level summary is derived from those rows. A
checkpoint trained on a noisy Aer backend is loaded without its noise-mode wrappers: "ideal"
always means exact values.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
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
from hq_qiskit.errors import CheckpointError, ConfigError, HQError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.layout import MappedCircuit, isa_block
from hq_qiskit.hardware.runtime import (
    BlockResult,
    RuntimeTarget,
    collect,
    observable_array,
    open_mode,
    parameter_array,
    qpu_seconds_estimate,
    rep_delay_s,
    runtime_estimate,
    submit_block,
)
from hq_qiskit.inference.local_sim import (
    ENGINE,
    aer_reference,
    block_noise,
    exact_noisy_values,
    mean_abs,
    mitigation_table,
)
from hq_qiskit.inference.patches import select_patches
from hq_qiskit.inference.report import RESULT_JSON, RESULT_MD, markdown
from hq_qiskit.inference.taps import BlockTap, install_taps
from hq_qiskit.models import HybridSegmenter
from hq_qiskit.training.metrics import SegmentationMetrics
from hq_qiskit.training.restore import restore

Echo = Callable[[str], None]
# what a local-simulator block row carries besides a job's fields (local_sim.exact_noisy_values)
LOCAL_SIM_FIELDS = ("simulator", "engine", "noise_model_source", "snapshot", "approximation")
Confirm = Callable[[str], bool]
__all__ = ["RESULT_JSON", "RESULT_MD", "RunOptions", "markdown", "run_inference"]

# Local testing mode simulates a noisy circuit one trajectory per shot. Measured for the
# 16-qubit enrichment QCNN on FakeBrisbane, 2 shared CPU cores (docs/benchmarks.md): about
# 0.28 s per trajectory, plus ~10 s to build the device noise model for each job. Each extra
# active qubit doubles the trajectory cost.
LOCAL_S_PER_TRAJECTORY_16Q = 0.28
LOCAL_NOISE_MODEL_S = 10.0
LOCAL_IDEAL_S_PER_CIRCUIT = 0.02
# laptop-sized defaults for local testing mode on a noisy fake twin (flags win)
LOCAL_PATCHES, LOCAL_SHOTS = 2, 64
# --simulator exact-noisy: building the device noise model of a 16-qubit block on a loaded
# 2-core VM took 10-20 s (docs/benchmarks.md, issue 13); the engine itself takes well under 1 s
EXACT_NOISY_S_PER_BLOCK = 20.0
LOCAL_SLOW_S = 300.0  # a local run estimated longer than this says so before it starts


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
        max_qpu_seconds: refuse a device run whose estimated QPU time is above this.
        yes: submit to a device without asking.
        max_execution_time: each job's QPU time limit, seconds (None: IBM's default).
        result_timeout_s: stop waiting for a job after this many seconds (None: wait).
        simulator: None (the runtime target) or "exact-noisy": every block on the exact noisy
            engine with its device noise (``local_sim.py``), labelled as such.
        aer_check_samples: exact-noisy only: samples of a narrow block also run on Aer.
        compare_mitigation: measure TREX/ZNE/twirling/DD against exact values on a local
            noisy simulation of each narrow block (``hardware/mitigation.py``).
        compare_samples: samples per block in that comparison.
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
    max_qpu_seconds: float | None = None
    yes: bool = False
    max_execution_time: int | None = None
    result_timeout_s: float | None = None
    simulator: str | None = None
    aer_check_samples: int = 2
    compare_mitigation: bool = False
    compare_samples: int = 4


def laptop_sizes(
    target: RuntimeTarget, shots: int | None, precision: float | None, patches: int | None
) -> tuple[int | None, float | None, int | None, str]:
    """Defaults for local testing mode on a noisy fake twin, sized for a laptop: a device
    entry's 4096 shots x a whole tile takes hours of noisy trajectories. Values given on the
    command line (not None) are kept.

    Returns:
        (shots, precision, patches, a line saying what was chosen; "" when nothing changed).
    """
    if not target.local or target.ideal:
        return shots, precision, patches, ""
    said = []
    if shots is None and precision is None:
        shots = LOCAL_SHOTS
        said.append(f"--shots {LOCAL_SHOTS}")
    if patches is None:
        patches = LOCAL_PATCHES
        said.append(f"--patches {LOCAL_PATCHES}")
    if not said:
        return shots, precision, patches, ""
    return (
        shots,
        precision,
        patches,
        f"local testing mode defaults, sized for a laptop: {' '.join(said)} (noisy simulation "
        "costs ~0.3 s per shot and sample; give --shots/--patches for more)",
    )


def local_seconds_estimate(target: RuntimeTarget, width: int, circuits: int, shots: int) -> float:
    """Rough wall time of one block's job in local testing mode, seconds (2 CPU cores)."""
    if target.ideal:
        return circuits * LOCAL_IDEAL_S_PER_CIRCUIT
    return LOCAL_NOISE_MODEL_S + circuits * shots * LOCAL_S_PER_TRAJECTORY_16Q * 2.0 ** (width - 16)


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
            qpu_seconds_estimate(
                m,
                target.backend.target,
                n * b["groups"],
                shots,
                rep_delay=rep_delay_s(target.backend),
            )
            for b, m in zip(blocks, mapped, strict=True)
        )
        rows[scope] = {
            "samples": n,
            "circuits": circuits,
            "shots": circuits * shots,
            "seconds_lower_bound": seconds,
        }
    return rows


def plan_cost(
    target: RuntimeTarget,
    names: Sequence[str],
    mapped: Sequence[MappedCircuit],
    pubs: Sequence[tuple],
    groups: Sequence[int],
    shots: int,
    precision: float,
) -> list[dict[str, Any]]:
    """Per block, before anything is submitted: samples, circuits (samples x measurement
    groups), shots, our QPU lower bound (rep_delay from the backend), the runtime's own
    estimate where it offers one, and the expected local wall time."""
    rows = []
    for name, m, pub, g in zip(names, mapped, pubs, groups, strict=True):
        n = pub[2].shape[0]
        rows.append(
            {
                "block": name,
                "samples": n,
                "circuits": n * g,
                "shots": n * g * shots,
                "qpu_seconds_lower_bound": qpu_seconds_estimate(
                    m, target.backend.target, n * g, shots, rep_delay=rep_delay_s(target.backend)
                ),
                "qpu_seconds_runtime": runtime_estimate(target, pub, shots, precision),
                "local_seconds": local_seconds_estimate(target, len(m.active_qubits), n * g, shots),
            }
        )
    return rows


def plan_lines(plan: list[dict[str, Any]], target: RuntimeTarget) -> list[str]:
    """The cost plan as lines for the terminal (and run.md)."""
    lines = [
        "cost before submission (QPU s: IBM's baseline, a lower bound; runtime: the "
        "service's dry-run estimate where offered):",
        "| block | samples | circuits | shots | QPU s (lower bound) | QPU s (runtime) |"
        + (" local s (est.) |" if target.local else ""),
        "|---|---|---|---|---|---|" + ("---|" if target.local else ""),
    ]
    total = {k: 0.0 for k in ("samples", "circuits", "shots", "qpu", "rt", "local")}
    for r in plan:
        rt = r["qpu_seconds_runtime"]
        lines.append(
            f"| {r['block']} | {r['samples']} | {r['circuits']} | {r['shots']} | "
            f"{r['qpu_seconds_lower_bound']:.1f} | {'-' if rt is None else f'{rt:.1f}'} |"
            + (f" {r['local_seconds']:.0f} |" if target.local else "")
        )
        for k, v in (("samples", r["samples"]), ("circuits", r["circuits"]), ("shots", r["shots"])):
            total[k] += v
        total["qpu"] += r["qpu_seconds_lower_bound"]
        total["rt"] += rt or 0.0
        total["local"] += r["local_seconds"]
    offered = any(r["qpu_seconds_runtime"] is not None for r in plan)
    runtime_total = f"{total['rt']:.1f}" if offered else "-"
    lines.append(
        f"| all | {total['samples']:.0f} | {total['circuits']:.0f} | {total['shots']:.0f} | "
        f"{total['qpu']:.1f} | {runtime_total} |"
        + (f" {total['local']:.0f} |" if target.local else "")
    )
    return lines


def check_budget(
    plan: list[dict[str, Any]], target: RuntimeTarget, opts: RunOptions, confirm: Confirm
) -> None:
    """Refuse a device run above ``--max-qpu-seconds``; ask before spending unless ``yes``.

    The budget compares the larger of our lower bound and the runtime's estimate. Local
    testing mode spends no QPU time: neither applies.
    """
    if target.local:
        return
    qpu = sum(max(r["qpu_seconds_lower_bound"], r["qpu_seconds_runtime"] or 0.0) for r in plan)
    device = getattr(target.backend, "name", "?")
    if opts.max_qpu_seconds is not None and qpu > opts.max_qpu_seconds:
        raise ConfigError(
            f"estimated {qpu:.0f} QPU seconds on {device} exceed --max-qpu-seconds "
            f"{opts.max_qpu_seconds:g}; nothing was submitted: lower --patches, --tiles or "
            "--shots, or raise the budget"
        )
    if not opts.yes and not confirm(
        f"Submit {sum(r['circuits'] for r in plan)} circuits ({qpu:.0f} QPU seconds or more) "
        f"to {device}?"
    ):
        raise HQError(f"nothing submitted to {device} (not confirmed; --yes skips the question)")


def summary(block_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Top-level provenance DERIVED from the blocks' own job records (never from the target
    of today's command: a resumed local run stays local).

    Returns:
        local (every block ran locally), device (names, comma-joined), mitigation applied to
        every block, whether each block was mitigated, snapshot dates, notes.
    """
    applied = [set(b["mitigation_applied"]) for b in block_rows]
    common = sorted(set.intersection(*applied)) if applied else []
    return {
        "local": all(b["local"] for b in block_rows),
        "ideal_simulator": all(b.get("ideal_simulator", False) for b in block_rows),
        "device": ", ".join(sorted({b["device"] for b in block_rows})),
        "mixed": len({(b["local"], b["device"]) for b in block_rows}) > 1,
        "mitigation_applied": common,
        "mitigated": bool(applied) and all(applied),
        "snapshot_dates": sorted({str(d) for b in block_rows if (d := b.get("snapshot_date"))}),
        "note": "; ".join(dict.fromkeys(b["note"] for b in block_rows)),
        "mode": ", ".join(sorted({str(b.get("mode")) for b in block_rows})),
        "simulator": ", ".join(sorted({b["simulator"] for b in block_rows if b.get("simulator")}))
        or None,
    }


def save_values(folder: Path, row: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """``values/<tag>.npz`` (inputs, exact, hardware, stds) + ``values/<tag>.json`` (the row)."""
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(folder / f"{row['tag']}.npz", buf.getvalue())
    atomic_write(folder / f"{row['tag']}.json", json.dumps(row, indent=1, default=str))


def block_row(
    tap: BlockTap,
    tag: str,
    m: MappedCircuit,
    result: BlockResult,
    x: np.ndarray,
    exact: np.ndarray,
    groups: int,
) -> dict[str, Any]:
    """One block's row of run.json: where its job ran (from the job's own record), what it
    used, and its errors against the exact values."""
    rec = result.record
    err = np.abs(result.evs - exact)  # (N, n_obs)
    return {
        "block": tap.block.name,
        "tag": tag,
        "job_id": result.job_id,
        "resumed": result.resumed,
        "status": rec.get("status"),
        "local": rec.get("local", True),
        "ideal_simulator": rec.get("ideal_simulator", False),
        "device": rec.get("device", "?"),
        "backend_version": rec.get("backend_version"),
        "snapshot_date": rec.get("snapshot_date"),
        "mode": rec.get("mode"),
        "mode_id": rec.get("mode_id"),
        **{k: rec[k] for k in LOCAL_SIM_FIELDS if k in rec},
        "note": rec.get("note", result.note),
        "mitigation_requested": rec.get("mitigation_requested"),
        "mitigation_applied": list(result.mitigation),
        "shots": rec.get("shots"),
        "precision": rec.get("precision"),
        "usage_s": rec.get("usage"),
        "metrics": rec.get("metrics"),
        "execution_spans": rec.get("execution_spans"),
        "result_metadata": rec.get("result_metadata"),
        "samples": len(x),
        "observables": err.shape[1],
        "groups": groups,
        "active_qubits": len(m.active_qubits),
        "layout": list(m.final_layout),
        "layout_strategy": m.strategy,
        "mae_vs_exact": float(err.mean()),
        "max_abs_vs_exact": float(err.max()),
        "mean_std_error": float(np.mean(result.stds)),
        "seconds": result.seconds,
    }


def exact_noisy_result(
    tap: BlockTap, x: np.ndarray, backend: Backend, opts: RunOptions, echo: Echo
) -> BlockResult:
    """A block's values on the exact noisy engine with the entry's device noise, as a
    finished ``BlockResult`` whose record says which engine and noise model made them."""
    w = tap.inner.weight.detach().double().cpu().numpy()  # (n_w,) radians
    evs, stds, record = exact_noisy_values(
        tap.block, w, x, backend, shots=shots_per_circuit(opts), seed=opts.seed
    )
    echo(f"block {tap.block.name}: {record['note']}, {record['seconds']:.1f} s")
    return BlockResult(
        evs, stds, "none (local simulator)", record["note"], (), seconds=record["seconds"],
        record=record,
    )  # fmt: skip


def aer_check(
    tap: BlockTap,
    x: np.ndarray,
    exact: np.ndarray,
    result: BlockResult,
    backend: Backend,
    opts: RunOptions,
    echo: Echo,
) -> dict[str, Any]:
    """The exact noisy engine against Aer (density matrix, readout sampled) on the first
    ``opts.aer_check_samples`` samples, where the block is narrow enough; else the reason."""
    k = min(opts.aer_check_samples, len(x))
    if k == 0:
        return {"skipped": "--aer-check-samples 0"}
    w = tap.inner.weight.detach().double().cpu().numpy()
    shots = shots_per_circuit(opts)
    start = time.perf_counter()
    ref = aer_reference(
        tap.block, w, x[:k], block_noise(tap.block, backend).noise_model, shots=shots,
        seed=opts.seed,
    )  # fmt: skip
    if ref is None:
        why = (
            f"not run: {tap.block.circuit.num_qubits} qubits (Aer's density matrix holds 4**n "
            "numbers; narrow blocks only) or observables other than single-qubit Z/X"
        )
        return {"skipped": why}
    aer, aer_std = ref
    out = {
        "samples": k,
        "shots": shots,
        "mae_engine_vs_aer": mean_abs(result.evs[:k], aer),
        "mean_aer_std_error": float(aer_std.mean()),
        "mae_aer_vs_exact": mean_abs(aer, exact[:k]),
        "seconds": time.perf_counter() - start,
    }
    echo(
        f"block {tap.block.name}: exact noisy engine vs Aer (density matrix, {shots} shots, "
        f"{k} samples): MAE {out['mae_engine_vs_aer']:.4f} (Aer's own standard error "
        f"{out['mean_aer_std_error']:.4f})"
    )
    return out


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


def run_inference(
    checkpoint: Path,
    backend: Backend,
    target: RuntimeTarget,
    out: Path,
    opts: RunOptions,
    *,
    echo: Echo = tqdm.write,
    confirm: Confirm = lambda question: False,
) -> dict[str, Any]:
    """Run a checkpoint's inference with its quantum blocks on ``target``; write run.json/.md.

    Nothing is submitted before the cost plan (circuits, shots, QPU seconds per block and in
    all) is printed; a device run above ``opts.max_qpu_seconds`` is refused, and one that is
    not ``confirm``-ed (unless ``opts.yes``) is not submitted. All jobs of a run share one
    Batch or Session (the entry's mode).

    Args:
        checkpoint: a ``.pt`` file or a run folder (best.pt, else last.pt).
        backend: the backends.toml entry (transpile settings; its mitigation as requested).
        target: where the circuits run (``runtime.resolve``).
        out: output folder; job records go to ``out/jobs``, values to ``out/values``.
        opts: shots, data selection, resume, budget.
        confirm: asked a yes/no question before a device run spends QPU time.

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
            "reuse their values (and resubmit failed jobs), or choose another --out"
        )
    taps = install_taps(model)
    mapped = [isa_block(t.block, backend, target.backend) for t in taps]  # CircuitError if too wide
    shots = shots_per_circuit(opts)
    echo(
        target.note
        if opts.simulator is None
        else f"local simulator {opts.simulator}: hq-qiskit's exact noisy engine with the device "
        f"noise of {backend.noise} (no job is submitted; not a device, not Aer local mode)"
    )
    echo(
        f"checkpoint {path}: {len(taps)} quantum block(s); {len(patches.ids)} patches of "
        f"{len(patches.tiles)} tile(s) ({', '.join(patches.tiles)}), {shots} shots per circuit"
    )
    loader = DataLoader(patches.dataset, batch_size=opts.batch_size)

    def run_pass(
        recording: Sequence[BlockTap], desc: str, over: DataLoader = loader
    ) -> tuple[Tensor, Tensor]:
        taps[0].clock[0] = 0
        for tap in taps:
            tap.reset()
            tap.record = tap in recording
        return _predict(model, over, desc)

    def pub_of(tap: BlockTap, m: MappedCircuit) -> tuple:
        x = torch.cat(tap.inputs).numpy()  # (N, n_in)
        w = tap.inner.weight.detach().double().cpu().numpy()  # (n_w,) radians
        cols = {p: x[:, j] for j, p in enumerate(tap.block.inputs)}
        cols.update({p: np.full(len(x), w[j]) for j, p in enumerate(tap.block.weights)})
        return (m.circuit, observable_array(m), parameter_array(m, cols))  # values (N, 1, P)

    # pass 0: exact everywhere; the call order, the ideal prediction, and every block's
    # sample count for the cost plan (before anything is submitted)
    for tap in taps:
        tap.replay = None
    ideal_pred, masks = run_pass(taps, "ideal")
    order = sorted(
        (i for i in range(len(taps)) if taps[i].first is not None), key=lambda i: taps[i].first
    )  # a block the forward never calls is skipped
    groups = {i: measurement_groups(taps[i].block.observables) for i in order}
    plan = plan_cost(
        target,
        [taps[i].block.name for i in order],
        [mapped[i] for i in order],
        [pub_of(taps[i], mapped[i]) for i in order],
        [groups[i] for i in order],
        shots,
        opts.precision,
    )
    if opts.simulator == ENGINE:
        for r in plan:  # no trajectories: the noise model's build dominates
            r["local_seconds"] = EXACT_NOISY_S_PER_BLOCK
    for line in plan_lines(plan, target):
        echo(line)
    if target.local and opts.simulator == ENGINE:
        echo(
            f"local simulator {ENGINE}: about {sum(r['local_seconds'] for r in plan):.0f} s for "
            "the blocks (no QPU, no Aer trajectories)"
        )
    elif target.local:
        local_s = sum(r["local_seconds"] for r in plan)
        slow = local_s > LOCAL_SLOW_S
        echo(
            f"local testing mode: the jobs take about {local_s / 60:.1f} min on 2 CPU cores (a "
            "rough estimate: noisy trajectories dominate; the classical passes come on top)"
            + (
                f" - longer than {LOCAL_SLOW_S / 60:.0f} min: --patches {LOCAL_PATCHES} "
                f"--shots {LOCAL_SHOTS} keeps it short"
                if slow
                else ""
            )
        )
    check_budget(plan, target, opts, confirm)

    probe = DataLoader(Subset(patches.dataset, [0]), batch_size=1)
    waves = dependency_waves(taps, order, lambda recording, desc: run_pass(recording, desc, probe))
    if len(waves) < len(order):
        echo(
            "independent blocks are submitted together: "
            + " | ".join(", ".join(taps[i].block.name for i in wave) for wave in waves)
        )
    block_rows: list[dict[str, Any]] = []
    cost_of = dict(zip(order, plan, strict=True))
    tag_of = {i: f"{k:02d}-{taps[i].block.name}" for k, i in enumerate(order)}
    with contextlib.ExitStack() as stack:
        opened: list[Any] = []

        def run_mode():  # one Batch / Session for the run, opened at the first submission
            if not opened:
                opened.append(stack.enter_context(open_mode(target)))
            return opened[0]

        for wave in waves:
            # earlier waves replay their values; this wave's blocks record their inputs
            run_pass([taps[i] for i in wave], f"inputs of {len(wave)} block(s)")
            submitted = {}
            for i in wave:  # submit the whole wave before waiting on any job
                tap, tag = taps[i], tag_of[i]
                x = torch.cat(tap.inputs).numpy()  # (N, n_in)
                exact = torch.cat(tap.exact).numpy()  # (N, n_obs)
                if opts.simulator == ENGINE:  # no job: values now, labelled
                    submitted[i] = (exact_noisy_result(tap, x, backend, opts, echo), x, exact)
                    continue
                pub = pub_of(tap, mapped[i])
                echo(
                    f"block {tap.block.name}: one PUB of {len(x)} samples x "
                    f"{len(mapped[i].observables)} observables on "
                    f"{len(mapped[i].active_qubits)} physical qubits -> jobs/{tag}.json"
                )
                pending = submit_block(
                    mapped[i],
                    pub[2],
                    target,
                    run_dir=Path(out),
                    tag=tag,
                    shots=opts.shots,
                    precision=opts.precision,
                    resume=opts.resume,
                    seed=opts.seed,
                    sample_ids=patches.ids,
                    mode=run_mode,
                    mitigation_requested=backend.mitigation,
                    max_execution_time=opts.max_execution_time,
                    echo=echo,
                )
                submitted[i] = (pending, x, exact)
            for i in wave:
                pending, x, exact = submitted[i]
                result = (
                    pending
                    if isinstance(pending, BlockResult)
                    else collect(
                        pending,
                        result_timeout_s=opts.result_timeout_s,
                        expected_s=cost_of[i]["local_seconds"] if target.local else 0.0,
                    )
                )
                taps[i].replay = torch.from_numpy(result.evs)  # (N, n_obs)
                row = block_row(taps[i], tag_of[i], mapped[i], result, x, exact, groups[i])
                row["cost_plan"] = cost_of[i]
                if opts.simulator == ENGINE:
                    row["aer_check"] = aer_check(taps[i], x, exact, result, backend, opts, echo)
                if opts.compare_mitigation:
                    row["mitigation_comparison"] = mitigation_table(
                        taps[i].block,
                        mapped[i],
                        target.backend.target,
                        pub_of(taps[i], mapped[i])[2][: opts.compare_samples],
                        exact[: opts.compare_samples],
                        shots=shots,
                        seed=opts.seed,
                        device=getattr(target.backend, "name", "?"),
                    )
                    for line in row["mitigation_comparison"].get("markdown", []):
                        echo(line)
                row["shots"] = row["shots"] or shots
                row["mitigation_requested"] = row["mitigation_requested"] or list(
                    backend.mitigation
                )
                save_values(
                    Path(out) / "values",
                    row,
                    {
                        "inputs": x,
                        "exact": exact,
                        "hardware": result.evs,
                        "stds": result.stds,
                        "samples": np.asarray(patches.ids),
                    },
                )
                block_rows.append(row)
    hw_pred, _ = run_pass([], "hardware")
    classes, ignore = list(config["class_names"]), int(config.get("ignore_index", 255))
    ideal_scores = _scores(ideal_pred, masks, classes, ignore)
    hw_scores = _scores(hw_pred, masks, classes, ignore)
    ordered = [mapped[i] for i in order]
    where = summary(block_rows)
    result = {
        "checkpoint": str(path),
        "model": config["model"],
        "backend": backend.name,
        **where,  # local, device, mitigation applied, snapshots: derived from the blocks
        "mitigation_requested": list(backend.mitigation),
        "shots": shots,
        "precision": opts.precision if not opts.shots else 1 / math.sqrt(shots),
        "data": opts.data or config.get("data") or "built-in",
        "split": opts.split,
        "tiles": patches.tiles,
        "samples": patches.ids,
        "blocks": block_rows,
        "cost_plan": plan,
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
