"""The plan of a device run, before anything is submitted: what it costs and whether it may.

Per block: samples, circuits (samples x measurement groups), shots, executions, QPU seconds
(a lower bound; the upper estimate with mitigation, twirling and TREX calibration,
``qpu_cost.UPPER_FORMULA``; the runtime's dry-run estimate where offered) and the expected
local wall time; the terminal table; the budget (``--max-qpu-seconds``, against the upper
estimate) and the question before a device spends QPU time; offline, the price of the
full-size device run beside the rehearsal; laptop sizing for local testing mode; the cost of
the run, a tile and the whole split (``cost_rows``, from the blocks that ran).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from qiskit.quantum_info import PauliList, SparsePauliOp

from hq_qiskit.errors import ConfigError, HQError
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.local_sim import ENGINE
from hq_qiskit.hardware.qpu_cost import (
    UPPER_FORMULA,
    executions,
    qpu_seconds_estimate,
    qpu_seconds_upper,
    rep_delay_s,
    runtime_estimate,
)
from hq_qiskit.hardware.runtime import RuntimeTarget
from hq_qiskit.inference.options import RunOptions

Confirm = Callable[[str], bool]

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


def measurement_groups(observables: Sequence[SparsePauliOp]) -> int:
    """Circuits per sample: qubit-wise commuting groups of all the observables' Pauli terms."""
    paulis = PauliList([str(p) for op in observables for p in op.paulis])
    return len(paulis.group_qubit_wise_commuting())


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


def local_seconds(target: RuntimeTarget, width: int, circuits: int, shots: int) -> float:
    """Expected local wall time of one block, seconds: the exact noisy engine's per-block
    cost (no trajectories: the noise model's build dominates), else local testing mode's."""
    if target.executor == ENGINE:
        return EXACT_NOISY_S_PER_BLOCK
    return local_seconds_estimate(target, width, circuits, shots)


def jobs_opened(order: Sequence[int], waves: Sequence[Sequence[int]]) -> list[int]:
    """Per block of ``order``: the jobs it opens, 1 for the first block of each dependency
    wave (one job holds a wave's blocks, one PUB each) and 0 for the others; the 2 s per
    sub-job of the QPU lower bound is counted once per job, so it stays a lower bound."""
    first = {wave[0] for wave in waves if wave}
    return [int(i in first) for i in order]


def cost_rows(
    blocks: list[dict[str, Any]],
    mapped: list[MappedCircuit],
    target: RuntimeTarget,
    samples: dict[str, int],
    shots: int,
    jobs: Sequence[int] | None = None,
) -> dict[str, dict[str, float]]:
    """QPU cost lower bounds for each scope (name -> samples): circuits, shots, seconds.

    One job per dependency wave per scope (``jobs``: per block, the jobs it opens,
    ``jobs_opened``; None: one per block); IBM's baseline of 2 s per sub-job plus
    (rep_delay + circuit duration) x shots per circuit; no queueing, no compilation.
    """
    jobs = [1] * len(blocks) if jobs is None else list(jobs)
    rows = {}
    for scope, n in samples.items():
        circuits = sum(n * b["groups"] for b in blocks)
        seconds = sum(
            qpu_seconds_estimate(
                m,
                target.backend.target,
                n * b["groups"],
                shots,
                n_subjobs=j,
                rep_delay=rep_delay_s(target.backend),
            )
            for b, m, j in zip(blocks, mapped, jobs, strict=True)
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
    jobs: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Per block, before anything is submitted: samples, circuits (samples x measurement
    groups), shots, executions with the mitigation the target applies, our QPU lower bound
    (the 2 s per sub-job only on the block that opens its job: ``jobs``, from
    ``jobs_opened``; None: every block its own job) and upper estimate (rep_delay from the
    backend), the runtime's own estimate where it offers one, and the expected local wall
    time."""
    rows = []
    rep = rep_delay_s(target.backend)
    jobs = [1] * len(names) if jobs is None else list(jobs)
    for name, m, pub, g, j in zip(names, mapped, pubs, groups, jobs, strict=True):
        n = pub[2].shape[0]
        rows.append(
            {
                "block": name,
                "samples": n,
                "circuits": n * g,
                "shots": n * g * shots,
                "executions": executions(n * g, shots, target.mitigation),
                "mitigation_priced": list(target.mitigation),
                "qpu_seconds_lower_bound": qpu_seconds_estimate(
                    m, target.backend.target, n * g, shots, n_subjobs=j, rep_delay=rep
                ),
                "qpu_seconds_upper": qpu_seconds_upper(
                    m, target.backend.target, n * g, shots, target.mitigation, rep
                ),
                "qpu_seconds_runtime": runtime_estimate(target, pub, shots, precision),
                "local_seconds": local_seconds(target, len(m.active_qubits), n * g, shots),
            }
        )
    return rows


def budget_seconds(row: dict[str, Any]) -> float:
    """What the budget compares for one block: the larger of the upper estimate and the
    runtime's own estimate (a plan without an upper estimate falls back to the lower bound)."""
    upper = row.get("qpu_seconds_upper", row["qpu_seconds_lower_bound"])
    return max(upper, row.get("qpu_seconds_runtime") or 0.0)


def full_size_line(
    target: RuntimeTarget,
    mapped: Sequence[MappedCircuit],
    groups: Sequence[int],
    samples: int,
    shots: int,
    mitigation: Sequence[str],
    what: str,
    jobs: Sequence[int] | None = None,
) -> str:
    """Offline: the device price of the full-size run, said as such beside the rehearsal.

    Args:
        mapped, groups: the called blocks' ISA circuits and measurement groups.
        samples: samples of the full-size run; shots: its shots per circuit (the entry's).
        mitigation: what the device would apply (the entry's, as requested).
        what: the full-size run in words ("256 patches of 1 tile(s), 4096 shots").
        jobs: per block, the jobs it opens (``jobs_opened``; None: one each).
    """
    jobs = [1] * len(mapped) if jobs is None else list(jobs)
    rep = rep_delay_s(target.backend)
    upper = sum(
        qpu_seconds_upper(m, target.backend.target, samples * g, shots, mitigation, rep)
        for m, g in zip(mapped, groups, strict=True)
    )
    lower = sum(
        qpu_seconds_estimate(m, target.backend.target, samples * g, shots, j, rep_delay=rep)
        for m, g, j in zip(mapped, groups, jobs, strict=True)
    )
    device = getattr(target.entry, "device", None) or getattr(target.backend, "name", "?")
    return (
        f"full-size run on the device {device} ({what}, mitigation "
        f"{', '.join(mitigation) or 'none'}): {lower:.0f} QPU s lower bound, {upper:.0f} QPU s "
        "upper estimate; the table above prices this local rehearsal, which spends no QPU time"
    )


def plan_lines(plan: list[dict[str, Any]], target: RuntimeTarget) -> list[str]:
    """The cost plan as lines for the terminal (and run.md)."""
    local = target.local
    lines = [
        "cost before submission (QPU s: a lower bound; the " + UPPER_FORMULA + "; runtime: the "
        "service's dry-run estimate where offered):",
        "| block | samples | circuits | shots | executions | QPU s (lower bound) | "
        "QPU s (upper estimate) | QPU s (runtime) |" + (" local s (est.) |" if local else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if local else ""),
    ]
    keys = ("samples", "circuits", "shots", "executions", "qpu_seconds_lower_bound",
            "qpu_seconds_upper", "local_seconds")  # fmt: skip
    total = dict.fromkeys(keys, 0.0)
    for r in plan:
        rt = r["qpu_seconds_runtime"]
        lines.append(
            f"| {r['block']} | {r['samples']} | {r['circuits']} | {r['shots']} | "
            f"{r['executions']} | {r['qpu_seconds_lower_bound']:.1f} | "
            f"{r['qpu_seconds_upper']:.1f} | {'-' if rt is None else f'{rt:.1f}'} |"
            + (f" {r['local_seconds']:.0f} |" if local else "")
        )
        for k in keys:
            total[k] += r[k]
    offered = [r["qpu_seconds_runtime"] for r in plan if r["qpu_seconds_runtime"] is not None]
    runtime_total = f"{sum(offered):.1f}" if offered else "-"
    lines.append(
        f"| all | {total['samples']:.0f} | {total['circuits']:.0f} | {total['shots']:.0f} | "
        f"{total['executions']:.0f} | {total['qpu_seconds_lower_bound']:.1f} | "
        f"{total['qpu_seconds_upper']:.1f} | {runtime_total} |"
        + (f" {total['local_seconds']:.0f} |" if local else "")
    )
    return lines


def check_budget(
    plan: list[dict[str, Any]], target: RuntimeTarget, opts: RunOptions, confirm: Confirm
) -> None:
    """Refuse a device run above ``--max-qpu-seconds``; ask before spending unless ``yes``.

    The budget compares, per block, the larger of the upper estimate (mitigation, twirling
    and TREX calibration included) and the runtime's estimate. Local testing mode spends no
    QPU time: neither applies (``request.ignored_flags`` says so).
    """
    if target.local:
        return
    qpu = sum(budget_seconds(r) for r in plan)
    device = getattr(target.backend, "name", "?")
    if opts.max_qpu_seconds is not None and qpu > opts.max_qpu_seconds:
        raise ConfigError(
            f"upper estimate {qpu:.0f} QPU seconds on {device} (mitigation "
            f"{', '.join(target.mitigation) or 'none'}) exceeds --max-qpu-seconds "
            f"{opts.max_qpu_seconds:g}; nothing was submitted: lower --patches, --tiles, "
            "--shots or --mitigation, or raise the budget"
        )
    if not opts.yes and not confirm(
        f"Submit {sum(r['circuits'] for r in plan)} circuits (up to about {qpu:.0f} QPU seconds) "
        f"to {device}?"
    ):
        raise HQError(f"nothing submitted to {device} (not confirmed; --yes skips the question)")


def local_time_line(plan: list[dict[str, Any]], target: RuntimeTarget) -> str | None:
    """The expected local wall time in words (None for a device run)."""
    if target.executor == ENGINE:
        return (
            f"local simulator {ENGINE}: about {sum(r['local_seconds'] for r in plan):.0f} s for "
            "the blocks (no QPU, no Aer trajectories)"
        )
    if not target.local:
        return None
    local_s = sum(r["local_seconds"] for r in plan)
    slow = (
        f" - longer than {LOCAL_SLOW_S / 60:.0f} min: --patches {LOCAL_PATCHES} "
        f"--shots {LOCAL_SHOTS} keeps it short"
        if local_s > LOCAL_SLOW_S
        else ""
    )
    return (
        f"local testing mode: the jobs take about {local_s / 60:.1f} min on 2 CPU cores (a "
        "rough estimate: noisy trajectories dominate; the classical passes come on top)" + slow
    )
