"""The record of a device run: ``run.json`` rows from what ran, never from today's flags.

Each block's row comes from its job's own record (where it ran, snapshot date, mitigation
applied, status, usage); the top-level summary is derived from those rows (a resumed local
run stays local). ``values/<tag>.npz`` keeps every block's inputs, exact and hardware values.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from hq_qiskit.atomic import atomic_write
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.jobs import BlockResult
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.inference.options import RunOptions
from hq_qiskit.inference.passes import scores
from hq_qiskit.inference.patches import Patches
from hq_qiskit.inference.report import RESULT_JSON, RESULT_MD, markdown

# what a local-simulator block row carries besides a job's fields (local_sim.exact_noisy_values)
LOCAL_SIM_FIELDS = ("simulator", "engine", "noise_model_source", "snapshot", "approximation")


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
    name: str,
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
        "block": name,
        "tag": tag,
        "job_id": result.job_id,
        "pub_index": rec.get("pub_index"),  # this block's PUB of the job
        "job_pubs": rec.get("job_pubs"),  # the tags of the job's PUBs, in order
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
        "mitigation_applied_source": rec.get("mitigation_applied_source"),
        "noise_source": rec.get("noise_source"),
        "seed": rec.get("seed"),
        "seed_simulator": rec.get("seed_simulator"),
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
        "layout": list(rec.get("final_layout") or m.final_layout),
        "layout_strategy": m.strategy,
        "mae_vs_exact": float(err.mean()),
        "max_abs_vs_exact": float(err.max()),
        "mean_std_error": float(np.mean(result.stds)),
        "seconds": result.seconds,
    }


def run_result(
    *,
    checkpoint: Path,
    backend: Backend,
    config: dict[str, Any],
    opts: RunOptions,
    shots: int,
    patches: Patches,
    predictions: dict[str, Tensor],
    block_rows: list[dict[str, Any]],
    plan: list[dict[str, Any]],
    cost: dict[str, dict[str, float]],
    seconds: float,
) -> dict[str, Any]:
    """The body of ``run.json``: provenance derived from the block rows (never from today's
    target), the cost plan and cost, and the scores of the "ideal" and "hardware"
    ``predictions`` (labels (N, P, P), with "masks") with their pixel agreement."""
    classes, ignore = list(config["class_names"]), int(config.get("ignore_index", 255))
    masks = predictions["masks"]
    ideal = scores(predictions["ideal"], masks, classes, ignore)
    hw = scores(predictions["hardware"], masks, classes, ignore)
    agreement = (predictions["hardware"] == predictions["ideal"]).double().mean()
    return {
        "checkpoint": str(checkpoint),
        "model": config["model"],
        "backend": backend.name,
        **summary(block_rows),  # local, device, mitigation applied, snapshots
        "mitigation_requested": list(backend.mitigation),
        "shots": shots,
        "seed": opts.seed,
        "precision": opts.precision if not opts.shots else 1 / math.sqrt(shots),
        "data": opts.data or config.get("data") or "built-in",
        "split": opts.split,
        "tiles": patches.tiles,
        "samples": patches.ids,
        "blocks": block_rows,
        "cost_plan": plan,
        "pixel_agreement": float(agreement),
        "miou_ideal": ideal["miou"],
        "miou_hardware": hw["miou"],
        "miou_change": hw["miou"] - ideal["miou"],
        "scores_ideal": ideal,
        "scores_hardware": hw,
        "cost": cost,
        "seconds": seconds,
    }


def write_result(out: Path, result: dict[str, Any]) -> None:
    """``run.json`` and ``run.md`` in ``out``, each written atomically."""
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write(Path(out) / RESULT_JSON, json.dumps(result, indent=1, default=str))
    atomic_write(Path(out) / RESULT_MD, markdown(result))
