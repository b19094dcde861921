"""Segmentation networks and their layers.

    layers.py    DSConv, DoubleConv, Down, Up, PreQ (feature map -> 48), PostQ (32 -> map),
                 ClassicalQ (the classical stand-in for a quantum block)
    hq_unet.py   HQUNet: DS-conv U-Net with the enrichment QCNN (or ClassicalQ) at the bottleneck

``MODELS`` maps a model's name (``--model``) to its constructor; ``build_model`` looks a name up
and passes only the options the constructor accepts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from hq_qiskit.errors import ConfigError
from hq_qiskit.models.hq_unet import HQUNet
from hq_qiskit.models.hqf_net import HQFNet

MODELS: dict[str, Callable[..., nn.Module]] = {
    "hq-unet": HQUNet,
    "hqf-net": HQFNet,
}


def model_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Keep the entries of ``options`` that model ``name``'s constructor accepts and that are set.

    ``None`` means "not given": the constructor's own default applies.
    """
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    accepted = inspect.signature(MODELS[name]).parameters
    return {k: v for k, v in options.items() if k in accepted and v is not None}


def build_model(name: str, options: dict[str, Any]) -> nn.Module:
    """``MODELS[name](**options)``, with a clear error for an unknown name."""
    accepted = model_options(name, options)  # checks the name first
    return MODELS[name](**accepted)


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Trainable parameters split into {"classical": n, "quantum": n}.

    Quantum parameters are those of ``model.quantum_modules()`` (the circuits' angles).
    """
    quantum_modules = getattr(model, "quantum_modules", list)()
    quantum_ids = {id(p) for m in quantum_modules for p in m.parameters() if p.requires_grad}
    total = {id(p): p.numel() for p in model.parameters() if p.requires_grad}
    quantum = sum(n for i, n in total.items() if i in quantum_ids)
    return {"classical": sum(total.values()) - quantum, "quantum": quantum}


__all__ = ["MODELS", "HQUNet", "build_model", "model_options", "parameter_counts"]
