"""How strongly the loss's gradient reaches a model's circuit angles, against its classical
layers: the ratio of root-mean-square gradients per parameter.

    ratio = sqrt(sum ||g_angles||^2 / n_angles) / sqrt(sum ||g_classical||^2 / n_classical)

summed over the optimiser steps of an epoch (``fit`` logs it per epoch in metrics.jsonl as
``grad_ratio_quantum_classical``) or over one batch (``hq-qiskit diagnose``). A ratio of 0.004
says an angle's gradient is about 250 times smaller than a classical weight's. Loss scaling
("16-mixed") multiplies both alike and leaves the ratio unchanged within a step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn


def rms_split(params: Iterable[nn.Parameter], quantum: Iterable[nn.Parameter]) -> tuple:
    """(quantum, classical): the trainable parameters split by identity."""
    ids = {id(p) for p in quantum}
    params = [p for p in params if p.requires_grad]
    return [p for p in params if id(p) in ids], [p for p in params if id(p) not in ids]


def squared_norm(params: list[nn.Parameter]) -> Tensor | None:
    """Sum of squared gradients of ``params`` (a 0-d tensor), None if none has a gradient."""
    grads = [p.grad.detach().float().pow(2).sum() for p in params if p.grad is not None]
    return torch.stack(grads).sum() if grads else None


class GradRatio:
    """Accumulates the squared gradient norms of the angles and of the classical parameters.

    Args:
        model: the network (its trainable parameters).
        quantum: the angles; default: the parameters of ``model.quantum_modules()``.
    """

    def __init__(self, model: nn.Module, quantum: Iterable[nn.Parameter] | None = None) -> None:
        if quantum is None:
            modules = getattr(model, "quantum_modules", list)()
            quantum = [p for m in modules for p in m.parameters()]
        self.quantum, self.classical = rms_split(model.parameters(), quantum)
        self.reset()

    @property
    def active(self) -> bool:
        """Whether there are trainable angles and classical parameters to compare."""
        return bool(self.quantum) and bool(self.classical)

    def reset(self) -> None:
        self._q: Tensor | float = 0.0
        self._c: Tensor | float = 0.0

    def update(self) -> None:
        """Add the gradients now in ``.grad`` (call after ``backward``); no host sync."""
        if not self.active:
            return
        q, c = squared_norm(self.quantum), squared_norm(self.classical)
        if q is not None and c is not None:
            self._q, self._c = self._q + q, self._c + c

    def value(self) -> float | None:
        """The RMS ratio (angles / classical) of what was added; None without angles or steps."""
        if not self.active or not isinstance(self._c, Tensor) or float(self._c) == 0:
            return None
        n_q = sum(p.numel() for p in self.quantum)
        n_c = sum(p.numel() for p in self.classical)
        return float(torch.sqrt((self._q / n_q) / (self._c / n_c)))
