"""``hq-qiskit admit``'s table (terminal) and figure (admission.png) from its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hq_qiskit.training.diagnose_report import LABELS  # noqa: E402
from hq_qiskit.training.plots import save_png  # noqa: E402


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def _change(c: dict[str, Any]) -> str:
    return f"{_num(c['delta'], '+.4f')} [{_num(c['low'], '+.4f')}, {_num(c['high'], '+.4f')}]"


def table(report: dict[str, Any]) -> str:
    """One row per block: each intervention's mean change over seeds with its 95 % interval,
    its parameters' largest move (range over seeds: radians for a circuit's angles, weight units
    for a classical core), and the verdict below the row."""
    kinds = report["kinds"]
    head = ["block", "kind", "moved max", *[f"ΔmIoU {LABELS[k]} (95 % CI)" for k in kinds]]
    rows = []
    for s in report["sites"]:
        moved = [m for m in s["moved_max_abs"] if m is not None]
        unit = "rad" if s["kind"] == "quantum" else "(weights)"
        span = f"{min(moved):.3g}-{max(moved):.3g} {unit}" if moved else "n/a"
        rows.append([s["name"], s["kind"], span, *[_change(s["interventions"][k]) for k in kinds]])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    seeds = ", ".join(str(x) for x in report["seeds"])
    fold = f", fold {report['fold']} of {report['folds']}" if report["folds"] else ""
    lines = [
        f"{report['model']} on {report['backend']}, seeds {seeds} ({report['checkpoint']}): "
        f"{report['data']}{fold} / {report['split']}, {report['tiles']} tiles of "
        f"{report['images']} images; mIoU as trained {report['miou']:.4f} ± "
        f"{_num(report['miou_std'], '.4f')} (std over seeds)",
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
    ]
    for row, s in zip(rows, report["sites"], strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        lines.append(f"  -> {s['verdict']}")
    rule = report["rule"]
    lines.append(
        f"rule: over >= {rule['seeds']} seeds and >= {rule['images']} held-out images, the "
        f"output -> {rule['kind']} must cost >= {rule['cost']} mIoU with a 95 % interval "
        "excluding 0; intervals: t over seeds + image bootstrap"
    )
    return "\n".join(lines)


def figure(report: dict[str, Any], path: Path) -> Path:
    """admission.png: per block and intervention, each seed's change in mIoU (dots) and the
    mean with its 95 % interval (bar), with the rule's cost drawn as a dashed line."""
    sites, kinds = report["sites"], report["kinds"]
    fig, ax = plt.subplots(figsize=(max(5.0, 2.2 * len(sites) * len(kinds) / 3 + 2), 3.8))
    width = 0.8 / max(len(kinds), 1)
    for j, kind in enumerate(kinds):
        for i, s in enumerate(sites):
            c = s["interventions"][kind]
            x = i + (j - (len(kinds) - 1) / 2) * width
            if c["delta"] is not None and c["low"] is not None and c["high"] is not None:
                err = [[c["delta"] - c["low"]], [c["high"] - c["delta"]]]
                ax.errorbar(x, c["delta"], yerr=err, fmt="s", capsize=4, color=f"C{j}",
                            label=f"output {LABELS[kind]}" if i == 0 else None)  # fmt: skip
            ax.scatter([x] * len(c["per_seed"]), c["per_seed"], s=10, color=f"C{j}", alpha=0.5)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axhline(-report["rule"]["cost"], color="grey", linestyle="--", linewidth=0.8,
               label=f"rule: -{report['rule']['cost']}")  # fmt: skip
    ax.set_xticks(range(len(sites)), [s["name"] for s in sites])
    ax.set_ylabel("ΔmIoU (seeds: dots; mean, 95 % CI)")
    n = len(report["seeds"])
    ax.set_title(f"{n} seed{'s' if n != 1 else ''}, {report['images']} held-out images", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)
