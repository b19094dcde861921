"""A training run's settings and its resolved record.

``TrainSettings`` holds what the command line (or a library caller) says, frozen: nothing
changes it after it is built. ``TrainConfig`` is the record a run writes to ``config.json``:
the settings with every default resolved (the model's full options, the validation stride,
channels-last, the Aer check turned off for a noisy backend) and what the data and the
environment give (class names, normalisation statistics, class weights, the backend entry and
its noise snapshot, versions), plus the settings as given (``settings``). One step writes the
record: ``training.runner.prepare``. ``--resume``, ``evaluate`` and ``predict`` rebuild the
same model and inputs from the record alone; resuming compares settings with settings
(``settings_that_differ``).
"""

from __future__ import annotations

import dataclasses
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar

from hq_qiskit.errors import ConfigError
from hq_qiskit.training.precision import check_precision

CLASS_WEIGHTS = ("none", "balanced")
# settings added after runs were first saved, with the value a run saved before them trained
# with (the setting did not exist: off), which is not today's default
BEFORE_ADDED: dict[str, Any] = {"jitter": 0.0, "dice": 0.0}
# field metadata of a setting that says where a run goes, not what it computes: a resumed run
# may change it (``--device``, ``--loader-workers``)
WHERE = {"where": True}
S = TypeVar("S", bound="TrainSettings")
# float settings (refused when NaN or infinite), and each count's minimum with what it counts
FLOAT_SETTINGS = (
    "lr",
    "min_lr_ratio",
    "weight_decay",
    "jitter",
    "label_smoothing",
    "dice",
    "noise_scale",
)
MINIMUM = {
    "epochs": 1,
    "patches_per_epoch": 1,
    "batch_size": 1,
    "val_stride_px": 1,
    "warmup_steps": 0,
    "aer_check_samples": 0,
    "workers": 0,
    "seed": 0,
}
MEANING = {
    "epochs": "the passes over the patches of an epoch",
    "patches_per_epoch": "the random training patches drawn each epoch",
    "batch_size": "the patches of one optimiser step",
    "val_stride_px": "the pixels between validation patches",
    "warmup_steps": "the steps of linear warm-up (0: none)",
    "aer_check_samples": "the patches checked against exact Aer (0: off)",
    "workers": "the DataLoader worker processes (0: none)",
    "seed": "seeds are non-negative integers",
}


def _flag(name: str) -> str:
    """The command-line option of a setting: ``workers`` is ``--loader-workers``."""
    return "--loader-workers" if name == "workers" else "--" + name.replace("_", "-")


def _keys(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _refuse_unknown(cls: type, d: dict[str, Any], where: str) -> None:
    unknown = sorted(set(d) - _keys(cls))
    if unknown:
        known = ", ".join(sorted(_keys(cls)))
        raise ConfigError(f"{where}: unknown keys {unknown}; accepted: {known}")


@dataclass(frozen=True)
class TrainSettings:
    """A training run's settings, as given (frozen).

    Attributes:
        model: key of ``hq_qiskit.models.MODELS``.
        model_options: keyword arguments of the model constructor (width, depth, patch_px,
            bottleneck, engine, ...); ``num_classes`` and ``in_channels`` come from the data.
        backend: name of the ``backends.toml`` entry the quantum blocks run on.
        shots: shots per Pauli term a noisy backend samples in training and evaluation
            (None: the entry's ``shots``; 0: exact noisy values, no shot noise).
        noise_scale: every error of a noisy backend's device noise times this factor (gate
            errors, 1/T1 and 1/T2, readout; ``hardware.noise_scale``), in training and when the
            run is rebuilt as trained; 1 (the default, and what runs saved before the setting
            trained with) is the device's own noise. Only a noisy backend takes another value.
        data: dataset folder, several folders trained on as one set (a list: each folder's
            layout's class map, its own train and val splits), or None for the built-in
            LoveDA sample.
        class_map: raw mask value (as a string, JSON keys) -> class index or 255; None: the
            layout's own map to LandCover.ai's classes (``--class-map FILE``).
        epochs: passes over ``patches_per_epoch`` random training patches.
        patches_per_epoch: random patches drawn per epoch.
        batch_size: patches per optimiser step.
        lr: AdamW peak learning rate; cosine decay to ``lr * min_lr_ratio`` after a linear
            warm-up of ``warmup_steps`` steps.
        weight_decay: AdamW decay of conv and linear weights (never biases, norms, or circuit
            angles, which are periodic).
        class_weights: "none", "balanced" (total / (K * count_k) on the training masks), or
            K comma-separated numbers.
        jitter: strength of the photometric jitter of training patches (per-patch brightness,
            contrast, saturation and per-band gain/offset, ``samplers.transforms.photometric``),
            0..1; 0 turns it off. Flips and 90-degree turns are always on.
        label_smoothing: cross-entropy label smoothing, 0..1 (0: plain cross-entropy).
        dice: weight of the soft Dice loss added to the cross-entropy (``training.losses``;
            0: cross-entropy alone). Under torchrun it is the Dice of the global batch. 5 (the
            default) raised held-out mIoU from 0.235 +- 0.006 to 0.281 +- 0.018 over 3 seeds
            and made roads appear (docs/science.md, fourth search).
        seed: seeds torch (weights, circuit angles) and the patch sampler.
        device: "cpu", "cuda", or "auto" (where the run goes).
        val_stride_px: stride of the validation grid of patches, pixels (None: the patch
            side, i.e. no overlap).
        aer_check_samples: patches whose quantum-block inputs are run through exact Aer at the
            start and the end of the run (0 turns the check off).
        workers: DataLoader worker processes (``--loader-workers``; where the run goes).
        sync_batchnorm: under torchrun, batch norm uses the statistics of the global batch
            (all processes) instead of each process's own.
        precision: "32", "bf16-mixed" or "16-mixed": autocast for the classical layers;
            the quantum blocks keep their float32/64 (``training.precision``).
        channels_last: conv weights and input batches in channels-last memory format (NHWC);
            None: the model's choice (``HybridSegmenter.channels_last``: on for HQ-UNet, whose
            training step took 0.67x the CPU time; GPU convolutions under autocast prefer it).
        folds: 0 trains on the data's train split and validates on its val split; K >= 2
            pools every tile of the data (``all``) and splits it into K folds of whole images
            (whole Dubai regions; ``datasets.group_kfold``, assignment seed 0 whatever
            ``seed`` is), training on K-1 of them and validating on fold ``fold``:
            one run of a cross-validation (``hq-qiskit crossval``).
        fold: the fold that validates, 0..folds-1 (with ``folds``).
        train_also: folders whose every tile (``all``, through its own layout's class map)
            joins the training tiles and is never validated on: another domain that may help
            the model (e.g. the Dubai regions beside LoveDA) without changing what the run is
            scored on. None: none.
    """

    model: str = "hq-unet"
    model_options: dict[str, Any] = field(default_factory=dict)
    backend: str = "aer"
    shots: int | None = None
    noise_scale: float = 1.0
    data: str | list[str] | None = None
    class_map: dict[str, int] | None = None
    epochs: int = 32
    patches_per_epoch: int = 384
    batch_size: int = 16
    lr: float = 3e-3
    min_lr_ratio: float = 0.01
    warmup_steps: int = 10
    weight_decay: float = 1e-4
    class_weights: str = "none"
    jitter: float = 0.1
    label_smoothing: float = 0.0
    dice: float = 5.0
    seed: int = 0
    device: str = field(default="auto", metadata=WHERE)
    val_stride_px: int | None = None
    aer_check_samples: int = 4
    workers: int = field(default=0, metadata=WHERE)
    sync_batchnorm: bool = False
    precision: str = "32"
    channels_last: bool | None = None
    folds: int = 0
    fold: int = 0
    train_also: list[str] | None = None

    @property
    def class_map_ints(self) -> dict[int, int] | None:
        """``class_map`` with integer keys, as ``open_tiles`` takes it."""
        return None if self.class_map is None else {int(k): v for k, v in self.class_map.items()}

    @property
    def patch_px(self) -> int:
        """Side of a training patch, pixels (the model option ``patch_px``, 128 by default)."""
        return int(self.model_options.get("patch_px", 128))

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON values (the settings, or the whole record)."""
        return dataclasses.asdict(self)

    def settings_dict(self) -> dict[str, Any]:
        """The fields of ``TrainSettings`` only, with this object's values."""
        return {name: getattr(self, name) for name in _keys(TrainSettings)}

    @classmethod
    def from_dict(cls: type[S], d: dict[str, Any], where: str = "config") -> S:
        """Rebuild from ``to_dict`` output; unknown keys raise ``ConfigError`` naming them.

        A key of ``BEFORE_ADDED`` that ``d`` lacks takes the value runs had before the setting
        existed, so resuming or rebuilding an older run keeps its loss and augmentation."""
        _refuse_unknown(cls, d, where)
        return cls(**{**BEFORE_ADDED, **d})

    def check(self) -> None:
        """Raise ``ConfigError`` for a setting outside its range, one line naming the option,
        the value and a value it accepts: non-finite floats, counts below their minimum
        (``check_batch`` compares the batch with the patches once the processes are known)."""
        for name in FLOAT_SETTINGS:
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ConfigError(
                    f"{_flag(name)} {value}: not a finite number; give a finite value, "
                    f"e.g. {_flag(name)} {getattr(TrainSettings, name):g}"
                )
        for name, low in MINIMUM.items():
            value, default = getattr(self, name), getattr(TrainSettings, name)
            if value is not None and value < low:
                example = "" if default is None else f"; e.g. {_flag(name)} {default}"
                raise ConfigError(
                    f"{_flag(name)} must be >= {low} (got {value}); {MEANING[name]}{example}"
                )
        if self.lr <= 0:
            raise ConfigError(f"--lr must be > 0 (got {self.lr:g}); e.g. --lr {TrainSettings.lr:g}")
        if self.weight_decay < 0:
            raise ConfigError(
                f"--weight-decay {self.weight_decay:g}: choose 0 (off) or more, "
                f"e.g. --weight-decay {TrainSettings.weight_decay:g}"
            )
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(
                f"--min-lr-ratio {self.min_lr_ratio:g}: choose 0 to 1 (a fraction of --lr), "
                f"e.g. --min-lr-ratio {TrainSettings.min_lr_ratio:g}"
            )
        if self.shots is not None and self.shots < 0:
            raise ConfigError(f"--shots {self.shots}: give 0 (exact noisy values) or more shots")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"--jitter {self.jitter}: choose 0 (off) to 1")
        if not 0 <= self.label_smoothing < 1:
            raise ConfigError(f"--label-smoothing {self.label_smoothing}: choose 0 (off) to < 1")
        if self.noise_scale < 0:
            raise ConfigError(
                f"--noise-scale {self.noise_scale:g}: give a factor >= 0 (0: no device error, "
                "1: the device's own noise), e.g. --noise-scale 1"
            )
        if self.dice < 0:
            raise ConfigError(f"--dice {self.dice}: choose 0 (cross-entropy alone) or more")
        check_precision(self.precision)
        self._check_folds()
        if self.class_weights not in CLASS_WEIGHTS:
            try:
                values = [float(v) for v in self.class_weights.split(",")]
            except ValueError:
                values = [math.nan]
            if not all(math.isfinite(v) and v >= 0 for v in values):
                raise ConfigError(
                    f"--class-weights {self.class_weights!r}: give 'none', 'balanced' or one "
                    "finite number >= 0 per class, comma-separated (e.g. 1,2,1,1,3)"
                )

    def _check_folds(self) -> None:
        if self.folds == 1 or self.folds < 0:
            raise ConfigError(
                f"--folds {self.folds}: choose 0 (the data's train and val splits) or at least "
                "2 folds of whole images, e.g. --folds 4"
            )
        if self.folds == 0 and self.fold != 0:
            raise ConfigError(f"--fold {self.fold} needs --folds K (e.g. --folds 4)")
        if self.folds and not 0 <= self.fold < self.folds:
            raise ConfigError(
                f"--fold {self.fold}: with --folds {self.folds} choose a fold from 0 to "
                f"{self.folds - 1}"
            )


def check_batch(batch_size: int, patches_per_epoch: int, world_size: int = 1) -> None:
    """Refuse a batch larger than the patches each process draws per epoch.

    Refused rather than clamped: a clamped batch would change the optimiser steps per epoch,
    the warm-up and the schedule behind the user's back (and the log's "global batch")."""
    share = patches_per_epoch // world_size
    if batch_size > share:
        each = (
            f"the {share} patches each of {world_size} processes draws"
            if world_size > 1
            else (f"the {share} patches per epoch")
        )
        raise ConfigError(
            f"--batch-size {batch_size} is more than {each}: no step could hold a full batch; "
            f"give --batch-size {share} or fewer, or --patches-per-epoch "
            f"{batch_size * world_size} or more"
        )


@dataclass(frozen=True)
class TrainConfig(TrainSettings):
    """A run's resolved record, as ``config.json`` (and every checkpoint's ``config``) holds it.

    The settings' fields hold their resolved values (full model options, the validation
    stride, channels-last, ...); ``training.runner.prepare`` alone builds it for a new run.

    Attributes:
        backend_entry: the backend's ``backends.toml`` entry, resolved (``Backend.to_dict``):
            the noise spec, shots and transpile settings a run is rebuilt with, whatever the
            local ``backends.toml`` says.
        class_names: the data's classes, in index order.
        ignore_index: mask value no loss or score counts.
        mean, std: per-band statistics of the training tiles (0..255 scale) the inputs are
            normalised with.
        class_weight_values: resolved ``class_weights`` (None: unweighted).
        noise_snapshot: for a noisy backend, the calibration snapshot its noise model is built
            from ("fake_fez 1.0.x <date>", the fake backend of the qiskit-ibm-runtime in
            ``versions``); None for an ideal one.
        versions: Python's and the result-changing libraries' versions (``versions()``).
        settings: the ``TrainSettings`` as given (``to_dict``); None in a record saved before
            records kept them.
    """

    backend_entry: dict[str, Any] | None = None
    class_names: list[str] = field(default_factory=list)
    ignore_index: int = 255
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    class_weight_values: list[float] | None = None
    noise_snapshot: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] | None = None

    def given(self) -> TrainSettings | None:
        """The settings the run was started with (None for a record saved before they were
        kept)."""
        if self.settings is None:
            return None
        return TrainSettings.from_dict(self.settings, "config.json settings")

    def resumed(self, **changes: Any) -> TrainConfig:
        """This record with where-it-runs settings (and ``epochs``) changed, in the resolved
        fields and in the settings as given: what ``--resume`` may change."""
        allowed = {"epochs"} | {f.name for f in dataclasses.fields(TrainSettings) if f.metadata}
        refused = sorted(set(changes) - allowed)
        if refused:
            raise ConfigError(f"a resumed run keeps its {refused}; start a new run to change them")
        given = None if self.settings is None else {**self.settings, **changes}
        return dataclasses.replace(self, **changes, settings=given)


def settings_that_differ(mine: TrainSettings, record: TrainConfig) -> list[str]:
    """Names of the settings in which ``mine`` differs from the settings ``record`` was
    started with; settings of where a run goes (``WHERE``: device, loader workers) aside.

    A record saved before records kept their settings is compared on its resolved fields: a
    setting ``mine`` leaves at None was the run's to choose (validation stride, channels-last),
    and its model options hold ``mine``'s plus the defaults the model filled in.
    """
    compared = [f.name for f in dataclasses.fields(TrainSettings) if not f.metadata]
    given = record.given()
    if given is not None:
        return sorted(k for k in compared if getattr(mine, k) != getattr(given, k))

    def same(key: str) -> bool:
        value, theirs = getattr(mine, key), getattr(record, key)
        if key == "model_options":
            return all(theirs.get(k) == v for k, v in value.items())
        return value is None or value == theirs

    return sorted(k for k in compared if not same(k))


def versions() -> dict[str, str]:
    """Versions of Python and the libraries that change results."""
    out = {"python": platform.python_version()}
    for dist in (
        "hq-qiskit",
        "torch",
        "qiskit",
        "qiskit-aer",
        "qiskit-machine-learning",
        "qiskit-ibm-runtime",  # its fake backends hold the device-noise snapshots
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out
