"""Segmentation networks and their layers.

    base.py      HybridSegmenter (the interface every model declares) and ModelOption
    layers.py    DSConv, DoubleConv, Down, Up, PreQ (feature map -> 48), PostQ (32 -> map),
                 ClassicalQ (the classical stand-in for a quantum block)
    cores.py     CosSinSurrogate, SharedMLP: classical cores matched to the circuit's 8 angles
    designs.py   kept_skips (--skips), DecoderGate (--design gated): the block made load-bearing
    hq_unet.py   HQUNet: DS-conv U-Net with the enrichment QCNN (or a matched core) at the
                 bottleneck
    hqf_net/     HQFNet: DINOv3 guidance (DMCAF), QSkip gates, QMoE bottleneck

``MODELS`` maps a model's name (``--model``) to its class; ``build_model`` looks a name up and
refuses options the model does not take.
"""

from __future__ import annotations

import inspect
from typing import Any

from hq_qiskit.errors import ConfigError
from hq_qiskit.models.base import HybridSegmenter, ModelOption
from hq_qiskit.models.hq_unet import HQUNet
from hq_qiskit.models.hqf_net import HQFNet

MODELS: dict[str, type[HybridSegmenter]] = {cls.name: cls for cls in (HQUNet, HQFNet)}


def get_model_class(name: str) -> type[HybridSegmenter]:
    """``MODELS[name]``, with the valid names in the error."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(sorted(MODELS))}")
    return MODELS[name]


def model_defaults(name: str) -> dict[str, Any]:
    """The constructor's keyword defaults of model ``name`` (what an unset option becomes)."""
    params = inspect.signature(get_model_class(name)).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def resolve_options(name: str, given: dict[str, Any]) -> dict[str, Any]:
    """The full constructor options of model ``name``: ``given`` (None = unset) over defaults.

    Raises:
        ConfigError: an option the constructor does not take, named with the accepted ones.
    """
    defaults = model_defaults(name)
    set_ = {k: v for k, v in given.items() if v is not None}
    unknown = sorted(set(set_) - set(defaults))
    if unknown:
        raise ConfigError(
            f"model {name!r} takes no option {', '.join(unknown)}; it takes: "
            f"{', '.join(sorted(defaults))}"
        )
    return {**defaults, **set_}


def build_model(name: str, options: dict[str, Any]) -> HybridSegmenter:
    """``MODELS[name](**options)``; unknown names and options are a ``ConfigError``."""
    return get_model_class(name)(**resolve_options(name, options))


__all__ = [
    "MODELS",
    "HQFNet",
    "HQUNet",
    "HybridSegmenter",
    "ModelOption",
    "build_model",
    "get_model_class",
    "model_defaults",
    "resolve_options",
]
