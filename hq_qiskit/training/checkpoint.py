"""Checkpoints: written atomically (temp file in the same folder + ``os.replace``), read back
with one clear error when the file is missing, truncated or not an hq-qiskit checkpoint.

A checkpoint is a dict saved with ``torch.save``:

    format      "hq-qiskit-checkpoint"
    version     2 (version 1 files are read and upgraded: ``upgrade_v1_weights``)
    config      the run's resolved config (JSON types), enough to rebuild the model
    model       the model's state_dict
    optimizer   the optimiser's state_dict (absent in weights-only exports)
    epoch       completed epochs
    step        completed optimiser steps
    best        best validation mIoU so far
    history     one metrics dict per completed epoch (what metrics.jsonl holds)
    torch_rng   torch's CPU generator state (uint8 tensor)
    scaler      the GradScaler's state_dict under "16-mixed" (scale, growth tracker; {} for
                other precisions; absent in older files, whose resume starts a fresh scale)
    shot_rng    {module name: generator state (uint8 tensor)} of every quantum module that
                draws shots (``shot_generators``), beside the model and not in its state_dict
                (ideal and noisy models share one); absent in older files, whose resume
                draws from freshly seeded generators. Rank 0's: with several processes every
                rank resumes from rank 0's states (the same draws only where the ranks'
                generators were in step)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import CheckpointError

FORMAT = "hq-qiskit-checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Save ``state`` (see the module docstring) atomically to ``path``."""
    payload = {"format": FORMAT, "version": VERSION, **state}
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint on the CPU; ``CheckpointError`` naming the file if it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: checkpoint not found; train first (hq-qiskit train) or give the run folder"
            " that holds it"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        other = {"best.pt": "last.pt", "last.pt": "best.pt"}.get(path.name)
        fix = (
            f"use the run's {other} instead (--checkpoint {other} for evaluate, predict and "
            f"run; to resume from it, copy it over {path.name})"
            if other and (path.parent / other).is_file()
            else "retrain"
        )
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(err).__name__}); the file is damaged or "
            f"truncated: {fix}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an hq-qiskit checkpoint (no '{FORMAT}' marker)")
    if state.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: checkpoint version {state.get('version')} is not supported by this "
            f"hq-qiskit (reads versions {READABLE_VERSIONS}); use the hq-qiskit release that "
            "wrote it"
        )
    for key in ("config", "model"):
        if key not in state:
            raise CheckpointError(f"{path}: checkpoint has no '{key}' entry; retrain")
    if state["version"] == 1:
        state["model"] = upgrade_v1_weights(state["model"])
    return state


def upgrade_v1_weights(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Version 1 -> 2: quantum modules keep one key, ``<module>.weight``, whatever runs them.

    Version 1 stored a noise-mode block as ``<m>.inner.weight`` plus calibration buffers
    ``<m>.damping`` / ``<m>.offset`` (now rebuilt from the backend entry, not stored), and a
    stock-engine block as ``<m>.connector.weight``.
    """
    out = {}
    for key, value in weights.items():
        if key.endswith((".damping", ".offset")) and key.rsplit(".", 1)[0] + ".inner.weight" in (
            weights
        ):
            continue
        for old in (".inner.weight", ".connector.weight"):
            if key.endswith(old):
                key = key[: -len(old)] + ".weight"
        out[key] = value
    return out


def shot_generators(model: nn.Module) -> dict[str, torch.Generator]:
    """The generators that a model's quantum modules draw their shots from, by module name
    (``model.named_modules()``); {} for a model without any."""
    return {
        name: module.generator
        for name, module in model.named_modules()
        if isinstance(getattr(module, "generator", None), torch.Generator)
    }


def restore_shot_generators(model: nn.Module, saved: dict[str, torch.Tensor]) -> None:
    """Put the saved states (a checkpoint's ``shot_rng``) back into the model's generators, so
    a resumed run draws the shots that an uninterrupted one draws.

    Raises:
        CheckpointError: the checkpoint saved a generator the model does not have.
    """
    generators = shot_generators(model)
    for name, state in saved.items():
        if name not in generators:
            raise CheckpointError(
                f"checkpoint: shot_rng names a module '{name}' that this model has no shot "
                f"generator in (it has {sorted(generators)}); resume with the run's own config"
            )
        generators[name].set_state(state)
