"""Checkpoints: written atomically (temp file in the same folder + ``os.replace``), read back
with one clear error when the file is missing, truncated or not an hq-qiskit checkpoint.

A checkpoint is a dict saved with ``torch.save``:

    format      "hq-qiskit-checkpoint"
    version     1
    config      the run's resolved config (JSON types), enough to rebuild the model
    model       the model's state_dict
    optimizer   the optimiser's state_dict (absent in weights-only exports)
    epoch       completed epochs
    step        completed optimiser steps
    best        best validation mIoU so far
    history     one metrics dict per completed epoch (what metrics.jsonl holds)
    torch_rng   torch's CPU generator state (uint8 tensor)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import CheckpointError

FORMAT = "hq-qiskit-checkpoint"
VERSION = 1


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
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(err).__name__}); the file is damaged or "
            "truncated: use the run's other checkpoint (best.pt / last.pt) or retrain"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an hq-qiskit checkpoint (no '{FORMAT}' marker)")
    if state.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {state.get('version')} is not supported by this "
            f"hq-qiskit (reads version {VERSION}); use the hq-qiskit release that wrote it"
        )
    for key in ("config", "model"):
        if key not in state:
            raise CheckpointError(f"{path}: checkpoint has no '{key}' entry; retrain")
    return state


def load_model(path: Path, **overrides: Any) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint was trained as, with its weights, in eval mode.

    Args:
        path: a ``.pt`` file written by ``save_checkpoint``.
        overrides: model options to change, e.g. ``engine="qiskit"``.

    The quantum blocks run on the config's backend (ideal Aer: the engine as built; a noisy
    Aer backend: wrapped by ``hq_qiskit.quantum.noise.noisy_module`` as in training).

    Returns:
        (model, config): config is the run's resolved config stored in the checkpoint.
    """
    from hq_qiskit.hardware.backends import get_backend
    from hq_qiskit.models import build_model
    from hq_qiskit.training.runner import apply_backend

    state = load_checkpoint(path)
    config = state["config"]
    options = {**config.get("model_options", {}), **overrides}
    model = build_model(config["model"], options)
    if config.get("backend"):  # a noisy backend wraps the quantum blocks, as in training
        model = apply_backend(model, get_backend(config["backend"]))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(
            f"{path}: weights do not fit model {config['model']!r} with options {options} "
            f"({first}); the config and the weights come from different runs"
        ) from None
    return model.eval(), config
