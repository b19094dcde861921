"""An ablation's numbers, table and figure: from per-seed, per-tile confusion matrices to
ablation.json's ``summary``, ablation.md and ablation.png.

``runs[backend][variant][seed]`` is one trained run's row (``scores[eval set]`` holds its
per-tile matrices and tile ids). ``summarise`` gives, per backend, evaluation set and variant:
mean +- std over seeds of mIoU, OA and per-class IoU, a 95 % interval of the seed-mean mIoU, and
the difference to the reference variant (paired by seed and tile) with its interval and a
verdict (``statistics.interval`` and ``statistics.compare``: whole images resampled, a t over
seeds, Holm-corrected differences and equivalence within a margin fixed before the run, no
verdict from fewer than 3 seeds or 4 images). Variants compared must share their seeds.

A row whose ``scores[eval set]`` holds ``"intervention"`` (``tile_scores.score_run_on_tiles``
with ``interventions=True``) adds the test-time intervention column: the change in mIoU when
each quantum block's output is replaced by its mean, shuffled or zeroed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hq_qiskit.errors import DataError  # noqa: E402
from hq_qiskit.training.plots import save_png  # noqa: E402
from hq_qiskit.training.statistics import (  # noqa: E402
    DEFAULT_MARGIN,
    compare,
    group_index,
    image_groups,
    interval,
    mean_std,
    scores,
)

Runs = dict[str, dict[str, dict[str, dict[str, Any]]]]  # backend -> variant -> seed -> row


def _cm(rows: dict[str, dict[str, Any]], seeds: list[str], name: str) -> np.ndarray:
    """(S, T, K, K) per-tile matrices of one variant on evaluation set ``name``."""
    return np.array([rows[s]["scores"][name]["confusion"] for s in seeds], dtype=np.float64)


def _seeds(rows: dict[str, Any]) -> list[str]:
    """A variant's seeds in numeric order (pairing is by seed id, not by position)."""
    return sorted(rows, key=lambda seed: int(seed))


def check_paired(variants: dict[str, dict[str, Any]], reference: str, name: str) -> None:
    """Refuse a comparison whose variants were not trained with the reference's seeds."""
    want = _seeds(variants[reference])
    for variant, rows in variants.items():
        if _seeds(rows) != want:
            raise DataError(
                f"evaluation set {name}: variant {variant} has seeds {', '.join(_seeds(rows))} "
                f"but {reference} has {', '.join(want)}; a paired difference needs the same "
                "seeds: train the missing ones (ablation --resume) or leave the variant out"
            )


def _tile_groups(variants: dict[str, dict[str, Any]], name: str) -> tuple[np.ndarray | None, int]:
    """(each tile's group index, number of groups) from the rows' tiles, which every run must
    share: the dataset's own groups (a LoveDA image, a Dubai region) where the rows hold them,
    else the image named in the tile ids; (None, T) for rows written without ids (each tile
    its own image)."""
    rows = [row["scores"][name] for rows in variants.values() for row in rows.values()]
    ids = [r.get("tiles") for r in rows]
    if any(i is None for i in ids):
        return None, len(rows[0]["confusion"])
    if any(list(i) != list(ids[0]) for i in ids):
        raise DataError(f"evaluation set {name}: the runs were scored on different tiles")
    named = rows[0].get("groups")
    groups = group_index(named) if named is not None else image_groups(ids[0])
    return groups, int(groups.max()) + 1 if len(groups) else 0


def _entry(cm: np.ndarray, seeds: list[str], classes: list[str], groups, n_boot: int) -> dict:
    per_seed = scores(cm.sum(1))  # pooled over tiles, one value per seed
    iou = per_seed["iou"]  # (S, K)
    return {
        "seeds": [int(s) for s in seeds],
        "miou_per_seed": per_seed["miou"].tolist(),
        "oa_per_seed": per_seed["oa"].tolist(),
        "miou": mean_std(per_seed["miou"]),
        "oa": mean_std(per_seed["oa"]),
        "iou": {c: mean_std(iou[:, k]) for k, c in enumerate(classes)},
        "tiles": int(cm.shape[1]),
        "miou_interval": interval(cm, groups=groups, n_boot=n_boot).as_dict(),
    }


def summarise(
    runs: Runs,
    eval_names: list[str],
    classes: list[str],
    reference: str,
    n_boot: int = 2000,
    margin: float = DEFAULT_MARGIN,
) -> dict[str, Any]:
    """backend -> eval set -> variant -> statistics (see the module docstring).

    ``margin`` (mIoU) is the equivalence margin, stated before the run.

    Raises:
        DataError: a variant's seeds differ from the reference's, or runs were scored on
            different tiles.
    """
    out: dict[str, Any] = {}
    for backend, variants in runs.items():
        out[backend] = {}
        for name in eval_names:
            groups, n_images = _tile_groups(variants, name)
            table, diffs = {}, {}
            ref_cm = None
            if reference in variants:
                check_paired(variants, reference, name)
                ref_cm = _cm(variants[reference], _seeds(variants[reference]), name)
            for variant, rows in variants.items():
                seeds = _seeds(rows)
                cm = _cm(rows, seeds, name)
                entry = _entry(cm, seeds, classes, groups, n_boot)
                entry["images"] = n_images
                if ref_cm is not None and variant != reference:
                    diffs[variant] = interval(cm, ref_cm, groups=groups, n_boot=n_boot)
                    entry["miou_diff"] = diffs[variant].as_dict()
                table[variant] = entry
            n_seeds = min((len(e["seeds"]) for e in table.values()), default=0)
            verdicts = compare(diffs, reference, n_seeds=n_seeds, n_images=n_images, margin=margin)
            for variant, v in verdicts.items():
                table[variant].update(v)
            out[backend][name] = table
    return out


def intervention_cell(rows: dict[str, dict[str, Any]], name: str) -> str:
    """The ablation table's intervention cell of one variant on evaluation set ``name``:
    the seed-mean change in mIoU when the block with the largest change has its output
    replaced by its mean / shuffled / zeroed ("-" for a variant without a block, "n/a" when
    the runs were scored without interventions)."""
    found = [row["scores"][name].get("intervention") for row in rows.values()]
    if any(f is None for f in found):
        return "n/a"
    if not any(found):
        return "-"
    kinds = ("mean", "shuffle", "zero")
    cells = []
    for kind in kinds:
        per_seed = [max((b[kind] for b in f.values()), key=abs) for f in found]
        cells.append(f"{float(np.mean(per_seed)):+.3f}")
    return " / ".join(cells)


def _f(v: float, fmt: str = ".3f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def _pm(pair: tuple[float, float] | list[float], scale: float = 1.0, fmt: str = ".3f") -> str:
    mean, std = pair
    std_text = "n/a" if std is None or math.isnan(std) else format(scale * std, fmt)
    return f"{_f(scale * mean if mean is not None else math.nan, fmt)} ± {std_text}"


def _sampled(shots: int | None) -> str:
    """The heading's note on a backend's shots: none for an ideal (exact) backend."""
    if shots is None:
        return ""
    return ", exact noisy values" if shots == 0 else f", {shots} shots per Pauli term"


def markdown(result: dict[str, Any]) -> str:
    """ablation.md: what was run, then per backend and evaluation set one table and verdicts."""
    classes, ref = result["classes"], result["reference"]
    lines = [f"# Ablation: {result['model']}", "", result["note"], "", "Command:", ""]
    lines += ["```", result["command"], "```", ""]
    lines.append(
        "Scores are mean ± sample std over seeds (each seed's tiles pooled into one confusion "
        "matrix). Intervals are 95 % t intervals over the seeds (S - 1 degrees of freedom) "
        "whose standard error adds the spread between seeds and that of a bootstrap over whole "
        f"images ({result['n_boot']} draws); differences to `{ref}` are paired by seed and tile. "
        f"Verdicts: a difference, or equivalence within ±{result.get('margin', DEFAULT_MARGIN):g}"
        " mIoU (two one-sided tests, margin fixed before the run), each Holm-corrected over the "
        "variants; none from fewer than 3 seeds or 4 images. "
        "Step time: wall time per optimiser step, data loading included, mean over epochs."
    )
    for backend, sets in result["summary"].items():
        for name, table in sets.items():
            info = result["evaluation"][name]
            shots = result.get("shots", {}).get(backend)
            sampled = _sampled(shots)
            lines += [
                "",
                f"## {backend}: {name} ({info['data']}, split {info['split']}{sampled})",
                "",
            ]
            head = ["variant", "seeds", "images", "tiles", "mIoU", "mIoU 95 % CI", "OA %"]
            head += [f"IoU {c}" for c in classes]
            head += [f"ΔmIoU vs {ref} (95 % CI)", "trainable classical", "trainable quantum"]
            head += ["frozen", "step s"]
            runs_here = result["runs"][backend]
            cells_iv = {v: intervention_cell(runs_here[v], name) for v in table}
            show_iv = any(c != "n/a" for c in cells_iv.values())
            if show_iv:
                head.append("ΔmIoU block → mean / shuffled / zero")
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            verdicts = []
            for variant, e in table.items():
                row0 = result["runs"][backend][variant]
                first = next(iter(row0.values()))
                steps = [r["step_s"] for r in row0.values()]
                ci = e["miou_interval"]
                diff = e.get("miou_diff")
                diff_text = (
                    "reference"
                    if variant == ref
                    else (
                        f"{diff['estimate']:+.3f} [{diff['low']:+.3f}, {diff['high']:+.3f}]"
                        if diff
                        else "n/a"
                    )
                )
                cells = [
                    variant,
                    str(len(e["seeds"])),
                    str(e.get("images", "n/a")),
                    str(e["tiles"]),
                    _pm(e["miou"]),
                    f"[{_f(ci['low'])}, {_f(ci['high'])}]",
                    _pm(e["oa"], 100, ".1f"),
                    *[_pm(e["iou"][c]) for c in classes],
                    diff_text,
                    f"{first['params_classical']:,}",
                    f"{first['params_quantum']:,}",
                    f"{first['params_frozen']:,}",
                    _f(float(np.mean(steps)), ".3f"),
                    *([cells_iv[variant]] if show_iv else []),
                ]
                lines.append("| " + " | ".join(cells) + " |")
                if "verdict" in e:
                    verdicts.append(f"- {e['verdict']}.")
            if verdicts:
                lines += [""] + verdicts
    return "\n".join(lines) + "\n"


def figure(result: dict[str, Any], path: Path) -> Path:
    """ablation.png: per backend and evaluation set, each seed's mIoU as a dot and the
    seed-mean with its 95 % interval, one column per variant."""
    panels = [(b, n, t) for b, sets in result["summary"].items() for n, t in sets.items()]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False, sharey=True
    )
    for ax, (backend, name, table) in zip(axes[0], panels, strict=True):
        for x, e in enumerate(table.values()):
            ys = e["miou_per_seed"]
            jitter = np.linspace(-0.12, 0.12, len(ys)) if len(ys) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), ys, s=18, alpha=0.7, label=None)
            ci, mean = e["miou_interval"], e["miou"][0]
            if not math.isnan(ci["low"]):
                ax.errorbar(
                    x + 0.3,
                    mean,
                    yerr=[[mean - ci["low"]], [ci["high"] - mean]],
                    fmt="o",
                    color="black",
                    capsize=3,
                    markersize=4,
                )
        ax.set_xticks(range(len(table)), list(table), rotation=30, ha="right")
        ax.set_title(f"{backend}: {name}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("mIoU (dots: seeds; bar: mean, 95 % CI)")
    return save_png(fig, path)
