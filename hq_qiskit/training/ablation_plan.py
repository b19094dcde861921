"""The plan of an ablation: which variants, seeds and backends run, where each run goes, and
the checks that refuse a bad plan before any training (``training.ablation`` runs it).

Each model declares its variants (``HybridSegmenter.ablations``): HQF-Net's follow its paper
(the full model, then DMCAF, QSkip and QMoE removed in turn), HQ-UNet's ask whether the quantum
bottleneck helps (quantum, quantum-frozen, classical, classical-small, none; on a design of
``models.designs`` also the matched cores product, surrogate and mlp).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hq_qiskit.errors import ConfigError
from hq_qiskit.models import MODELS
from hq_qiskit.training.config import TrainSettings

# model -> variant name -> model options that differ from the full model (declared by the model)
ABLATIONS: dict[str, dict[str, dict[str, Any]]] = {
    name: dict(cls.ablations) for name, cls in MODELS.items() if cls.ablations
}
TABLE_FILES = ("ablation.md", "ablation.json", "ablation.png")
Echo = Callable[[str], None]
Start = Literal["new", "overwrite", "resume"]  # what a run does with its folder
Job = tuple[str, str, int]  # (backend, variant, seed)
# evaluation set name -> (dataset folder or None for the built-in sample, split)
Evaluation = dict[str, tuple[str | None, str]]


@dataclass(frozen=True)
class RunTask:
    """One run of the ablation, as an executor receives it (picklable: a Dask task's argument).

    Attributes:
        settings: the run's training settings (the variant's model options, seed, backend).
        path: its run folder, ``<out>/<backend>/<variant>/seed<k>``.
        start: what it does with that folder ("new", "overwrite" or "resume").
        evaluation: the sets its best checkpoint is scored on.
        log: where its output goes when it runs as a cluster task (``<out>/logs/``).
    """

    settings: TrainSettings
    path: Path
    start: Start
    evaluation: Evaluation
    log: Path


def plan_runs(
    base: TrainSettings,
    out: Path,
    start: Start,
    evaluation: Evaluation,
    jobs: list[Job],
) -> dict[Job, RunTask]:
    """The task of each (backend, variant, seed) of ``jobs``: ``base`` with the variant's model
    options, the seed and the backend (``--shots`` kept for a noisy backend only)."""
    tasks = {}
    for backend, name, seed in jobs:
        settings = dataclasses.replace(
            base,
            seed=seed,
            backend=backend,
            shots=base.shots if shots_for(backend, None) is not None else None,
            model_options={**base.model_options, **ABLATIONS[base.model][name]},
        )
        key = f"{backend}/{name}/seed{seed}"
        log = out / "logs" / f"{key.replace('/', '-')}.log"
        tasks[(backend, name, seed)] = RunTask(settings, out / key, start, evaluation, log)
    return tasks


def parse_variants(
    model: str, spec: str | None, options: dict[str, Any] | None = None
) -> list[str]:
    """Comma-separated variant names, validated; None: the variants ``model`` runs for its
    ``options`` (``HybridSegmenter.default_ablations``: for HQ-UNet the papers' five, or with
    ``--design``/``--skips`` the matched cores too)."""
    known = list(ABLATIONS[model])
    if spec is None:
        return MODELS[model].default_ablations(options or {})
    names = [v.strip() for v in spec.split(",") if v.strip()]
    unknown = [v for v in names if v not in known]
    if unknown or not names:
        raise ConfigError(f"--variants {spec!r}: unknown {unknown}; choose from {', '.join(known)}")
    return list(dict.fromkeys(names))


def check_not_varied(model: str, variants: list[str], options: dict[str, Any]) -> None:
    """Refuse model options (``options``) that the ablation's ``variants`` set themselves."""
    varied = sorted({k for v in variants for k in ABLATIONS[model][v]} & set(options))
    if varied:
        flags = ", ".join("--" + k.replace("_", "-") for k in varied)
        raise ConfigError(
            f"{flags}: the ablation's variants set this; leave it out (see --variants)"
        )


def is_ablation_folder(out: Path) -> bool:
    """True when ``out`` holds an ablation: its ``ablation.json`` or a run folder
    ``<backend>/<variant>/seed<N>`` (what ``plan_runs`` makes, even before its config.json)."""
    return (out / "ablation.json").is_file() or any(p.is_dir() for p in out.glob("*/*/seed*"))


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
        if not is_ablation_folder(out):
            raise ConfigError(
                f"--resume: --out {out} holds no ablation (no ablation.json, no "
                "<backend>/<variant>/seed<N> runs); give the --out an ablation was started in"
            )
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
    """The loss, augmentation, network size and design every run of the ablation trains with, in
    words (for the table's note): runs with another loss, width or design are not comparable."""
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
    from hq_qiskit.training.runner import design_label

    size = (size + design_label(cfg.model_options)).lstrip(", ")
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
) -> Evaluation:
    """Name -> (folder, split) of every set the variants are scored on, each opened and checked
    now (a dataset folder, a non-empty split, the training data's classes) so a bad one is
    refused before any training."""
    from hq_qiskit.datasets import open_labelled, open_tiles
    from hq_qiskit.errors import DataError
    from hq_qiskit.training.tile_scores import check_same_classes

    classes = list(open_tiles(data, "train").classes)
    sets: Evaluation = {split: (data, split)}
    for folder in eval_data:
        flag = f"--eval-data {folder}"
        try:  # any folder evaluate --split all scores: plain, LoveDA's tree, Dubai, ...
            tiles = open_labelled(folder, eval_split, option="--eval-data")
        except DataError as err:
            raise ConfigError(str(err)) from None
        if len(tiles) == 0:
            raise ConfigError(f"{flag}: its {eval_split} split has no tiles")
        check_same_classes(flag, tiles, classes)
        name, k = folder.resolve().name, 2
        while name in sets:
            name, k = f"{folder.resolve().name}-{k}", k + 1
        sets[name] = (str(folder.resolve()), eval_split)
    return sets
