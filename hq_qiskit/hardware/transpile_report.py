"""What each quantum block costs on a device: transpile metrics, Markdown, JSON and a PNG plot.

For one device target, every block is transpiled with the preset pass managers at optimisation
levels 0-3 over several seeds, and once with the noise-aware layout (``layout.py``) at the
backend's own level. Each row records: depth, two-qubit depth and count, swaps added by
routing, the schedule length from the target's durations (seconds), the estimated success
probability (ESP: gates and readout) and beside it the ESP with idle decoherence (``idle.py``),
the active width (qubits a simulator must carry), the initial layout and the transpile time
(seconds). Durations include the final readout of every active qubit (about
half the schedule of a short block on Heron).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from qiskit.transpiler import Target
from tqdm import tqdm

from hq_qiskit.atomic import atomic_write
from hq_qiskit.circuits import BLOCKS, build_block
from hq_qiskit.hardware.idle import esp_with_idle
from hq_qiskit.hardware.layout import (
    MappedCircuit,
    estimated_success_probability,
    transpile_block,
    with_readout,
)

LEVELS = (0, 1, 2, 3)


@dataclass(frozen=True)
class TranspileRow:
    """Metrics of one transpiled block (one backend, level, seed and layout strategy)."""

    block: str
    device: str
    strategy: str
    optimization_level: int
    seed: int
    depth: int
    depth_2q: int
    count_2q: int
    swaps: int
    duration_s: float
    esp: float
    width: int
    layout: list[int]
    transpile_s: float
    esp_idle: float = math.nan  # ESP x the idle qubits' T1/T2 fidelities (hardware/idle.py)


def measure(mapped: MappedCircuit, target: Target, block: str, device: str) -> TranspileRow:
    """Metrics of a transpiled block against its target."""
    isa = mapped.circuit
    two_q = [ins for ins in isa.data if ins.operation.num_qubits == 2]
    try:
        duration = float(with_readout(isa).estimate_duration(target, unit="s"))
    except Exception:  # a target without durations (a generic one): report NaN
        duration = float("nan")
    return TranspileRow(
        block=block,
        device=device,
        strategy=mapped.strategy,
        optimization_level=mapped.optimization_level,
        seed=mapped.seed,
        depth=isa.depth(),
        depth_2q=isa.depth(lambda ins: ins.operation.num_qubits == 2),
        count_2q=len(two_q),
        swaps=mapped.swaps,
        duration_s=duration,
        esp=estimated_success_probability(isa, target, mapped.final_layout),
        width=len(mapped.active_qubits),
        layout=list(mapped.initial_layout),
        transpile_s=mapped.transpile_s,
        esp_idle=esp_with_idle(isa, target, mapped.final_layout),
    )


def transpile_rows(
    target: Target,
    device: str,
    *,
    blocks: Sequence[str] = tuple(BLOCKS),
    levels: Sequence[int] = LEVELS,
    seeds: Sequence[int] = (0, 1, 2),
    noise_aware_level: int | None = 3,
    noise_aware_seed: int | None = None,
    progress: bool = True,
) -> list[TranspileRow]:
    """Transpile every block at every level and seed (preset), plus the noise-aware layout.

    Args:
        target: device target, e.g. ``FakeBrisbane().target``.
        device: the name written in each row (e.g. "FakeBrisbane").
        blocks: names from ``hq_qiskit.circuits.BLOCKS``.
        levels: preset optimisation levels.
        seeds: transpiler seeds per level.
        noise_aware_level: level for the noise-aware layout (None: skip it); use the entry's.
        noise_aware_seed: its first transpiler seed (None: ``seeds[0]``); use the entry's.
        progress: show a tqdm bar.
    """
    jobs = [(b, lvl, s, "preset") for b in blocks for lvl in levels for s in seeds]
    if noise_aware_level is not None:
        first = seeds[0] if noise_aware_seed is None else noise_aware_seed
        jobs += [(b, noise_aware_level, first, "noise_aware") for b in blocks]
    built = {name: build_block(name) for name in blocks}
    rows = []
    for name, level, seed, strategy in tqdm(
        jobs, desc=f"transpile on {device}", disable=not progress, leave=False
    ):
        block = built[name]
        mapped = transpile_block(
            block.circuit,
            block.observables,
            target,
            optimization_level=level,
            seed=seed,
            strategy=strategy,
        )
        rows.append(measure(mapped, target, name, device))
    return rows


def summary(rows: Sequence[TranspileRow]) -> list[dict]:
    """One line per (device, block, strategy, level): means over seeds and the best ESP."""
    groups: dict[tuple, list[TranspileRow]] = {}
    for r in rows:
        groups.setdefault((r.device, r.block, r.strategy, r.optimization_level), []).append(r)
    out = []
    for (device, block, strategy, level), rs in groups.items():
        best = max(rs, key=lambda r: r.esp)
        out.append(
            {
                "device": device,
                "block": block,
                "strategy": strategy,
                "level": level,
                "seeds": len(rs),
                "count_2q": float(np.mean([r.count_2q for r in rs])),
                "depth_2q": float(np.mean([r.depth_2q for r in rs])),
                "depth": float(np.mean([r.depth for r in rs])),
                "swaps": float(np.mean([r.swaps for r in rs])),
                "duration_us": float(np.mean([r.duration_s for r in rs]) * 1e6),
                "esp_mean": float(np.mean([r.esp for r in rs])),
                "esp_best": best.esp,
                "esp_idle_mean": float(np.mean([r.esp_idle for r in rs])),
                "best_seed": best.seed,
                "width": max(r.width for r in rs),
                "transpile_s": float(np.mean([r.transpile_s for r in rs])),
            }
        )
    return out


def noise_aware_verdicts(rows: Sequence[TranspileRow]) -> list[dict]:
    """Noise-aware ESP against the best preset ESP at the same level, per device and block."""
    out = []
    for na in (r for r in rows if r.strategy == "noise_aware"):
        preset = [
            r
            for r in rows
            if r.strategy == "preset"
            and r.device == na.device
            and r.block == na.block
            and r.optimization_level == na.optimization_level
        ]
        if not preset:
            continue
        best = max(preset, key=lambda r: r.esp)
        tie = math.isclose(na.esp, best.esp, rel_tol=1e-9, abs_tol=1e-12)
        out.append(
            {
                "device": na.device,
                "block": na.block,
                "level": na.optimization_level,
                "esp_noise_aware": na.esp,
                "esp_preset_best": best.esp,
                "width_noise_aware": na.width,
                "width_preset": best.width,
                "seed_noise_aware": na.seed,
                "beats_preset": "tie" if tie else ("yes" if na.esp > best.esp else "no"),
            }
        )
    return out


def to_markdown(rows: Sequence[TranspileRow], snapshots: dict[str, str] | None = None) -> str:
    """The summary and the noise-aware verdicts as Markdown tables; ``snapshots``: device
    label -> calibration snapshot date, listed first (fake twins are fixed snapshots)."""
    lines = [f"- {d}: calibration snapshot {date}" for d, date in (snapshots or {}).items()]
    lines += [""] if lines else []
    lines += [
        "| device | block | layout | level | 2q gates | 2q depth | depth | swaps | "
        "duration (us) | ESP mean | ESP best (seed) | ESP with idle T1/T2 (mean) | width | "
        "transpile (s) |",
        "|" + "---|" * 14,
    ]
    for s in summary(rows):
        lines.append(
            f"| {s['device']} | {s['block']} | {s['strategy']} | {s['level']} | "
            f"{s['count_2q']:.1f} | {s['depth_2q']:.1f} | {s['depth']:.1f} | {s['swaps']:.1f} | "
            f"{s['duration_us']:.2f} | {s['esp_mean']:.3f} | {s['esp_best']:.3f} "
            f"({s['best_seed']}) | {s['esp_idle_mean']:.3f} | {s['width']} | "
            f"{s['transpile_s']:.2f} |"
        )
    verdicts = noise_aware_verdicts(rows)
    if verdicts:
        lines += [
            "",
            "| device | block | level | ESP noise-aware | ESP preset (best seed) | "
            "width noise-aware / preset | beats preset |",
            "|" + "---|" * 7,
        ]
        for v in verdicts:
            lines.append(
                f"| {v['device']} | {v['block']} | {v['level']} | {v['esp_noise_aware']:.3f} | "
                f"{v['esp_preset_best']:.3f} | {v['width_noise_aware']} / {v['width_preset']} | "
                f"{v['beats_preset']} |"
            )
    return "\n".join(lines) + "\n"


def to_json(rows: Sequence[TranspileRow], snapshots: dict[str, str] | None = None) -> str:
    """All rows, the summary, the verdicts and the snapshot dates as JSON (NaN -> null)."""

    def clean(obj):
        if isinstance(obj, float) and obj != obj:
            return None
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    payload = {
        "rows": [asdict(r) for r in rows],
        "summary": summary(rows),
        "noise_aware": noise_aware_verdicts(rows),
        "snapshots": snapshots or {},
    }
    return json.dumps(clean(payload), indent=1) + "\n"


def plot_png(rows: Sequence[TranspileRow], path: Path) -> None:
    """ESP and two-qubit gate count against optimisation level, one line per device and block;
    noise-aware results as stars. Written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_esp, ax_2q) = plt.subplots(1, 2, figsize=(11, 4.2))
    stats = summary(rows)
    keys = sorted({(s["device"], s["block"]) for s in stats})
    styles, markers = ("-", "--", "-.", ":"), "osD^vP"
    for i, (device, block) in enumerate(keys):
        color = f"C{i % 10}"
        style = f"{markers[i % len(markers)]}{styles[i % len(styles)]}"
        dx = 0.06 * (i - (len(keys) - 1) / 2)  # lines with equal values stay visible side by side
        pre = sorted(
            (
                s
                for s in stats
                if (s["device"], s["block"]) == (device, block) and s["strategy"] == "preset"
            ),
            key=lambda s: s["level"],
        )
        levels = [s["level"] + dx for s in pre]
        ax_esp.plot(
            levels, [s["esp_mean"] for s in pre], style, color=color, label=f"{device} {block}"
        )
        ax_2q.plot(levels, [s["count_2q"] for s in pre], style, color=color)
        for s in stats:
            if (s["device"], s["block"], s["strategy"]) == (device, block, "noise_aware"):
                ax_esp.plot([s["level"] + dx], [s["esp_best"]], "*", ms=14, color=color)
                ax_2q.plot([s["level"] + dx], [s["count_2q"]], "*", ms=14, color=color)
    ax_esp.set(
        xlabel="optimisation level",
        ylabel="estimated success probability",
        title="ESP (mean over seeds; star = noise-aware layout)",
        xticks=list(LEVELS),
    )
    ax_2q.set(
        xlabel="optimisation level",
        ylabel="two-qubit gates",
        title="Two-qubit gate count",
        xticks=list(LEVELS),
    )
    ax_esp.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
