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
    elif r.get("simulator"):
        where = (
            f"local simulator {r['simulator']} (hq-qiskit's own engine: not a device, not the "
            "runtime's local testing mode)"
        )
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
    lines += simulator_lines(r["blocks"])
    for b in r["blocks"]:
        comparison = b.get("mitigation_comparison")
        if comparison:
            lines += ["", *comparison.get("markdown", [])]
            if comparison.get("skipped"):
                lines.append(f"Mitigation not compared for {b['block']}: {comparison['skipped']}")
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


def simulator_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """For blocks run on a local simulator: engine, noise model, approximation, Aer check."""
    lines: list[str] = []
    for b in blocks:
        if not b.get("simulator"):
            continue
        lines += [
            "",
            f"{b['block']} ran on the local simulator {b['simulator']}: {b['engine']}.",
            f"- noise model: {b['noise_model_source']}",
            f"- approximation: {b['approximation']}",
        ]
        check = b.get("aer_check") or {}
        if "max_abs_engine_vs_aer" in check:
            verdict = "agrees" if check["agrees"] else "DISAGREES"
            lines.append(
                f"- against Aer (density matrix of the same circuit and noise, exact vs exact, "
                f"{check['samples']} samples): max |difference| "
                f"{check['max_abs_engine_vs_aer']:.1e} ({verdict}, tolerance "
                f"{check['tolerance']:.0e}), noise signal |ideal - noisy| "
                f"{check['noise_signal']:.4f}"
            )
        elif check.get("skipped"):
            lines.append(f"- against Aer: {check['skipped']}")
    return lines
