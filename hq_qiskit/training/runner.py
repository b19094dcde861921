"""Whole runs for the command line: start, resume and evaluate, each from a config or a run folder.

Everything that can be refused (backend, engine, data, model options, the output folder) is
checked before the run folder is created, so a refused run writes nothing and loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from hq_qiskit.errors import ConfigError, DataError
from hq_qiskit.hardware.backends import Backend, get_backend, load_backends, shots_label
from hq_qiskit.hardware.kinds import kind_of, names_that
from hq_qiskit.models import HybridSegmenter, get_model_class, resolve_options
from hq_qiskit.samplers import GridPatches, RandomPatches, channel_stats
from hq_qiskit.training.checkpoint import load_checkpoint
from hq_qiskit.training.config import TrainConfig, TrainSettings, check_batch, versions
from hq_qiskit.training.data import (
    also_resolved,
    describe_data,
    open_train_val,
    resolved,
)
from hq_qiskit.training.distributed import Dist, check_world, env_world, session
from hq_qiskit.training.loop import evaluate, fit, resolve_device
from hq_qiskit.training.restore import NoiseMode, build_from_config, restore
from hq_qiskit.training.run_dir import (
    RunDir,
    create_run_dir,
    open_run_dir,
    reserve_run_dir,
)
from hq_qiskit.training.tile_scores import open_split

Echo = Callable[[str], None]


def class_weights_for(
    tiles, spec: str, num_classes: int, max_tiles: int = 256
) -> list[float] | None:
    """Cross-entropy class weights from ``spec``.

    "none" -> None; "balanced" -> total / (K * count_k) over the training masks (at most
    ``max_tiles`` evenly spaced tiles; 0 for a class with no pixel); "a,b,..." -> those numbers.
    """
    if spec == "none":
        return None
    if spec != "balanced":
        values = [float(v) for v in spec.split(",")]
        if len(values) != num_classes:
            raise ConfigError(
                f"--class-weights {spec!r}: {len(values)} numbers for {num_classes} classes; "
                f"give one per class ({', '.join(tiles.classes)})"
            )
        return values
    n = len(tiles)
    idx = np.unique(np.linspace(0, n - 1, min(n, max_tiles)).astype(int))
    counts = np.zeros(num_classes, dtype=np.float64)
    for i in idx:
        mask = tiles.arrays(int(i))[1]
        counts += np.bincount(mask[mask != tiles.ignore_index].ravel(), minlength=num_classes)[
            :num_classes
        ]
    weights = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    return [float(w) for w in weights]


def check_backend(cfg: TrainSettings) -> Backend:
    """The ``backends.toml`` entry of ``cfg.backend``; refuse targets training cannot use."""
    try:
        backend = get_backend(cfg.backend)
    except ConfigError as err:
        raise ConfigError(f"--backend: {err}") from None
    if not kind_of(backend).trains:
        usable = names_that(lambda kind: kind.trains, load_backends())
        raise ConfigError(
            f"--backend {backend.name}: a {backend.kind} target cannot train; training runs on "
            f"{', '.join(usable)}; use {backend.name} for inference (hq-qiskit run)"
        )
    if cfg.shots is not None and backend.noise is None:
        noisy = names_that(lambda kind: kind.trains, load_backends())
        raise ConfigError(
            f"--shots {cfg.shots}: backend {backend.name} is ideal and exact; shots apply to "
            f"noisy backends ({', '.join(n for n in noisy if n != backend.name)})"
        )
    if cfg.noise_scale != 1 and backend.noise is None:
        raise ConfigError(
            f"--noise-scale {cfg.noise_scale:g}: backend {backend.name} is ideal and has no "
            "device noise to scale; choose a noisy backend (e.g. --backend aer-noisy-fez)"
        )
    exact_engine = cfg.model_options.get("engine", "fast") == "fast"
    if backend.noise is None and not backend.is_exact and exact_engine:
        raise ConfigError(
            f"--backend {backend.name}: asks for shot noise (precision {backend.precision}, "
            f"shots {backend.shots}) but the fast engine is exact; use --engine qiskit"
        )
    return backend


def noise_snapshot(backend: Backend) -> str | None:
    """The calibration snapshot a noisy backend's noise model is built from
    ("fake_fez 1.0.x <date>"); None for an ideal backend."""
    if backend.noise is None:
        return None
    from hq_qiskit.hardware.device_noise import snapshot_of

    return snapshot_of(backend.fake_backend())


def design_label(options: dict[str, Any]) -> str:
    """ ", design gated, 0 skips" for a design other than the papers' (``models.designs``)."""
    label = ""
    if options.get("design", "unet") != "unet":
        label += f", design {options['design']}"
    if options.get("skips") is not None:
        label += f", {options['skips']} skips"
    return label


def describe(model: HybridSegmenter, cfg: TrainConfig) -> str:
    """One line: model, parameter counts (classical, quantum), bottleneck, engine, backend and,
    for a noisy backend, the noise model's snapshot and the shots."""
    counts = model.parameter_counts()
    opts = cfg.model_options
    noise = ""
    if cfg.noise_snapshot is not None:
        shots = cfg.shots if cfg.shots is not None else (cfg.backend_entry or {}).get("shots")
        # a noisy entry without shots samples nothing either: exact noisy values
        scale = "" if cfg.noise_scale == 1 else f" x {cfg.noise_scale:g}"
        noise = f": noise of {cfg.noise_snapshot}{scale}, {shots_label(shots or 0)}"
    return (
        f"model {cfg.model}: {counts['classical']:,} classical + {counts['quantum']:,} quantum "
        f"trainable parameters (bottleneck {opts.get('bottleneck', '-')}{design_label(opts)}, "
        f"engine {opts.get('engine', '-')}, backend {cfg.backend}{noise}, "
        f"patch {cfg.patch_px} px{seen_label(opts)})"
    )


def seen_label(options: dict[str, Any]) -> str:
    """ ", seen at N px" for a model that resamples its window (``input_scale`` < 1), else ""."""
    scale = options.get("input_scale", 1.0)
    return "" if scale == 1 else f", seen at {options['patch_px'] * scale:g} px"


def resolve_model_options(
    settings: TrainSettings, num_classes: int, mean: list[float], std: list[float]
) -> dict[str, Any]:
    """The model's full option dict: the data's class count and, for models that undo the
    loader's normalisation (``takes_input_stats``), its statistics (``mean``, ``std``, 0..255
    scale); then the given values over the constructor's defaults."""
    given = {**settings.model_options, "num_classes": num_classes, "in_channels": 3}
    if get_model_class(settings.model).takes_input_stats:
        given.update(input_mean=list(mean), input_std=list(std))
    return resolve_options(settings.model, given)


@dataclass
class Prepared:
    """A new run's resolved record and the data it trains on.

    Attributes:
        config: the record ``config.json`` will hold (``TrainConfig``).
        train_tiles, val_tiles: the opened training and validation splits.
    """

    config: TrainConfig
    train_tiles: Any
    val_tiles: Any


def prepare(settings: TrainSettings, echo: Echo) -> Prepared:
    """The one step that writes a run's record: check ``settings``, open the data, and resolve
    every default (model options, validation stride, channels-last, the Aer check of a noisy
    backend) and what the data and environment give (classes, statistics, class weights, the
    backend entry and its noise snapshot, versions). ``settings`` is left as it was."""
    backend = check_backend(settings)  # the cheap checks first
    get_model_class(settings.model).check_options(settings.model_options)
    channels_last = resolve_channels_last(settings)
    settings.check()
    data = resolved(settings.data)
    train_also = also_resolved(settings.train_also)
    train_tiles, val_tiles = open_train_val(
        data, settings.class_map_ints, settings.folds, settings.fold, train_also
    )
    for split, tiles in (("train", train_tiles), ("val", val_tiles)):
        if len(tiles) == 0:
            raise DataError(f"--data {data or 'built-in'}: the {split} split has no tiles")
    where = f" (fold {settings.fold} of {settings.folds} validates)" if settings.folds else ""
    echo(
        f"data: {describe_data(data)}{where}: {len(train_tiles)} train tiles, "
        f"{len(val_tiles)} val tiles, classes {', '.join(train_tiles.classes)}"
    )
    classes = list(train_tiles.classes)
    mean, std = channel_stats(train_tiles)
    options = resolve_model_options(settings, len(classes), mean, std)
    aer_check = settings.aer_check_samples
    if backend.noise is not None and aer_check:
        echo(f"backend {backend.name} is noisy: the exact engine-vs-Aer check is skipped")
        aer_check = 0
    record = TrainConfig(
        **{
            **settings.settings_dict(),
            "data": data,
            "train_also": train_also,
            "model_options": options,
            "val_stride_px": settings.val_stride_px or int(options.get("patch_px", 128)),
            "channels_last": channels_last,
            "aer_check_samples": aer_check,
        },
        backend_entry=backend.to_dict(),
        class_names=classes,
        ignore_index=int(train_tiles.ignore_index),
        mean=mean,
        std=std,
        class_weight_values=class_weights_for(train_tiles, settings.class_weights, len(classes)),
        noise_snapshot=noise_snapshot(backend),
        versions=versions(),
        settings=settings.settings_dict(),
    )
    val_tiles[0]  # noqa: B018  (decode one val tile now: a bad mask is refused before any write)
    return Prepared(record, train_tiles, val_tiles)


def resolve_channels_last(settings: TrainSettings) -> bool:
    """``settings.channels_last``, None resolved to the model's choice; refused for a model
    that does not declare channels-last safe."""
    from hq_qiskit.models import MODELS

    declared = bool(MODELS[settings.model].channels_last)
    if settings.channels_last is None:
        return declared
    if settings.channels_last and not declared:
        raise ConfigError(
            f"--channels-last: {settings.model} is not declared safe in channels-last memory "
            "format (its forward may .view conv outputs); leave the flag out"
        )
    return settings.channels_last


def build(cfg: TrainConfig, echo: Echo) -> HybridSegmenter:
    """The record's model, seeded, its quantum blocks on the run's backend (``restore``'s
    ``build_from_config``)."""
    model, _ = build_from_config(cfg)
    echo(describe(model, cfg))
    return model


def describe_world(cfg: TrainConfig, dist: Dist) -> str:
    """One line: processes, device, global batch and the learning rate as used."""
    w, dev = dist.world_size, dist.device.type
    where, share = dev, ""
    if w > 1:
        where = f"{w} processes ({'NCCL' if dev == 'cuda' else 'gloo'}, {dev})"
        share = f", {cfg.patches_per_epoch // w} of {cfg.patches_per_epoch} patches each"
    return (
        f"training on {where}: global batch {cfg.batch_size * w} ({cfg.batch_size} per process"
        f" x {w}){share}, peak lr {cfg.lr:g} (as given, not scaled with the world size)"
        f"{', SyncBatchNorm' if cfg.sync_batchnorm else ''}"
    )


def _datasets(
    cfg: TrainConfig, train_tiles, val_tiles, dist: Dist
) -> tuple[RandomPatches, GridPatches]:
    train = RandomPatches(
        train_tiles,
        cfg.patch_px,
        cfg.patches_per_epoch,
        mean=cfg.mean,
        std=cfg.std,
        augment=True,
        seed=cfg.seed,
        jitter=cfg.jitter,
        rank=dist.rank,
        world_size=dist.world_size,
    )
    val = GridPatches(
        val_tiles, cfg.patch_px, cfg.val_stride_px or cfg.patch_px, mean=cfg.mean, std=cfg.std
    )
    return train, val


@dataclass
class TrainedRun:
    """What a training run leaves: its folder, the final report and the trained model.

    Attributes:
        run: the run folder (config.json, metrics, checkpoints, plots).
        report: the validation report of the best checkpoint ({} when no epoch ran).
        model: the model as trained (best.pt's weights loaded when there is one; on ranks
            other than 0 of a torchrun run, the last epoch's weights).
        main: False on the ranks other than 0 of a torchrun run (they print nothing).
    """

    run: RunDir
    report: dict[str, Any]
    model: HybridSegmenter
    main: bool = True


def start_training(
    cfg: TrainSettings,
    out: Path | None = None,
    *,
    runs_root: Path = Path("runs"),
    overwrite: bool = False,
    echo: Echo = tqdm.write,
) -> TrainedRun:
    """Check everything, create the run folder, write config.json, train.

    ``hq-qiskit train`` and every variant of ``hq-qiskit ablation`` start here. Everything
    that can be refused is checked before the run folder is created. Under torchrun every
    process calls this; rank 0 alone creates and writes the run folder.
    """
    cfg.check()  # the settings' own ranges first: --patches-per-epoch 0 is not about processes
    check_world(cfg.patches_per_epoch, env_world()[1])  # before joining the group
    check_batch(cfg.batch_size, cfg.patches_per_epoch, env_world()[1])
    with session(cfg.device) as dist:
        echo = dist.echo(echo)
        prepared = prepare(cfg, echo)
        record = prepared.config
        model = build(record, echo)
        train, val = _datasets(record, prepared.train_tiles, prepared.val_tiles, dist)
        echo(describe_world(record, dist))

        def create() -> RunDir:
            root = Path(runs_root)
            if out is None:  # create-or-fail, the next number on a clash
                run = reserve_run_dir(root, cfg.model, cfg.backend)
            else:
                run = create_run_dir(Path(out), overwrite=overwrite)
            run.write_json("config.json", record.to_dict())
            return run

        run = dist.on_main(create)
        echo(f"run folder: {run.path}")
        report = fit(record, run, model, train, val, echo=echo, dist=dist)
        return TrainedRun(run, report, model, dist.is_main)


def resume_training(
    path: Path,
    *,
    epochs: int | None = None,
    device: str | None = None,
    workers: int | None = None,
    echo: Echo = tqdm.write,
) -> TrainedRun:
    """Continue a run from its last.pt (or from scratch if none landed).

    ``epochs`` raises (or lowers) the total epoch count; ``device`` and ``workers`` change where
    it runs. Everything else comes from the run's config.json; the model is rebuilt as
    ``restore`` rebuilds it, and ``fit`` loads last.pt's weights, optimiser and step.
    """

    def read() -> tuple[RunDir, TrainConfig]:
        run = open_run_dir(path)
        cfg = TrainConfig.from_dict(run.read_json("config.json"), where=str(run.config))
        if run.last.exists():
            load_checkpoint(run.last)  # refuse a damaged checkpoint before touching anything
        return run, cfg

    with session(device or _trained_device(path)) as dist:
        echo = dist.echo(echo)
        run, cfg = dist.on_main(read)  # only rank 0 needs the run folder
        changes = {"epochs": epochs, "device": device, "workers": workers}
        cfg = cfg.resumed(**{k: v for k, v in changes.items() if v is not None})
        cfg.check()
        check_world(cfg.patches_per_epoch, dist.world_size)
        check_batch(cfg.batch_size, cfg.patches_per_epoch, dist.world_size)
        train_tiles, val_tiles = open_train_val(
            cfg.data, cfg.class_map_ints, cfg.folds, cfg.fold, cfg.train_also
        )
        model = build(cfg, echo)
        train, val = _datasets(cfg, train_tiles, val_tiles, dist)
        echo(describe_world(cfg, dist))
        dist.on_main(lambda: run.write_json("config.json", cfg.to_dict()))
        report = fit(cfg, run, model, train, val, resume=True, echo=echo, dist=dist)
        return TrainedRun(run, report, model, dist.is_main)


def _trained_device(path: Path) -> str:
    """The run's --device from its config.json ("auto" where this machine lacks the file)."""
    try:
        return str(open_run_dir(path).read_json("config.json").get("device", "auto"))
    except ConfigError:
        return "auto"  # rank 0 reports the missing folder


def evaluate_run(
    path: Path,
    *,
    data: Path | None = None,
    split: str = "val",
    engine: str | None = None,
    noise: NoiseMode = "as_trained",
    device: str = "auto",
    checkpoint: str = "best.pt",
    class_map: dict[int, int] | None = None,
    echo: Echo = tqdm.write,
    out_name: str = "evaluation.json",
) -> dict[str, Any]:
    """Score a run's checkpoint on a split; writes ``out_name`` and returns its content.

    The model runs as trained (a noise-trained run keeps its noise) unless ``noise="ideal"``.
    ``class_map`` maps another folder's raw mask values (default: the run's own map on the
    run's own data, else the layout's).
    """
    run = open_run_dir(path)
    restored = restore(run.path, checkpoint=checkpoint, engine=engine, noise=noise)
    cfg, model = restored.config, restored.model
    source, tiles, patches, _ = open_split(cfg, data, split, class_map)
    dev = resolve_device(device)
    loader = DataLoader(patches, batch_size=cfg.batch_size, num_workers=cfg.workers)
    scores, _ = evaluate(
        model.to(dev),
        loader,
        len(cfg.class_names),
        cfg.ignore_index,
        dev,
        desc=f"evaluate {split}",
    )
    result = {
        "run": str(run.path),
        "checkpoint": checkpoint,
        "backend": restored.backend.name,
        "noise": noise,
        "noise_snapshot": noise_snapshot(restored.backend),
        "data": source,
        "split": split,
        "tiles": len(tiles),
        "patches": len(patches),
        **scores.as_dict(cfg.class_names),
    }
    if not (np.isfinite(result["miou"]) and np.isfinite(result["oa"])):
        raise DataError(
            f"--data {source}: every mask pixel of the {split} split is no-data, so "
            f"there is nothing to score and {out_name} was not written; check the masks' values"
        )
    run.write_json(out_name, result, strict=True)
    result["text"] = scores.report(cfg.class_names)
    return result
