"""The ablation engine: train a model's variants over seeds (and backends) on the same data,
score every run tile by tile, and write one comparison with intervals (ablation.md,
ablation.json, ablation.png) beside their run folders.

``run_ablation`` plans the runs (``training.ablation_plan``), hands them to an executor
(``run_here``: one after another in this process; ``hq-qiskit ablation`` passes one that runs
them as Dask tasks, as ``cluster`` sits above ``training``), and assembles the report
(``training.ablation_report``, ``training.statistics``). Every run starts through
``training.runner.start_training``, exactly as ``hq-qiskit train`` does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import ConfigError
from hq_qiskit.training.ablation_plan import (
    Echo,
    Evaluation,
    Job,
    RunTask,
    Start,
    backend_label,
    check_out,
    plan_runs,
    recipe_label,
    shots_for,
)
from hq_qiskit.training.config import TrainConfig, TrainSettings, settings_that_differ
from hq_qiskit.training.statistics import DEFAULT_MARGIN

Outcome = tuple[dict[str, Any], list[str]]  # a run's table row and the classes it trained on
# runs the tasks (one after another, or in parallel) and returns each one's ``run_one`` result
Executor = Callable[[dict[Job, RunTask], Echo], dict[Job, Outcome]]


def train_variant(task: RunTask, echo: Echo) -> dict[str, Any]:
    """Train one variant and seed into ``task.path``; returns its row.

    ``task.start``: "new" (the folder must not hold a run), "overwrite" (replace it), or
    "resume": a run there whose settings equal the task's continues from its last.pt
    (``resume_training``; a finished run trains no further epoch), else the run starts.
    """
    from hq_qiskit.training.runner import resume_training, start_training

    cfg, path = task.settings, task.path
    if task.start == "resume" and (path / "config.json").exists():
        record = TrainConfig.from_dict(json.loads((path / "config.json").read_text()), str(path))
        differ = settings_that_differ(cfg, record)
        if differ:
            raise ConfigError(
                f"--resume: {path / 'config.json'} differs from this command in {differ}; "
                "give the options the ablation started with, or start a new --out"
            )
        done = resume_training(path, device=cfg.device, workers=cfg.workers, echo=echo)
    else:  # a folder without config.json holds nothing a run wrote after it began
        done = start_training(cfg, path, overwrite=task.start != "new", echo=echo)
    run, report, model = done.run, done.report, done.model
    counts = model.parameter_counts()
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    steps_per_epoch = max(1, cfg.patches_per_epoch // cfg.batch_size)
    step_s = [r["train_s"] / steps_per_epoch for r in run.read_metrics()]
    return {
        "run": str(run.path),
        "seed": cfg.seed,
        "best_epoch": report.get("best_epoch"),
        "quantum_blocks": len(model.quantum_blocks()),
        "params_classical": counts["classical"],
        "params_quantum": counts["quantum"],
        "params_frozen": frozen,
        "step_s": float(sum(step_s) / len(step_s)) if step_s else math.nan,
        "step_s_first_epoch": step_s[0] if step_s else math.nan,
        "step_s_last_epoch": step_s[-1] if step_s else math.nan,
    }


def run_one(task: RunTask, echo: Echo) -> Outcome:
    """Train one variant and seed, score its best checkpoint on every evaluation set; returns
    its table row and the class names it trained on."""
    from hq_qiskit.training.diagnose import score_interventions
    from hq_qiskit.training.tile_scores import score_run_on_tiles

    cfg = task.settings
    row = train_variant(task, echo)
    row["shots"] = shots_for(cfg.backend, cfg.shots)
    row["scores"] = score_run_on_tiles(task.path, task.evaluation, device=cfg.device)
    # does the run use its quantum blocks? the test-time interventions of hq-qiskit diagnose
    for name, deltas in score_interventions(task.path, task.evaluation, device=cfg.device).items():
        row["scores"][name]["intervention"] = deltas
    # from the run's own config.json: a resumed run resolved them there, not in ``cfg``
    return row, json.loads((task.path / "config.json").read_text())["class_names"]


def run_one_logged(task: RunTask) -> Outcome:
    """``run_one`` as a cluster task: what the run prints (its lines and progress bars) goes to
    ``task.log`` instead of the worker's terminal, where runs in parallel would interleave."""
    task.log.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(task.log, "w", encoding="utf-8") as f,
        contextlib.redirect_stdout(f),
        contextlib.redirect_stderr(f),
    ):
        return run_one(task, lambda line: print(line, flush=True))


def run_here(tasks: dict[Job, RunTask], echo: Echo) -> dict[Job, Outcome]:
    """The local executor: every task one after another in this process, its lines to
    ``echo``."""
    done: dict[Job, Outcome] = {}
    for n, (job, task) in enumerate(tasks.items(), 1):
        backend, name, seed = job
        model = task.settings.model
        echo(f"\n=== {model} ablation: {name}, seed {seed}, {backend} ({n}/{len(tasks)}) ===")
        done[job] = run_one(task, echo)
    return done


def gather_runs(
    done: dict[Job, Outcome], variants: list[str], seeds: list[int], backends: list[str]
) -> tuple[dict[str, dict[str, dict[str, dict[str, Any]]]], list[str]]:
    """backend -> variant -> seed -> row, a run that did not train under a backend (no
    circuit) reusing the first backend's row; and the class names the runs trained on."""
    runs: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    classes: list[str] = []
    for backend in backends:
        runs[backend] = {}
        for name in variants:
            runs[backend][name] = {}
            for seed in seeds:
                if (backend, name, seed) in done:
                    row, classes = done[(backend, name, seed)]
                else:
                    row = {**done[(backends[0], name, seed)][0], "reused_from": backends[0]}
                runs[backend][name][str(seed)] = row
    return runs, classes


def note_for(
    base: TrainSettings, evaluation: Evaluation, seeds: list[int], backends: list[str]
) -> str:
    """The report's note: data, held-out sets, seeds, recipe and how each backend samples."""
    shots_text = "; ".join(backend_label(b, shots_for(b, base.shots)) for b in backends)
    held_out = ", ".join(f"{k} ({v[0]}, {v[1]})" for k, v in list(evaluation.items())[1:])
    return (
        f"Data: {base.data or 'built-in LoveDA sample'} (training and the "
        f"{next(iter(evaluation))} split); held-out: {held_out or 'none'}."
        f" Seeds {', '.join(map(str, seeds))} (weights, circuit angles and patches). "
        f"{base.epochs} epochs x {base.patches_per_epoch} patches, batch {base.batch_size}, "
        f"lr {base.lr}, {recipe_label(base)}, backends {', '.join(backends)} ({shots_text}). "
        "Each run is scored with its best checkpoint (best validation mIoU)."
    )


def write_report(result: dict[str, Any], out: Path) -> str:
    """Write ablation.json, ablation.md and ablation.png to ``out``; returns the markdown."""
    from hq_qiskit.training.ablation_report import figure, markdown

    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "ablation.json", json.dumps(result, indent=1, allow_nan=True) + "\n")
    table = markdown(result)
    atomic_write(out / "ablation.md", table)
    figure(result, out / "ablation.png")
    return table


def run_ablation(
    model: str,
    base: TrainSettings,
    out: Path,
    *,
    variants: list[str],
    seeds: list[int],
    backends: list[str],
    evaluation: Evaluation,
    command: str = "",
    overwrite: bool = False,
    resume: bool = False,
    n_boot: int = 2000,
    margin: float = DEFAULT_MARGIN,
    execute: Executor = run_here,
    echo: Echo = print,
) -> dict[str, Any]:
    """Train every variant x seed x backend with ``base``'s data and settings, score each best
    checkpoint on every evaluation set tile by tile, and write ablation.{json,md,png} to ``out``.

    A variant without quantum blocks (e.g. ``classical``) trains once, under the first backend:
    device noise touches only circuits, so its runs are reused for the other backends.
    ``execute`` runs the planned tasks: ``run_here`` one after another in this process, or an
    executor that runs them in parallel (``hq-qiskit ablation``'s Dask one), first every run of
    the first backend, then those of the others that have a circuit. Each run's seeds make it
    the same either way. Returns the JSON content of ablation.json, plus "text" (the table).
    """
    from hq_qiskit.training.ablation_report import summarise

    check_out(out, overwrite, resume)
    start: Start = "resume" if resume else "overwrite" if overwrite else "new"
    base = dataclasses.replace(base, model=model)
    first = [(backends[0], v, s) for v in variants for s in seeds]
    done = execute(plan_runs(base, out, start, evaluation, first), echo)
    with_circuit = [v for v in variants if done[(backends[0], v, seeds[0])][0]["quantum_blocks"]]
    for name in variants:
        if name not in with_circuit and len(backends) > 1:
            echo(f"{name}: no quantum block, {', '.join(backends[1:])} reuse {backends[0]}")
    later = [(b, v, s) for b in backends[1:] for v in with_circuit for s in seeds]
    if later:
        done.update(execute(plan_runs(base, out, start, evaluation, later), echo))
    runs, classes = gather_runs(done, variants, seeds, backends)
    reference = "classical" if "classical" in variants else variants[0]
    result = {
        "model": model,
        "command": command,
        "classes": classes,
        "seeds": seeds,
        "variants": variants,
        "backends": backends,
        "shots": {b: shots_for(b, base.shots) for b in backends},
        "reference": reference,
        "evaluation": {
            k: {"data": d or "built-in", "split": s} for k, (d, s) in evaluation.items()
        },
        "n_boot": n_boot,
        "margin": margin,
        "note": note_for(base, evaluation, seeds, backends),
        "config": base.to_dict(),
        "runs": runs,
        "summary": summarise(runs, list(evaluation), classes, reference, n_boot, margin=margin),
    }
    result["text"] = write_report(result, out)
    return result
