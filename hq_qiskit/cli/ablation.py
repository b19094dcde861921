"""``hq-qiskit ablation``: train a model's ablation variants over seeds (and backends) on the same
data, score every run tile by tile on the validation split and held-out folders, and write one
comparison with intervals (ablation.md, ablation.json, ablation.png) beside their run folders.

Each model declares its variants (``HybridSegmenter.ablations``): HQF-Net's follow its paper
(the full model, then DMCAF, QSkip and QMoE removed in turn), HQ-UNet's ask whether the quantum
bottleneck helps (quantum, quantum-frozen, classical, classical-small, none). Every run starts
through ``training.runner.start_training``, exactly as ``hq-qiskit train`` does, in
``--out/<backend>/<variant>/seed<k>``; the statistics are ``training.statistics``'s.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import click

from hq_qiskit.cli.model_flags import model_flags, model_options_from
from hq_qiskit.cli.options import (
    aer_check_option,
    backend_option,
    batch_size_option,
    data_option,
    device_option,
    epochs_option,
    loader_workers_option,
    lr_option,
    overwrite_option,
    patches_per_epoch_option,
    scheduler_option,
    val_stride_option,
)
from hq_qiskit.cluster.client import check_workers, open_client
from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS
from hq_qiskit.training.config import TrainConfig, TrainSettings
from hq_qiskit.training.config import settings_that_differ as compare_settings

# model -> variant name -> model options that differ from the full model (declared by the model)
ABLATIONS: dict[str, dict[str, dict[str, Any]]] = {
    name: dict(cls.ablations) for name, cls in MODELS.items() if cls.ablations
}
TABLE_FILES = ("ablation.md", "ablation.json", "ablation.png")
Echo = Callable[[str], None]
Start = Literal["new", "overwrite", "resume"]  # what a run does with its folder


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


def check_out(out: Path, overwrite: bool, resume: bool = False) -> None:
    """Refuse a non-empty --out unless it holds an earlier ablation and --overwrite is given;
    with --resume, --out must be the folder of an ablation that was started."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder; choose another --out")
    if resume:
        if overwrite:
            raise ConfigError(
                "--resume keeps the runs in --out, --overwrite replaces them: give one"
            )
        if not out.is_dir():
            raise ConfigError(f"--resume: --out {out} does not exist; drop --resume to start it")
        return
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


def parse_seeds(spec: str) -> list[int]:
    """ "0,1,2" -> [0, 1, 2]; refuses an empty list, a non-integer and a repeated seed."""
    parts = [v.strip() for v in spec.split(",") if v.strip()]
    if not parts:
        raise ConfigError(f"--seeds {spec!r}: give at least one seed, e.g. --seeds 0,1,2")
    try:
        seeds = [int(v) for v in parts]
    except ValueError:
        raise ConfigError(
            f"--seeds {spec!r}: give integers, comma-separated (e.g. 0,1,2)"
        ) from None
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ConfigError(
            f"--seeds {spec!r}: seed {', '.join(map(str, repeated))} repeated; each seed once "
            "(a repeat adds no information and would bias the intervals)"
        )
    return seeds


def parse_backends(spec: str | None, default: str) -> list[str]:
    """ "aer,aer-noisy-fez" -> names, each checked against backends.toml (one per run set)."""
    from hq_qiskit.hardware.backends import get_backend

    names = [default] if spec is None else [v.strip() for v in spec.split(",") if v.strip()]
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"--backends {spec!r}: give distinct backends.toml names, e.g. aer")
    for name in names:
        try:
            get_backend(name)
        except ConfigError as err:
            raise ConfigError(f"--backends: {err}") from None
    return names


def shots_for(backend: str, shots: int | None) -> int | None:
    """The shots a run on ``backend`` samples per Pauli term: ``shots`` (``--shots``) or the
    entry's own for a noisy backend; None (exact) for an ideal one, which has no shots."""
    from hq_qiskit.hardware.backends import get_backend

    entry = get_backend(backend)
    if entry.noise is None:
        return None
    return entry.shots if shots is None else shots


def backend_label(backend: str, shots: int | None) -> str:
    """A backend of the ablation in words: how it samples and, for a noisy one, whose noise
    model (the fake backend's calibration snapshot), e.g. "aer-noisy-fez: noise of fake_fez
    1.0.x 2025-..., 1024 shots per Pauli term"."""
    from hq_qiskit.hardware.backends import get_backend, shots_label
    from hq_qiskit.training.runner import noise_snapshot

    snapshot = noise_snapshot(get_backend(backend))
    noise = "" if snapshot is None else f"noise of {snapshot}, "
    return f"{backend}: {noise}{shots_label(shots)}"


def recipe_label(cfg: TrainSettings) -> str:
    """The loss, augmentation and network size every run of the ablation trains with, in words
    (for the table's note): runs with another loss or width are not comparable with these."""
    loss = "cross-entropy" if cfg.dice == 0 else f"cross-entropy + {cfg.dice:g} x soft Dice"
    if cfg.class_weights != "none":
        loss += f", class weights {cfg.class_weights}"
    if cfg.label_smoothing:
        loss += f", label smoothing {cfg.label_smoothing:g}"
    size = ", ".join(
        f"{k.replace('_', ' ')} {cfg.model_options[k]}"
        for k in ("width", "depth", "patch_px")
        if k in cfg.model_options
    )
    return f"loss {loss}, photometric jitter {cfg.jitter:g}" + (f", {size}" if size else "")


def check_shots(shots: int | None, backends: list[str]) -> None:
    """``--shots`` needs a noisy backend among ``backends`` and a count >= 0."""
    if shots is None:
        return
    if shots < 0:
        raise ConfigError(f"--shots {shots}: give 0 (exact noisy values) or more shots")
    if all(shots_for(b, None) is None for b in backends):
        raise ConfigError(
            f"--shots {shots}: every backend of --backends ({', '.join(backends)}) is ideal and "
            "exact; add a noisy one, e.g. --backends aer,aer-noisy-fez"
        )


def evaluation_sets(
    data: str | None, split: str, eval_data: list[Path], eval_split: str
) -> dict[str, tuple[str | None, str]]:
    """Name -> (folder, split) of every set the variants are scored on, each opened and checked
    now (a dataset folder, a non-empty split, the training data's classes) so a bad one is
    refused before any training."""
    from hq_qiskit.datasets import detect_layout, open_tiles
    from hq_qiskit.errors import DataError
    from hq_qiskit.training.tile_scores import check_same_classes

    classes = list(open_tiles(data, "train").classes)
    sets: dict[str, tuple[str | None, str]] = {split: (data, split)}
    for folder in eval_data:
        flag = f"--eval-data {folder}"
        try:
            detect_layout(folder)
            tiles = open_tiles(folder, eval_split)
        except DataError as err:
            detail = str(err).split(": ", 1)[-1] if str(err).startswith("--data") else str(err)
            raise ConfigError(f"{flag}: not a dataset folder we can score ({detail})") from None
        if len(tiles) == 0:
            raise ConfigError(f"{flag}: its {eval_split} split has no tiles")
        check_same_classes(flag, tiles, classes)
        name, k = folder.resolve().name, 2
        while name in sets:
            name, k = f"{folder.resolve().name}-{k}", k + 1
        sets[name] = (str(folder.resolve()), eval_split)
    return sets


def settings_that_differ(path: Path, cfg: TrainSettings) -> list[str]:
    """Names of the settings in which ``path``'s config.json differs from ``cfg``
    (``training.config.settings_that_differ``)."""
    record = TrainConfig.from_dict(json.loads((path / "config.json").read_text()), str(path))
    return compare_settings(cfg, record)


def train_variant(cfg: TrainSettings, path: Path, start: Start, echo: Echo) -> dict[str, Any]:
    """Train one variant and seed into ``path``; returns its row.

    ``start``: "new" (``path`` must not hold a run), "overwrite" (replace it), or "resume":
    a run in ``path`` whose settings equal ``cfg``'s continues from its last.pt
    (``resume_training``; a finished run trains no further epoch), else the run starts.
    """
    from hq_qiskit.training.runner import resume_training, start_training

    if start == "resume" and (path / "config.json").exists():
        differ = settings_that_differ(path, cfg)
        if differ:
            raise ConfigError(
                f"--resume: {path / 'config.json'} differs from this command in {differ}; "
                "give the options the ablation started with, or start a new --out"
            )
        done = resume_training(path, device=cfg.device, workers=cfg.workers, echo=echo)
    else:  # a folder without config.json holds nothing a run wrote after it began
        done = start_training(cfg, path, overwrite=start != "new", echo=echo)
    run, report, model = done.run, done.report, done.model
    counts = model.parameter_counts()
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    steps_per_epoch = max(1, cfg.patches_per_epoch // cfg.batch_size)
    history = run.read_metrics()
    step_s = [r["train_s"] / steps_per_epoch for r in history]
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


def run_one(
    cfg: TrainSettings,
    path: Path,
    start: Start,
    evaluation: dict[str, tuple[str | None, str]],
    echo: Echo,
) -> tuple[dict[str, Any], list[str]]:
    """Train one variant and seed into ``path``, score its best checkpoint on every evaluation
    set; returns its table row and the class names it trained on."""
    from hq_qiskit.training.tile_scores import score_run_on_tiles

    row = train_variant(cfg, path, start, echo)
    row["shots"] = shots_for(cfg.backend, cfg.shots)
    row["scores"] = score_run_on_tiles(path, evaluation, device=cfg.device)
    # from the run's own config.json: a resumed run resolved them there, not in ``cfg``
    return row, json.loads((path / "config.json").read_text())["class_names"]


def run_one_logged(
    cfg: TrainSettings,
    path: Path,
    start: Start,
    evaluation: dict[str, tuple[str | None, str]],
    log: Path,
) -> tuple[dict[str, Any], list[str]]:
    """``run_one`` as a cluster task: what the run prints (its lines and progress bars) goes to
    ``log`` instead of the worker's terminal, where runs in parallel would interleave."""
    import contextlib

    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(log, "w", encoding="utf-8") as f,
        contextlib.redirect_stdout(f),
        contextlib.redirect_stderr(f),
    ):
        return run_one(cfg, path, start, evaluation, lambda line: print(line, flush=True))


def write_text(path: Path, text: str) -> None:
    from hq_qiskit.atomic import atomic_write

    atomic_write(path, text)


Job = tuple[str, str, int]  # (backend, variant, seed)


def run_jobs(
    jobs: dict[Job, TrainSettings],
    out: Path,
    start: Start,
    evaluation: dict[str, tuple[str | None, str]],
    cluster: Any,
    echo: Echo,
) -> dict[Job, tuple[dict[str, Any], list[str]]]:
    """Run ``jobs`` one after another here (``cluster`` None), or as one Dask task each on
    ``cluster`` (an open ``cluster.client.Cluster``), each into ``out/<backend>/<variant>/
    seed<k>``; returns (row, class names) by job. A run that fails on the cluster does not stop
    the others; when all have ended, the failed ones are named with their logs."""
    from hq_qiskit.errors import HQError

    done: dict[Job, tuple[dict[str, Any], list[str]]] = {}
    if cluster is None:
        for n, (job, cfg) in enumerate(jobs.items(), 1):
            backend, name, seed = job
            echo(
                f"\n=== {cfg.model} ablation: {name}, seed {seed}, {backend} ({n}/{len(jobs)}) ==="
            )
            path = out / backend / name / f"seed{seed}"
            done[job] = run_one(cfg, path, start, evaluation, echo)
        return done
    from hq_qiskit.cluster.sweep import sweep_on

    names = {f"{backend}/{name}/seed{seed}": (backend, name, seed) for backend, name, seed in jobs}
    logs = {key: out / "logs" / f"{key.replace('/', '-')}.log" for key in names}
    args = {key: (jobs[job], out / key, start, evaluation, logs[key]) for key, job in names.items()}
    outcome = sweep_on(cluster, run_one_logged, args, echo=echo)
    if outcome.failures:
        failed = "; ".join(f"{k} ({err}, log {logs[k]})" for k, err in outcome.failures.items())
        raise HQError(f"{len(outcome.failures)} of {len(jobs)} runs failed: {failed}")
    return {names[key]: result for key, result in outcome.results.items()}


def run_ablation(
    model: str,
    base: TrainSettings,
    out: Path,
    *,
    variants: list[str],
    seeds: list[int],
    backends: list[str],
    evaluation: dict[str, tuple[str | None, str]],
    command: str = "",
    overwrite: bool = False,
    resume: bool = False,
    n_boot: int = 2000,
    cluster: Any = None,
    echo: Echo = click.echo,
) -> dict[str, Any]:
    """Train every variant x seed x backend with ``base``'s data and settings, score each best
    checkpoint on every evaluation set tile by tile, and write ablation.{json,md,png} to ``out``.

    A variant without quantum blocks (e.g. ``classical``) trains once, under the first backend:
    device noise touches only circuits, so its runs are reused for the other backends. The runs
    go one after another in this process, or, given an open ``cluster``
    (``cluster.client.open_client``), as Dask tasks: first every run of the first backend, then
    those of the others that have a circuit. Each run's seeds make it the same either way.
    Returns the JSON content of ablation.json.
    """
    from hq_qiskit.training.ablation_report import figure, markdown, summarise

    check_out(out, overwrite, resume)
    start: Start = "resume" if resume else "overwrite" if overwrite else "new"

    def config(backend: str, name: str, seed: int) -> TrainSettings:
        return dataclasses.replace(
            base,
            model=model,
            seed=seed,
            backend=backend,
            shots=base.shots if shots_for(backend, None) is not None else None,
            model_options={**base.model_options, **ABLATIONS[model][name]},
        )

    first = {(backends[0], v, s): config(backends[0], v, s) for v in variants for s in seeds}
    done = run_jobs(first, out, start, evaluation, cluster, echo)
    with_circuit = [v for v in variants if done[(backends[0], v, seeds[0])][0]["quantum_blocks"]]
    for name in variants:
        if name not in with_circuit and len(backends) > 1:
            echo(f"{name}: no quantum block, {', '.join(backends[1:])} reuse {backends[0]}")
    later = {(b, v, s): config(b, v, s) for b in backends[1:] for v in with_circuit for s in seeds}
    if later:
        done.update(run_jobs(later, out, start, evaluation, cluster, echo))
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
    reference = "classical" if "classical" in variants else variants[0]
    shots = {b: shots_for(b, base.shots) for b in backends}
    shots_text = "; ".join(backend_label(b, n) for b, n in shots.items())
    eval_info = {k: {"data": d or "built-in", "split": s} for k, (d, s) in evaluation.items()}
    note = (
        f"Data: {base.data or 'built-in LoveDA sample'} (training and the "
        f"{next(iter(evaluation))} split); held-out: "
        f"{', '.join(f'{k} ({v[0]}, {v[1]})' for k, v in list(evaluation.items())[1:]) or 'none'}."
        f" Seeds {', '.join(map(str, seeds))} (weights, circuit angles and patches). "
        f"{base.epochs} epochs x {base.patches_per_epoch} patches, batch {base.batch_size}, "
        f"lr {base.lr}, {recipe_label(base)}, backends {', '.join(backends)} ({shots_text}). "
        "Each run is scored with its best checkpoint (best validation mIoU)."
    )
    result = {
        "model": model,
        "command": command,
        "classes": classes,
        "seeds": seeds,
        "variants": variants,
        "backends": backends,
        "shots": shots,
        "reference": reference,
        "evaluation": eval_info,
        "n_boot": n_boot,
        "note": note,
        "config": base.to_dict(),
        "runs": runs,
        "summary": summarise(runs, list(evaluation), classes, reference, n_boot),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "ablation.json", json.dumps(result, indent=1, allow_nan=True) + "\n")
    table = markdown(result)
    write_text(out / "ablation.md", table)
    figure(result, out / "ablation.png")
    result["text"] = table
    return result


def command_line(ctx: click.Context) -> str:
    """The command as given: its path and every option set on the command line."""
    import shlex

    from click.core import ParameterSource

    parts = ctx.command_path.split()
    if parts and parts[0] != "hq-qiskit":
        parts[0] = "hq-qiskit"
    for param in ctx.command.params:
        if ctx.get_parameter_source(param.name) != ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        flag = param.opts[0]
        if getattr(param, "is_flag", False):
            parts.append(flag)
            continue
        for v in value if isinstance(value, list | tuple) else [value]:
            parts += [flag, shlex.quote(str(v))]
    return " ".join(parts)


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
@click.option(
    "--backends",
    default=None,
    metavar="LIST",
    help="Comma-separated backends.toml entries to repeat the ablation on, e.g. "
    "aer,aer-noisy-fez (variants without a circuit train once). [default: --backend]",
)
@click.option(
    "--shots",
    type=int,
    default=None,
    help="Noisy backends of --backends: shots per Pauli term the quantum blocks sample in "
    "training and evaluation; 0 gives the exact noisy values. Ideal backends stay exact. "
    "[default: each backend entry's shots]",
)
@data_option
@click.option(
    "--seeds",
    default="0,1,2",
    show_default=True,
    metavar="LIST",
    help="Comma-separated seeds; each variant trains once per seed (weights, circuit angles "
    "and patches seeded).",
)
@click.option(
    "--eval-data",
    "eval_data",
    type=click.Path(path_type=Path),
    multiple=True,
    metavar="DIR",
    help="Held-out dataset folder to score every variant and seed on, besides --split "
    "(repeatable); its --eval-split split is used.",
)
@click.option(
    "--eval-split",
    type=click.Choice(["val", "test"]),
    default="test",
    show_default=True,
    help="Split of each --eval-data folder to score.",
)
@epochs_option
@patches_per_epoch_option
@batch_size_option
@lr_option
@val_stride_option
@aer_check_option
@click.option(
    "--split",
    type=click.Choice(["val", "test"]),
    default="val",
    show_default=True,
    help="Split the table scores each variant's best checkpoint on.",
)
@device_option
@loader_workers_option(param="loader_workers")
@click.option(
    "--workers",
    type=int,
    default=None,
    metavar="N",
    help="Dask worker processes on this machine that train the runs in parallel, one run "
    "each (a local cluster; each run's log goes to --out/logs/). Not the DataLoader's "
    "workers: see --loader-workers. [default: 1, runs one after another in this process]",
)
@scheduler_option
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
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an ablation that stopped, in its --out, with the options it started with: "
    "finished runs are scored again without training, an unfinished run continues from its "
    "last.pt, runs not begun start. A run whose settings differ is refused.",
)
def ablation(**opts: Any) -> None:
    """Train a model's ablation variants over seeds on the same data; compare them with intervals.

    \b
    Examples:
      hq-qiskit ablation --model hq-unet --seeds 0,1,2 --eval-data heldout/
      hq-qiskit ablation --model hq-unet --variants quantum,classical --backends aer,aer-noisy-fez
      hq-qiskit ablation --model hqf-net --backbone weights/dinov3-sat493m --feature-cache cache/
    """
    from hq_qiskit.training.run_dir import next_run_path

    model = opts["model"]
    variants = parse_variants(model, opts["variants"])
    seeds = parse_seeds(opts["seeds"])
    backends = parse_backends(opts["backends"], opts["backend"])
    check_shots(opts["shots"], backends)
    options = model_options_from(model, opts)
    varied = sorted({k for v in variants for k in ABLATIONS[model][v]} & set(options))
    if varied:
        flags = ", ".join("--" + k.replace("_", "-") for k in varied)
        raise ConfigError(
            f"{flags}: the ablation's variants set this; leave it out (see --variants)"
        )
    base = TrainSettings(
        model=model,
        model_options=options,
        backend=backends[0],
        data=str(Path(opts["data"]).resolve()) if opts["data"] is not None else None,
        seed=seeds[0],
        shots=opts["shots"],
        **{
            k: opts[k]
            for k in (
                "epochs",
                "patches_per_epoch",
                "batch_size",
                "lr",
                "device",
                "val_stride_px",
                "aer_check_samples",
            )
        },
        workers=opts["loader_workers"],
    )
    base.check()
    check_workers(opts["workers"])  # before any training, as an unreachable --scheduler
    evaluation = evaluation_sets(
        base.data, opts["split"], list(opts["eval_data"]), opts["eval_split"]
    )
    if opts["resume"] and opts["out"] is None:
        raise ConfigError("--resume: give the --out of the ablation to continue")
    out = opts["out"] or next_run_path(opts["runs_dir"], f"ablation-{model}", backends[0])
    check_out(Path(out), opts["overwrite"], opts["resume"])
    sweep = dict(
        variants=variants,
        seeds=seeds,
        backends=backends,
        evaluation=evaluation,
        command=command_line(click.get_current_context()),
        overwrite=opts["overwrite"],
        resume=opts["resume"],
    )
    if opts["scheduler"] is None and opts["workers"] in (None, 1):
        result = run_ablation(model, base, Path(out), **sweep)
    else:
        with open_client(opts["workers"], opts["scheduler"]) as cluster:
            result = run_ablation(model, base, Path(out), cluster=cluster, **sweep)
    files = ", ".join(str(Path(out) / f) for f in TABLE_FILES)
    click.echo(f"\n{result['text']}\nwritten: {files}")
