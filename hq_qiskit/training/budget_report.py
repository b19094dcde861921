"""``hq-qiskit budget``'s table (terminal) and figure (budget.png) from its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hq_qiskit.training.plots import save_png  # noqa: E402
from hq_qiskit.training.statistics import few_images_note  # noqa: E402


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def table(report: dict[str, Any]) -> str:
    """One row per factor: mIoU [95 % CI over images], its change from factor 0 [paired CI],
    the model's ESP from the scaled calibration; then the device, the admissible factor and
    the ESP that factor corresponds to."""
    head = (
        f"{'factor':>7}  {'mIoU [95 % CI]':<26}  {'ΔmIoU vs f=0 [95 % CI]':<28}  "
        f"{'ESP':>8}  {'ESP+idle':>8}"
    )
    lines = [
        f"noise budget of {report['run']} ({report['model']}) on {report['data']} / "
        f"{report['split']}: {report['tiles']} tiles, {report['images']} images",
        f"device noise: {report['noise_source']}, snapshot {report['snapshot']}; "
        f"shots {report['shots'] or 'exact'}",
        head,
        "-" * len(head),
    ]
    if (note := few_images_note(report["images"])) is not None:
        lines.insert(2, note)
    for r in report["factors"]:
        mark = "  <- device" if r["factor"] == 1.0 else ""
        lines.append(
            f"{r['factor']:>7g}  "
            f"{_num(r['miou'], '.4f')} [{_num(r['low'], '.4f')}, {_num(r['high'], '.4f')}]"
            f"{'':<3}  "
            f"{_num(r['delta'], '+.4f')} [{_num(r['delta_low'], '+.4f')}, "
            f"{_num(r['delta_high'], '+.4f')}]{'':<3}  "
            f"{_num(r['esp'], '.4f'):>8}  {_num(r['esp_idle'], '.4f'):>8}{mark}"
        )
    f = report["admissible_factor"]
    lines += [
        f"largest factor losing <= {report['margin']:g} mIoU against f=0: {f:g}"
        + (
            " (every factor tried passes: the limit is at least this)"
            if report.get("admissible_is_lower_bound")
            else ""
        ),
        f"device ESP (f=1): {_num(report['esp_device'], '.4f')} "
        f"(with idle: {_num(report['esp_idle_device'], '.4f')}); at f={f:g}, "
        f"{report['esp_approximation']}: {_num(report['esp_at_admissible'], '.4f')} "
        f"(with idle: {_num(report['esp_idle_at_admissible'], '.4f')})",
    ]
    for d in report.get("devices", []):
        verdict = {True: "within the budget", False: "beyond it", None: "beyond the factors tried"}
        lines.append(
            f"{d['backend']} ({d['noise_source']}, {d['snapshot']}): ESP "
            f"{_num(d['esp'], '.4f')}, i.e. f = {_num(d['factor_equivalent'], '.2f')} on this "
            f"curve: {verdict[d['within_budget']]}"
        )
    return "\n".join(lines)


def figure(report: dict[str, Any], path: Path) -> Path:
    """budget.png: mIoU per factor with its 95 % interval, the band of one margin below
    factor 0, the device (f = 1) and the admissible factor marked; a top axis in ESP."""
    rows = report["factors"]
    fs = [r["factor"] for r in rows]
    ms = [r["miou"] if r["miou"] is not None else float("nan") for r in rows]
    lo = [
        max(m - (r["low"] if r["low"] is not None else m), 0.0)
        for m, r in zip(ms, rows, strict=True)
    ]
    hi = [
        max((r["high"] if r["high"] is not None else m) - m, 0.0)
        for m, r in zip(ms, rows, strict=True)
    ]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.errorbar(fs, ms, yerr=[lo, hi], marker="o", capsize=3, label="mIoU (95 % CI, images)")
    ax.axhline(ms[0] - report["margin"], color="grey", linestyle=":", label="f=0 - margin")
    esp = report["esp_device"]
    ax.axvline(1.0, color="tab:red", linestyle="--", label=f"{report['device']} (ESP {esp:.3f})")
    best = report["admissible_factor"]
    ax.axvline(best, color="tab:green", linestyle="-.", label=f"admissible f={best:g}")
    for d in report.get("devices", []):
        if d["factor_equivalent"] is not None:
            ax.axvline(d["factor_equivalent"], color="tab:purple", linestyle=":", alpha=0.7)
            ax.annotate(
                d["backend"],
                (d["factor_equivalent"], 0.03),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=7,
                color="tab:purple",
            )
    ax.set_xlabel("noise scale f (every device error x f)")
    ax.set_ylabel("mIoU")
    ax.set_title(f"{report['model']} under {report['noise_source']}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)
