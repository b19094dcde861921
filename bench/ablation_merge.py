"""Merge ablations that ran the same variants with different seeds (e.g. one process per seed
on a shared machine) into one table: ablation.{json,md,png} with statistics over all seeds.

    python bench/ablation_merge.py OUT_DIR ABLATION_DIR [ABLATION_DIR ...]

Every input must have the same model, variants, backends, evaluation sets and training settings
(the seed aside); the merged statistics are those ``hq-qiskit ablation --seeds`` with all the
seeds would give (same per-tile matrices, same bootstrap). The command of each part is kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hq_qiskit.atomic import atomic_write
from hq_qiskit.training.ablation_report import figure, markdown, summarise

SAME = ("model", "variants", "backends", "reference", "evaluation", "classes", "n_boot")


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One ablation result from several whose seeds differ; raises ValueError on a mismatch."""
    first = parts[0]
    for p in parts[1:]:
        for key in SAME:
            if p[key] != first[key]:
                raise ValueError(f"ablations differ in {key!r}: {p[key]!r} vs {first[key]!r}")
        a, b = dict(p["config"]), dict(first["config"])
        a.pop("seed"), b.pop("seed")
        if a != b:
            keys = sorted(k for k in a if a[k] != b.get(k))
            raise ValueError(f"ablations differ in training settings {keys}")
    seeds = [s for p in parts for s in p["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeated across the parts: {seeds}")
    runs: dict[str, Any] = {b: {v: {} for v in first["variants"]} for b in first["backends"]}
    for p in parts:
        for b, variants in p["runs"].items():
            for v, rows in variants.items():
                runs[b][v].update(rows)
    for b in runs:
        for v in runs[b]:
            runs[b][v] = dict(sorted(runs[b][v].items(), key=lambda kv: int(kv[0])))
    result = {k: first[k] for k in first if k not in ("runs", "summary", "text")}
    result["seeds"] = sorted(seeds)
    result["runs"] = runs
    result["command"] = "\n".join(p["command"] for p in parts)
    seed_text = ", ".join(map(str, sorted(seeds)))
    head, _, tail = first["note"].partition(" Seeds ")
    result["note"] = f"{head} Seeds {seed_text}{tail[tail.index(' (') :]}" if tail else head
    result["summary"] = summarise(
        runs, list(first["evaluation"]), first["classes"], first["reference"], first["n_boot"]
    )
    return result


def main(out: Path, inputs: list[Path]) -> None:
    parts = [json.loads((p / "ablation.json").read_text()) for p in inputs]
    result = merge(parts)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "ablation.json", json.dumps(result, indent=1, allow_nan=True) + "\n")
    atomic_write(out / "ablation.md", markdown(result))
    figure(result, out / "ablation.png")
    print(f"{out}: {len(result['seeds'])} seeds ({', '.join(map(str, result['seeds']))})")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
