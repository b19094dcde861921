"""``run.md``: a device run's result in words (where it ran, errors per block, cost)."""

from __future__ import annotations

from typing import Any

RESULT_JSON, RESULT_MD = "run.json", "run.md"


def markdown(r: dict[str, Any]) -> str:
    """The result in words: where each block ran, per-block errors, predictions, the QPU cost.

    Where it ran and what mitigation applied are read from the block rows (each from its
    job's own record), so a resumed run reports where its jobs really ran.
    """
    if r.get("mixed"):
        where = "mixed: see the blocks"
    else:
        where = "local testing mode (simulated)" if r["local"] else "IBM Quantum device"
    lines = [
        f"# hq-qiskit run: {r['model']} on {r['backend']}",
        "",
        f"- checkpoint: `{r['checkpoint']}`",
        f"- executed on: {r['device']}, {where}; mode {r['mode']}; snapshot/calibration "
        f"{', '.join(r.get('snapshot_dates', [])) or 'none (a simulator without properties)'}",
        f"- {r['note']}",
        f"- mitigation requested: {', '.join(r['mitigation_requested']) or 'none'}; applied: "
        f"{', '.join(r['mitigation_applied']) or 'none (results are unmitigated)'}",
        f"- data: {r['data']}, split {r['split']}, tiles {', '.join(r['tiles'])}, "
        f"{len(r['samples'])} patches; {r['shots']} shots per circuit",
        "",
        "| block | ran on | mitigation applied | samples | shots | active qubits | "
        "MAE vs exact | max abs | mean std error | job | status | QPU usage (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in r["blocks"]:
        ran = f"{'local' if b['local'] else 'device'} {b['device']}" + (
            f" (snapshot {b['snapshot_date']})" if b.get("snapshot_date") else ""
        )
        usage = b.get("usage_s")
        lines.append(
            f"| {b['block']} | {ran} | {', '.join(b['mitigation_applied']) or 'none'} | "
            f"{b['samples']} | {b['shots']} | {b['active_qubits']} | "
            f"{b['mae_vs_exact']:.4f} | {b['max_abs_vs_exact']:.4f} | "
            f"{b['mean_std_error']:.4f} | {b['job_id']}"
            f"{' (resumed)' if b['resumed'] else ''} | {b.get('status') or '?'} | "
            f"{'-' if usage is None else usage} |"
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
