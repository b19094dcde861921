"""The one way back from a run folder or checkpoint to a working model.

``evaluate``, ``predict``, device inference (``hq-qiskit run``), ``--resume`` and the ablation
all rebuild models here:

    build_from_config(cfg)   the model a config describes, seeded, on the run's backend
    restore(source)          that model with a checkpoint's weights, in eval mode

A run's ``config.json`` (and every checkpoint's ``config``) stores the resolved backend entry
(``TrainConfig.backend_entry``), so a noise-trained run rebuilds with the noise it was trained
with on any machine, without reading that machine's ``backends.toml``. Runs written before the
entry was stored fall back to today's ``backends.toml`` entry of the same name.

The quantum blocks' state dict is the same with and without noise (``HybridSegmenter.
use_backend``), so ``noise="ideal"`` loads a noise-trained checkpoint into the exact model
directly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from hq_qiskit.errors import CheckpointError, ConfigError
from hq_qiskit.hardware.backends import Backend, get_backend
from hq_qiskit.models import HybridSegmenter, build_model
from hq_qiskit.training.checkpoint import load_checkpoint
from hq_qiskit.training.config import TrainConfig

NoiseMode = Literal["as_trained", "ideal"]
NOISE_MODES = ("as_trained", "ideal")
CHECKPOINT_NAMES = ("best.pt", "last.pt")


@dataclass
class Restored:
    """A model rebuilt from a checkpoint.

    Attributes:
        model: the network with the checkpoint's weights, in eval mode, on the CPU.
        config: the run's resolved config, as stored in the checkpoint.
        checkpoint: the file the weights came from.
        backend: the entry the quantum blocks run on now (the run's own entry, or its ideal
            counterpart with ``noise="ideal"``).
        state: the whole checkpoint (epoch, history, ...), for callers that need more.
    """

    model: HybridSegmenter
    config: TrainConfig
    checkpoint: Path
    backend: Backend
    state: dict[str, Any]


def find_checkpoint(source: Path | str, name: str | None = None) -> Path:
    """The checkpoint file of ``source``: the file itself, or a run folder's ``name``
    (default: best.pt, else last.pt)."""
    source = Path(source)
    if not source.exists():
        raise CheckpointError(
            f"{source}: no such run folder or checkpoint; give a folder written by "
            "hq-qiskit train (e.g. runs/hq-unet-aer-0) or a .pt file"
        )
    if source.is_file():
        if name is not None:
            raise ConfigError(f"--checkpoint {name}: give a run folder, not the file {source}")
        return source
    names = (name,) if name is not None else CHECKPOINT_NAMES
    for candidate in names:
        if (source / candidate).is_file():
            return source / candidate
    present = [n for n in CHECKPOINT_NAMES if (source / n).is_file()]
    fix = f"use --checkpoint {present[0]}" if present else "train it first (hq-qiskit train)"
    raise CheckpointError(f"{source}: has no {' or '.join(names)}; {fix}")


def run_backend(cfg: TrainConfig, where: str = "config") -> Backend:
    """The backend entry a run was trained on: the stored entry, else today's of that name."""
    if cfg.backend_entry:
        return Backend.from_dict(cfg.backend_entry, where)
    try:
        return get_backend(cfg.backend)
    except ConfigError as err:
        raise ConfigError(
            f"{where}: the run names backend {cfg.backend!r} but stores no entry for it, and "
            f"today's backends.toml has none ({err}); add the entry back or use noise='ideal'"
        ) from None


def ideal_backend() -> Backend:
    """The exact, noiseless Aer entry ``noise="ideal"`` runs on."""
    return Backend(name="aer", kind="aer", description="ideal exact simulator")


def build_from_config(
    cfg: TrainConfig,
    *,
    engine: str | None = None,
    noise: NoiseMode = "as_trained",
    where: str = "config",
) -> tuple[HybridSegmenter, Backend]:
    """Seed torch with ``cfg.seed``, build ``cfg.model`` from ``cfg.model_options``, and put
    its quantum blocks on the run's backend (``noise="as_trained"``) or on ideal Aer.

    Returns:
        (model, backend): a fresh model (weights from the seed) and the entry it runs on.
    """
    if noise not in NOISE_MODES:
        raise ConfigError(f"noise {noise!r}: choose one of {', '.join(NOISE_MODES)}")
    backend = run_backend(cfg, where) if noise == "as_trained" else ideal_backend()
    if cfg.shots is not None and backend.noise is not None:
        backend = dataclasses.replace(backend, shots=cfg.shots)  # --shots wins over the entry
    options = dict(cfg.model_options)
    if engine is not None:
        options["engine"] = engine
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, options)
    scale = cfg.noise_scale if noise == "as_trained" else 1.0
    return model.use_backend(backend, seed=cfg.seed, noise_scale=scale), backend


def restore(
    source: Path | str,
    *,
    checkpoint: str | None = None,
    engine: str | None = None,
    noise: NoiseMode = "as_trained",
) -> Restored:
    """Rebuild a trained model with its weights, in eval mode.

    Args:
        source: a run folder or a ``.pt`` checkpoint.
        checkpoint: a run folder's checkpoint to use ("best.pt" or "last.pt"; default best.pt,
            else last.pt).
        engine: run the quantum blocks on another engine ("fast" or "qiskit"); None keeps the
            run's.
        noise: "as_trained" runs the quantum blocks with the noise of the run's backend entry
            (none for an ideal run); "ideal" runs them exactly.
    """
    path = find_checkpoint(source, checkpoint)
    state = load_checkpoint(path)
    cfg = TrainConfig.from_dict(state["config"], where=f"{path} (config)")
    model, backend = build_from_config(cfg, engine=engine, noise=noise, where=str(path))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        lines = [ln.strip() for ln in str(err).strip().splitlines()]
        detail = lines[1] if len(lines) > 1 else lines[0]  # line 0: "Error(s) in loading ..."
        raise CheckpointError(
            f"{path}: weights do not fit model {cfg.model!r} built from its config ({detail}); "
            "the config and the weights come from different runs: use the run's own "
            "checkpoint or retrain"
        ) from None
    return Restored(model.eval(), cfg, path, backend, state)
