"""``hq-qiskit ablation``: train a model's ablation variants on the same data and seed, and write
one comparison table (ablation.md and ablation.json) beside their run folders.

Each model declares its variants (``HybridSegmenter.ablations``): HQF-Net's follow its paper
(the full model, then DMCAF, QSkip and QMoE removed in turn), HQ-UNet's compare the quantum
bottleneck with its classical twin. Every variant starts through ``training.runner.
start_training``, exactly as ``hq-qiskit train`` does, with one run folder each under ``--out``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hq_qiskit.cli.model_flags import model_flags, model_options_from
from hq_qiskit.cli.options import (
    backend_option,
    data_option,
    overwrite_option,
    seed_option,
)
from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS
from hq_qiskit.training.config import TrainConfig

# model -> variant name -> model options that differ from the full model (declared by the model)
ABLATIONS: dict[str, dict[str, dict[str, Any]]] = {
    name: dict(cls.ablations) for name, cls in MODELS.items() if cls.ablations
}
TABLE_FILES = ("ablation.md", "ablation.json")
Echo = Callable[[str], None]


def parse_variants(model: str, spec: str | None) -> list[str]:
    """Comma-separated variant names (None: all of ``model``'s), validated."""
    known = list(ABLATIONS[model])
    if spec is None:
        return known
    names = [v.strip() for v in spec.split(",") if v.strip()]
    unknown = [v for v in names if v not in known]
    if unknown or not names:
        raise ConfigError(f"--variants {spec!r}: unknown {unknown}; choose from {', '.join(known)}")
    return list(dict.fromkeys(names))


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse a non-empty --out unless it holds an earlier ablation and --overwrite is given."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "ablation.json").exists():
            raise ConfigError(
                f"--out {out}: folder is not empty and holds no ablation.json; "
                "choose an empty or new --out"
            )
        if not overwrite:
            raise ConfigError(
                f"--out {out}: an earlier ablation is there; choose another --out "
                "or replace it with --overwrite"
            )


def train_variant(cfg: TrainConfig, path: Path, overwrite: bool, echo: Echo) -> dict[str, Any]:
    """Train one variant into ``path`` through ``start_training``; returns its table row."""
    from hq_qiskit.training.runner import start_training

    done = start_training(cfg, path, overwrite=overwrite, echo=echo)
    run, report, model = done.run, done.report, done.model
    counts = model.parameter_counts()
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    steps_per_epoch = max(1, cfg.patches_per_epoch // cfg.batch_size)
    history = run.read_metrics()
    step_s = [r["train_s"] / steps_per_epoch for r in history]
    return {
        "run": str(run.path),
        "best_epoch": report.get("best_epoch"),
        "miou": report["val"]["miou"] if report else math.nan,
        "oa": report["val"]["oa"] if report else math.nan,
        "iou": report["val"]["iou"] if report else {},
        "params_classical": counts["classical"],
        "params_quantum": counts["quantum"],
        "params_frozen": frozen,
        "step_s_first_epoch": step_s[0] if step_s else math.nan,
        "step_s_last_epoch": step_s[-1] if step_s else math.nan,
    }


def evaluate_variant(row: dict[str, Any], split: str, device: str, echo: Echo) -> None:
    """Replace a row's scores with its best checkpoint's scores on ``split``."""
    from hq_qiskit.training.runner import evaluate_run

    result = evaluate_run(Path(row["run"]), split=split, device=device, echo=echo)
    row.update(miou=result["miou"], oa=result["oa"], iou=result["iou"])


def _num(v: float | None, fmt: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def markdown_table(
    rows: dict[str, dict[str, Any]], classes: list[str], split: str, note: str
) -> str:
    """The comparison as a Markdown table, one row per variant."""
    head = (
        ["variant", "mIoU", "OA %"]
        + [f"IoU {c}" for c in classes]
        + [
            "classical params",
            "quantum params",
            "frozen params",
            "step s (epoch 1)",
            "step s (last epoch)",
        ]
    )
    lines = [
        f"# Ablation ({split} split)",
        "",
        note,
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, r in rows.items():
        oa = None if r["oa"] is None or math.isnan(r["oa"]) else 100 * r["oa"]
        cells = (
            [name, _num(r["miou"], ".4f"), _num(oa, ".2f")]
            + [_num(r["iou"].get(c), ".4f") for c in classes]
            + [
                f"{r['params_classical']:,}",
                f"{r['params_quantum']:,}",
                f"{r['params_frozen']:,}",
                _num(r["step_s_first_epoch"], ".3f"),
                _num(r["step_s_last_epoch"], ".3f"),
            ]
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> None:
    from hq_qiskit.atomic import atomic_write

    atomic_write(path, text)


def run_ablation(
    model: str,
    base: TrainConfig,
    out: Path,
    *,
    variants: list[str],
    split: str = "val",
    overwrite: bool = False,
    echo: Echo = click.echo,
) -> dict[str, Any]:
    """Train every variant with ``base``'s data, seed and settings; write the table into ``out``.

    Returns the JSON content of ablation.json (settings, and one row per variant).
    """
    check_out(out, overwrite)
    rows: dict[str, dict[str, Any]] = {}
    classes: list[str] = []
    for name in variants:
        echo(f"\n=== {model} ablation: {name} ({len(rows) + 1}/{len(variants)}) ===")
        cfg = TrainConfig.from_dict(json.loads(json.dumps(base.to_dict())))
        cfg.model = model
        cfg.model_options.update(ABLATIONS[model][name])
        rows[name] = train_variant(cfg, out / name, overwrite, echo)
        if split != "val":
            evaluate_variant(rows[name], split, cfg.device, echo)
        classes = cfg.class_names
    note = (
        f"Same data ({base.data or 'built-in LoveDA sample'}), seed {base.seed}, "
        f"{base.epochs} epochs x {base.patches_per_epoch} patches, batch {base.batch_size}, "
        f"backend {base.backend}. Scores of each variant's best checkpoint; step time is "
        "wall time per optimiser step (data loading included; epoch 1 fills the backbone "
        "feature cache when one is set)."
    )
    result = {
        "model": model,
        "split": split,
        "classes": classes,
        "note": note,
        "config": base.to_dict(),
        "variants": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "ablation.json", json.dumps(result, indent=2, allow_nan=True) + "\n")
    table = markdown_table(rows, classes, split, note)
    write_text(out / "ablation.md", table)
    result["text"] = table
    return result


@click.command("ablation")
@click.option(
    "--model",
    type=click.Choice(sorted(ABLATIONS)),
    default="hqf-net",
    show_default=True,
    help="Model whose ablation to run.",
)
@click.option(
    "--variants",
    default=None,
    metavar="LIST",
    help="Comma-separated subset of the model's variants ("
    + "; ".join(f"{m}: {', '.join(v)}" for m, v in sorted(ABLATIONS.items()))
    + "). [default: all]",
)
@model_flags
@backend_option
@data_option
@seed_option
@click.option("--epochs", type=int, default=TrainConfig.epochs, show_default=True)
@click.option(
    "--patches-per-epoch", type=int, default=TrainConfig.patches_per_epoch, show_default=True
)
@click.option("--batch-size", type=int, default=TrainConfig.batch_size, show_default=True)
@click.option("--lr", type=float, default=TrainConfig.lr, show_default=True)
@click.option(
    "--val-stride-px",
    type=int,
    default=None,
    help="Stride of the validation patch grid. [default: the patch side]",
)
@click.option(
    "--aer-check-samples",
    type=int,
    default=TrainConfig.aer_check_samples,
    show_default=True,
    help="Patches checked against exact Aer per variant (0: off).",
)
@click.option(
    "--split",
    type=click.Choice(["val", "test"]),
    default="val",
    show_default=True,
    help="Split the table scores each variant's best checkpoint on.",
)
@click.option("--device", default=TrainConfig.device, show_default=True)
@click.option("--workers", type=int, default=TrainConfig.workers, show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Folder for the variants' runs and the table. Default: "
    "runs/ablation-<model>-<backend>-<n>.",
)
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Parent of the default --out.",
)
@overwrite_option
def ablation(**opts: Any) -> None:
    """Train the ablation variants of a model with the same data and seed; compare them.

    \b
    Examples:
      hq-qiskit ablation --model hqf-net --backbone weights/dinov3-sat493m
      hq-qiskit ablation --backbone weights/dinov3-sat493m --feature-cache cache/ --epochs 20
      hq-qiskit ablation --variants no-dmcaf,no-qskip --out runs/ablation-small
    """
    from hq_qiskit.training.run_dir import next_run_path

    model = opts["model"]
    variants = parse_variants(model, opts["variants"])
    options = model_options_from(model, opts)
    base = TrainConfig(
        model=model,
        model_options=options,
        backend=opts["backend"],
        data=str(opts["data"]) if opts["data"] is not None else None,
        **{
            k: opts[k]
            for k in (
                "epochs",
                "patches_per_epoch",
                "batch_size",
                "lr",
                "seed",
                "device",
                "val_stride_px",
                "aer_check_samples",
                "workers",
            )
        },
    )
    base.check()
    out = opts["out"] or next_run_path(opts["runs_dir"], f"ablation-{model}", opts["backend"])
    result = run_ablation(
        model, base, Path(out), variants=variants, split=opts["split"], overwrite=opts["overwrite"]
    )
    click.echo(
        f"\n{result['text']}\nwritten: {Path(out) / 'ablation.md'}, {Path(out) / 'ablation.json'}"
    )
