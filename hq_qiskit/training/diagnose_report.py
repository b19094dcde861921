"""``hq-qiskit diagnose``'s table (terminal) and figure (diagnose.png) from its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hq_qiskit.training.plots import save_png  # noqa: E402
from hq_qiskit.training.statistics import few_images_note  # noqa: E402

FLOOR = 1e-12  # variances below it (a constant output) are drawn at it on the log axis
LABELS = {"mean": "→ mean", "shuffle": "shuffled", "zero": "→ zero"}


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def _change(c: dict[str, float | None]) -> str:
    return f"{_num(c['delta'], '+.4f')} [{_num(c['low'], '+.4f')}, {_num(c['high'], '+.4f')}]"


def table(report: dict[str, Any]) -> str:
    """The terminal table: one row per block; the ΔmIoU columns hold the change with its
    95 % interval over images."""
    head = [
        "block",
        "kind",
        "params",
        "moved max / rms",
        "grad ratio rms / rel.",
        "out var (mean)",
        "eff. rank",
        *[f"ΔmIoU output {LABELS[k]} (95 % CI)" for k in report["kinds"]],
    ]
    rows = []
    for b in report["blocks"]:
        moved, out = b["parameters_moved"], b["outputs"]
        rows.append(
            [
                b["name"],
                b["kind"],
                str(moved["n"]),
                f"{_num(moved['max_abs'], '.3g')} / {_num(moved['rms'], '.3g')}",
                f"{_num(b['grad_ratio'], '.3g')} / {_num(b.get('grad_ratio_relative'), '.3g')}",
                _num(out["variance_mean"], ".3g"),
                f"{_num(out['effective_rank'], '.2f')} of {out['dims']}",
                *[_change(b["interventions"][k]) for k in report["kinds"]],
            ]
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        f"{report['run']} ({report['checkpoint']}, backend {report['backend']}) on "
        f"{report['data']} / {report['split']}: {report['tiles']} tiles of {report['images']} "
        f"images, {report['patches']} patches; mIoU as trained {report['miou']:.4f}",
        "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(
        "moved: parameters (angles in rad) from their seeded initial values; grad ratio: RMS "
        "gradient per parameter at the block / at the classical layers, one batch (rel.: "
        "||grad|| / ||weights|| at the block / at the classical layers); intervals: "
        f"{report['n_boot']} bootstrap draws over whole images"
    )
    if (note := few_images_note(report["images"])) is not None:
        lines.append(note)
    return "\n".join(lines)


def figure(report: dict[str, Any], path: Path) -> Path:
    """diagnose.png: left, each block's change in mIoU per intervention with its interval;
    right, each block's output variance per output."""
    blocks, kinds = report["blocks"], report["kinds"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    width = 0.8 / max(len(kinds), 1)
    for j, kind in enumerate(kinds):
        xs, ys, errs = [], [], [[], []]
        for i, b in enumerate(blocks):
            c = b["interventions"][kind]
            if c["delta"] is None:
                continue
            xs.append(i + (j - (len(kinds) - 1) / 2) * width)
            ys.append(c["delta"])
            low = c["low"] if c["low"] is not None else c["delta"]
            high = c["high"] if c["high"] is not None else c["delta"]
            errs[0].append(max(c["delta"] - low, 0.0))
            errs[1].append(max(high - c["delta"], 0.0))
        left.bar(xs, ys, width, yerr=errs, capsize=3, label=f"output {LABELS[kind]}")
    left.axhline(0, color="black", linewidth=0.8)
    left.set_xticks(range(len(blocks)), [b["name"] for b in blocks], rotation=20, ha="right")
    left.set_ylabel("ΔmIoU (95 % CI over images)")
    left.set_title(f"as trained: mIoU {report['miou']:.3f}", fontsize=9)
    left.legend(fontsize=8)
    for b in blocks:
        var = [max(v if v is not None else 0.0, FLOOR) for v in b["outputs"]["variance"]]
        rank = b["outputs"]["effective_rank"]
        label = f"{b['name']} (eff. rank {rank:.1f})" if rank is not None else b["name"]
        right.plot(range(len(var)), var, marker=".", label=label)
    right.set_xlabel("output index")
    right.set_ylabel(f"variance over patches (floor {FLOOR:g})")
    right.set_yscale("log")
    right.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)
