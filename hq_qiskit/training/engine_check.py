"""Check a model's quantum blocks against exact Aer on real inputs.

The model runs on a few real patches; a forward hook records what each quantum module received
(B, n_in) and returned (B, n_obs); Aer's ``EstimatorV2`` (exact, one PUB) recomputes the same
expectation values from the circuit object. The largest absolute difference is the number a
run writes to its metrics as ``engine_vs_aer_max_abs``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from hq_qiskit.models import HybridSegmenter
from hq_qiskit.quantum.qiskit_engine import reference_expectations


def _as_dicts(observables) -> list[dict[str, float]]:
    """SparsePauliOps as {pauli label: real coefficient} dicts, which Aer accepts as observables.

    ``np.array([...SparsePauliOp...], dtype=object)`` treats each operator as a sequence and
    densifies it (2**16 x 2**16 complex for 16 qubits: tens of GB); dicts pass through intact.
    """
    return [{label: float(c.real) for label, c in op.to_list()} for op in observables]


@torch.no_grad()
def engine_vs_aer(model: HybridSegmenter, images: Tensor) -> float | None:
    """Max |engine - Aer| over every quantum block's outputs for ``images`` (B, C, P, P).

    Returns None for a model without quantum blocks (``model.quantum_blocks()`` empty). The
    model is run in eval mode; its training mode is restored afterwards.
    """
    blocks = model.quantum_blocks()
    if not blocks:
        return None
    seen: list[tuple[Tensor, Tensor]] = [None] * len(blocks)  # type: ignore[list-item]

    def recorder(i: int):
        def hook(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
            seen[i] = (args[0].detach().cpu(), out.detach().cpu())

        return hook

    handles = [m.register_forward_hook(recorder(i)) for i, (_, m) in enumerate(blocks)]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        model(images.to(device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    worst = 0.0
    for (block, module), (x, y) in zip(blocks, seen, strict=True):
        x = x.reshape(-1, block.n_inputs).double().numpy()  # (B', n_in)
        w = module.weight.detach().cpu().double().numpy()  # (n_w,) radians
        ref = reference_expectations(
            block.circuit, block.inputs, block.weights, _as_dicts(block.observables), x, w
        )  # (B', n_obs)
        dev = np.abs(y.reshape(ref.shape).double().numpy() - ref).max()
        worst = max(worst, float(dev))
    return worst
