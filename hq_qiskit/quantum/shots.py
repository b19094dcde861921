"""Shot noise on exact Pauli-term values, the same for the ideal and the noisy engine.

A Pauli term measured N times reads ``2 * k / N - 1`` with k ~ Binomial(N, (1 + v) / 2), v its
exact expectation value. Each term is drawn on its own from the module's seeded generator (the
schedule in which every term has its own measurement setting and N shots); the gradient is that
of v (straight-through), the gradient of the estimator's mean.
"""

from __future__ import annotations

import torch
from torch import Tensor


def sample_terms(values: Tensor, shots: int, generator: torch.Generator) -> Tensor:
    """Shot estimates of Pauli terms with straight-through gradients.

    Args:
        values: (B, T) exact expectation values in [-1, 1].
        shots: measurements per term, >= 1.
        generator: a CPU generator; the draws advance it.

    Returns:
        (B, T): ``2 * k / shots - 1`` with k ~ Binomial(shots, (1 + v) / 2), carrying the
        gradient of ``values``.
    """
    p = ((1 + values.detach().double().cpu()) / 2).clamp(0.0, 1.0)
    k = torch.binomial(torch.full_like(p, float(shots)), p, generator=generator)
    sampled = (2 * k / shots - 1).to(dtype=values.dtype, device=values.device)
    return values + (sampled - values).detach()
