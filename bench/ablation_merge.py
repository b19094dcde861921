"""Merge ablations that ran different seeds or variants (e.g. one process per seed on a shared
machine) into one table: ablation.{json,md,png} with statistics over all of them.

    python bench/ablation_merge.py OUT_DIR ABLATION_DIR [ABLATION_DIR ...]

Every input must have the same model, backends, evaluation sets and training settings (the
seed aside), and no (variant, seed) pair may come twice; the merged statistics are those one
``hq-qiskit ablation`` with all the variants and seeds would give (same per-tile matrices, same
bootstrap). The reference is ``classical`` when some part has it. The command of each part is
kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hq_qiskit.atomic import atomic_write
from hq_qiskit.models import MODELS
from hq_qiskit.training.ablation_report import figure, markdown, summarise

SAME = ("model", "backends", "evaluation", "classes", "n_boot")


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One ablation result from several whose seeds or variants differ; raises ValueError on a
    mismatch (other settings, or a variant and seed that two parts both ran)."""
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
    given = {v for p in parts for v in p["variants"]}
    declared = list(dict(MODELS[first["model"]].ablations))  # the model's own order
    variants = [v for v in declared if v in given] + sorted(given - set(declared))
    runs: dict[str, Any] = {b: {v: {} for v in variants} for b in first["backends"]}
    for p in parts:
        for b, by_variant in p["runs"].items():
            for v, rows in by_variant.items():
                twice = sorted(set(rows) & set(runs[b][v]), key=int)
                if twice:
                    raise ValueError(f"seeds repeated across the parts: {v} seed {twice}")
                runs[b][v].update(rows)
    seeds = sorted({int(s) for b in runs for v in runs[b] for s in runs[b][v]})
    for b in runs:
        for v in runs[b]:
            runs[b][v] = dict(sorted(runs[b][v].items(), key=lambda kv: int(kv[0])))
    result = {k: first[k] for k in first if k not in ("runs", "summary", "text")}
    result["seeds"] = seeds
    result["variants"] = variants
    result["reference"] = "classical" if "classical" in variants else variants[0]
    result["runs"] = runs
    result["command"] = "\n".join(p["command"] for p in parts)
    seed_text = ", ".join(map(str, seeds))
    head, _, tail = first["note"].partition(" Seeds ")
    result["note"] = f"{head} Seeds {seed_text}{tail[tail.index(' (') :]}" if tail else head
    result["summary"] = summarise(
        runs, list(first["evaluation"]), first["classes"], result["reference"], first["n_boot"]
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
