"""The measured mitigation table: ``hardware/mitigation.py``'s runs over seeds, summarised.

- ``summarise``: per mitigation choice, the MAE against exact values as mean +- 95 % t
  interval over the simulator seeds (``training.statistics.seed_interval``), the max |error|,
  shots and CPU time and their overheads over the unmitigated row.
- ``shot_noise_note``: one line when the unmitigated values' shot-noise standard error (their
  spread over the seeds) exceeds the noise signal |ideal - unmitigated| (then the rows measure
  shot noise, not mitigation).
- ``mitigation_table``: ``hq-qiskit run --compare-mitigation`` for one block (JSON rows and
  Markdown), or the reason it was skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.mitigation import MAX_QUBITS, MIN_SEEDS, SeedRun, run_choices
from hq_qiskit.training.statistics import seed_interval

LEVEL = 0.95


@dataclass(frozen=True)
class MitigationRow:
    """One mitigation choice measured against exact values over seeds.

    Attributes:
        mitigation: a ``mitigation.CHOICES`` entry.
        mae: mean over seeds of each seed's mean |value - exact| (samples x observables);
            mae_low, mae_high: its 95 % t interval over the seeds.
        max_abs: mean over seeds of each seed's max |value - exact|.
        seeds: how many simulator seeds.
        shots: shots spent per seed over all samples (every circuit of the program).
        shot_overhead: shots / the unmitigated row's shots.
        cpu_s, wall_s: this process's CPU and wall seconds per seed (mean).
        time_overhead: cpu_s / the unmitigated row's cpu_s.
        server_side: what a real device is asked for instead ("" for none).
    """

    mitigation: str
    mae: float
    mae_low: float
    mae_high: float
    max_abs: float
    seeds: int
    shots: int
    shot_overhead: float
    cpu_s: float
    wall_s: float
    time_overhead: float
    server_side: str


def summarise(runs: Sequence[SeedRun], exact: np.ndarray) -> list[MitigationRow]:
    """One row per choice (in the order run, "none" first) from ``run_choices``' runs.

    Args:
        runs: every choice x seed; exact: exact values (N, n_obs).
    """
    exact = np.asarray(exact, dtype=float)
    choices = list(dict.fromkeys(r.mitigation for r in runs))
    rows: list[MitigationRow] = []
    for choice in choices:
        mine = [r for r in runs if r.mitigation == choice]
        err = np.stack([np.abs(r.evs.reshape(exact.shape) - exact) for r in mine])  # (S, N, O)
        mae = seed_interval(err.mean(axis=(1, 2)), LEVEL)
        cpu = float(np.mean([r.cpu_s for r in mine]))
        base = rows[0] if rows else None
        rows.append(
            MitigationRow(
                mitigation=choice,
                mae=mae.estimate,
                mae_low=mae.low,
                mae_high=mae.high,
                max_abs=float(err.max(axis=(1, 2)).mean()),
                seeds=len(mine),
                shots=mine[0].shots,
                shot_overhead=mine[0].shots / base.shots if base else 1.0,
                cpu_s=cpu,
                wall_s=float(np.mean([r.wall_s for r in mine])),
                time_overhead=cpu / max(base.cpu_s, 1e-9) if base else 1.0,
                server_side=mine[0].server_side,
            )
        )
    return rows


def shot_noise_note(runs: Sequence[SeedRun], exact: np.ndarray, shots: int) -> str | None:
    """One line when shot noise hides the noise: the unmitigated values' shot-noise standard
    error (their spread over the seeds, mean over samples x observables; the Estimator's own
    ``stds`` with one seed) exceeds the noise signal, mean |exact - unmitigated| with the
    unmitigated values averaged over the seeds; None otherwise."""
    exact = np.asarray(exact, dtype=float)
    none = np.stack([r.evs.reshape(exact.shape) for r in runs if r.mitigation == "none"])
    signal = float(np.abs(none.mean(0) - exact).mean())
    if len(none) > 1:
        se = float(none.std(axis=0, ddof=1).mean())
    else:
        se = float(np.mean([r.stds for r in runs if r.mitigation == "none"]))
    if se <= signal:
        return None
    return (
        f"warning: shot noise exceeds the noise signal (standard error {se:.4f} per value at "
        f"{shots} shots, |ideal - unmitigated| {signal:.4f}): the rows mostly measure shot "
        "noise; raise --shots for a table that measures mitigation"
    )


def markdown_lines(rows: Sequence[MitigationRow], title: str, note: str | None = None) -> list:
    """The table as Markdown under a one-line title (and the shot-noise warning, if any)."""
    seeds = rows[0].seeds if rows else 0
    lines = [title, *([note] if note else []), ""]
    lines += [
        f"| mitigation | MAE vs exact (mean ± {LEVEL:.0%} t interval, {seeds} seeds) | max abs "
        "| shots | shot overhead | CPU s | time overhead | on a real device (Estimator option) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        half = (r.mae_high - r.mae_low) / 2
        lines.append(
            f"| {r.mitigation} | {r.mae:.4f} ± {half:.4f} | {r.max_abs:.4f} | {r.shots} | "
            f"{r.shot_overhead:.1f}x | {r.cpu_s:.2f} | {r.time_overhead:.1f}x | "
            f"{r.server_side or '-'} |"
        )
    return lines


def mitigation_table(
    block: QuantumBlock,
    mapped: MappedCircuit,
    device,
    values: np.ndarray,
    exact: np.ndarray,
    *,
    shots: int,
    seed: int,
    n_seeds: int = MIN_SEEDS,
) -> dict[str, Any]:
    """``--compare-mitigation`` for one block: its measured table as JSON rows and Markdown
    lines, or the reason it was skipped (a region wider than ``MAX_QUBITS``).

    Args:
        device: the device or its fake twin (target, properties).
        values: parameter values (N, 1, P) of the block's PUB; exact: (N, n_obs).
        seed: the first simulator seed; seeds seed .. seed + n_seeds - 1 are run.
    """
    width = len(mapped.active_qubits)
    if width > MAX_QUBITS:
        return {
            "block": block.name,
            "skipped": (
                f"{width} physical qubits: every shot of the noisy simulation is a trajectory "
                f"of 2**{width} amplitudes; the comparison takes blocks of at most {MAX_QUBITS} "
                "qubits (train with --qubit-grid 2x2 or 2x3 for one)"
            ),
        }
    seeds = tuple(range(seed, seed + n_seeds))
    try:
        runs = run_choices(mapped, device, values, shots=shots, seeds=seeds)
    except ConfigError as err:
        return {"block": block.name, "skipped": str(err)}
    rows, note = summarise(runs, exact), shot_noise_note(runs, exact, shots)
    name = getattr(device, "name", "?")
    title = (
        f"Mitigation measured for {block.name}: {len(values)} samples x {exact.shape[1]} "
        f"observables, {shots} shots per circuit, simulator seeds {seeds[0]}..{seeds[-1]}, "
        f"noisy Aer on {name}'s physical qubits {list(mapped.active_qubits)} (gate errors, "
        "T1/T2 over gates and ALAP-scheduled idle windows, asymmetric readout), mitigation "
        "applied client-side by qiskit-ibm-runtime's executor-based Estimator (the same "
        "Estimator a device run uses)"
    )
    return {
        "block": block.name,
        "samples": len(values),
        "shots": shots,
        "seeds": list(seeds),
        "physical_qubits": list(mapped.active_qubits),
        "rows": [asdict(r) for r in rows],
        "shot_noise_warning": note,
        "markdown": markdown_lines(rows, title, note),
    }
