"""Re-score a saved ablation (ablation.json, e.g. docs/science/run*.json) with today's statistics.

    python bench/rescore_ablation.py ABLATION.json [ABLATION.json ...] [--margin 0.02]

Ablations before issue 26 gave a percentile bootstrap over seeds and tiles; with 3 seeds its
seed part is the min-max of 3 differences, and it resampled LoveDA's quadrants as if they were
independent images. Simulated with a known effect it covered the truth 81 % of the time
(tests/training/test_statistics_coverage.py, commit 4fe12d8). Every saved ablation keeps each
run's per-tile confusion matrices and tile ids, so it can be scored again without training:
``ablation_report.summarise`` (whole images resampled, the image read off the tile id
"<image>_<quadrant>", a t interval over seeds, no verdict from fewer than 3 seeds or 4 images,
equivalence within ``--margin`` by two one-sided tests, Holm across the variants).

For an ablation over several backends (e.g. aer and aer-noisy-fez), each variant that was
trained again on another backend is also compared with its own runs on the first backend
(paired by seed and tile), Holm across those variants; variants whose runs were reused (the
same matrices on both backends: no circuit for the noise to act on) are skipped.

Writes ``<name>-rescored.json`` (the input less its ``runs``, with ``source`` naming the input,
``summary`` replaced, the former one kept as ``summary_before``, and ``rescored`` saying how)
and ``<name>-rescored.md`` beside the input (or in ``--out-dir``). Exit 2 with one line for a
file that is not such an ablation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import DataError
from hq_qiskit.training.ablation_report import check_paired, markdown, summarise
from hq_qiskit.training.statistics import (
    DEFAULT_MARGIN,
    MIN_IMAGES,
    MIN_SEEDS,
    compare,
    image_groups,
    interval,
)

NEEDED = ("runs", "classes", "reference", "evaluation")
_VERDICT_HEAD = re.compile(r"^[+-]\d+\.\d+, ")  # the estimate that starts a verdict sentence


def load(path: Path) -> dict[str, Any]:
    """The saved ablation at ``path``; DataError naming what is missing."""
    try:
        result = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as JSON ({exc}); give an ablation.json") from None
    missing = [k for k in NEEDED if k not in result] if isinstance(result, dict) else NEEDED
    if missing:
        raise DataError(
            f"{path}: not an ablation result (missing {', '.join(missing)}); give the "
            "ablation.json that hq-qiskit ablation writes"
        )
    for backend, variants in result["runs"].items():
        for variant, rows in variants.items():
            for seed, row in rows.items():
                for name in result["evaluation"]:
                    cell = row.get("scores", {}).get(name, {})
                    if "confusion" not in cell or "tiles" not in cell:
                        raise DataError(
                            f"{path}: runs.{backend}.{variant}.{seed}.scores.{name} has no "
                            "per-tile 'confusion' and 'tiles'; only ablations that kept them "
                            "can be re-scored"
                        )
    return result


def _cm(rows: dict[str, Any], name: str) -> np.ndarray:
    seeds = sorted(rows, key=int)
    return np.array([rows[s]["scores"][name]["confusion"] for s in seeds], dtype=np.float64)


def across_backends(
    result: dict[str, Any], margin: float, n_boot: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """backend -> eval set -> variant -> the paired difference of a variant's runs on
    ``backend`` to its runs on the first backend, with its verdict (see the module docstring).
    Empty for a one-backend ablation."""
    runs = result["runs"]
    backends = list(runs)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for backend in backends[1:]:
        out[backend] = {}
        for name in result["evaluation"]:
            diffs, table = {}, {}
            for variant, rows in runs[backend].items():
                base = runs[backends[0]].get(variant)
                if base is None:
                    continue
                check_paired({variant: rows, "base": base}, "base", name)
                cm, ref = _cm(rows, name), _cm(base, name)
                if np.array_equal(cm, ref):
                    continue  # the first backend's runs reused
                tiles = next(iter(rows.values()))["scores"][name]["tiles"]
                groups = image_groups(tiles)
                diffs[variant] = interval(cm, ref, groups=groups, n_boot=n_boot)
                table[variant] = {
                    "seeds": len(rows),
                    "images": int(groups.max()) + 1,
                    "miou_diff": diffs[variant].as_dict(),
                }
            if not diffs:
                continue
            n_seeds = min(t["seeds"] for t in table.values())
            n_images = min(t["images"] for t in table.values())
            verdicts = compare(
                diffs, backends[0], n_seeds=n_seeds, n_images=n_images, margin=margin
            )
            for variant, v in verdicts.items():
                table[variant].update(v)
            out[backend][name] = table
    return out


def rescore(result: dict[str, Any], margin: float = DEFAULT_MARGIN, n_boot: int = 2000) -> dict:
    """The ablation ``result`` with today's statistics (see the module docstring)."""
    names = list(result["evaluation"])
    summary = summarise(
        result["runs"], names, result["classes"], result["reference"], n_boot=n_boot, margin=margin
    )
    out = dict(result)
    out["summary_before"] = result["summary"]
    out["summary"] = summary
    out["margin"] = margin
    out["n_boot"] = n_boot
    out["across_backends"] = across_backends(result, margin, n_boot)
    out["rescored"] = (
        "Re-scored by bench/rescore_ablation.py from the saved per-tile matrices (no training): "
        "whole images resampled (image = tile id before its last '_'), a t interval over seeds, "
        f"equivalence margin ±{margin:g} mIoU stated before re-scoring, Holm across variants, "
        f"no verdict from fewer than {MIN_SEEDS} seeds or {MIN_IMAGES} images."
    )
    return out


def _ci(d: dict[str, Any] | None) -> str:
    if not d or d.get("low") is None:
        return "n/a"
    return f"{d['estimate']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def before_after(out: dict[str, Any]) -> list[str]:
    """Markdown: per backend and eval set, each variant's mIoU interval and difference to the
    reference, as first published and as re-scored, with today's verdict."""
    lines = ["", "## Before and after", ""]
    lines.append(
        "Before: the published percentile bootstrap over seeds and tiles. After: today's "
        "interval (t over seeds, whole images resampled)."
    )
    for backend, sets in out["summary"].items():
        for name, table in sets.items():
            old = out["summary_before"].get(backend, {}).get(name, {})
            lines += ["", f"### {backend}: {name}", ""]
            lines += [
                "| variant | images | mIoU | CI before | CI after | Δ before | Δ after | verdict |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for variant, e in table.items():
                was = old.get(variant, {})
                m = e["miou_interval"]
                m_old = was.get("miou_interval") or {"low": float("nan"), "high": float("nan")}
                verdict = _VERDICT_HEAD.sub("", e.get("verdict", "reference").split(": ", 1)[-1])
                lines.append(
                    f"| {variant} | {e['images']} | {e['miou'][0]:.3f} "
                    f"| [{m_old['low']:.3f}, {m_old['high']:.3f}]"
                    f" | [{m['low']:.3f}, {m['high']:.3f}] | {_ci(was.get('miou_diff'))} "
                    f"| {_ci(e.get('miou_diff'))} | {verdict} |"
                )
    return lines


def across_lines(out: dict[str, Any]) -> list[str]:
    """Markdown of ``across_backends``: a variant on another backend vs its first-backend runs."""
    lines: list[str] = []
    first = next(iter(out["runs"]))
    for backend, sets in out["across_backends"].items():
        for name, table in sets.items():
            lines += ["", f"## {backend} vs {first}, the same variant: {name}", ""]
            lines += ["| variant | seeds | images | ΔmIoU (95 % CI) |", "|---|---|---|---|"]
            for variant, e in table.items():
                lines.append(
                    f"| {variant} | {e['seeds']} | {e['images']} | {_ci(e['miou_diff'])} |"
                )
            lines += [""] + [f"- {e['verdict']}." for e in table.values()]
    return lines


def write(out: dict[str, Any], source: Path, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Write ``<stem>-rescored.{json,md}`` beside ``source`` (or in ``out_dir``)."""
    folder = Path(out_dir) if out_dir is not None else Path(source).parent
    stem = Path(source).stem
    text = markdown(out).replace(
        "Scores are mean",
        f"{out['rescored']} Source: `{Path(source).name}`.\n\nScores are mean",
        1,
    )
    text += "\n".join(across_lines(out) + before_after(out)) + "\n"
    js, md = folder / f"{stem}-rescored.json", folder / f"{stem}-rescored.md"
    slim = {k: v for k, v in out.items() if k != "runs"}  # the runs stay in the source file
    slim["source"] = Path(source).name
    atomic_write(js, (json.dumps(slim, indent=1) + "\n").encode())
    atomic_write(md, text.encode())
    return js, md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ablations", nargs="+", type=Path, help="saved ablation.json files")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN, help="mIoU margin")
    parser.add_argument("--n-boot", type=int, default=2000, help="image bootstrap draws")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: beside each input")
    args = parser.parse_args(argv)
    if not args.margin > 0:
        print(f"error: --margin must be > 0 mIoU, got {args.margin}", file=sys.stderr)
        return 2
    try:
        for path in args.ablations:
            js, md = write(rescore(load(path), args.margin, args.n_boot), path, args.out_dir)
            print(f"{path} -> {js.name}, {md.name}")
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
