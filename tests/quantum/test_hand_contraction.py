"""bench/hand_contraction.py, the enrichment QCNN's yardstick, computes the block's values.

Issue 24 measures the fast engine against "the hand contraction", a formula written for the
enrichment QCNN alone; a yardstick that computed something else would make the ratio
meaningless. In float64 its values and input/weight gradients must equal the fast engine's
(itself tested against Statevector) to 1e-10 on grids of several shapes.
"""

from __future__ import annotations

import pytest
import torch

from bench.hand_contraction import HandContraction
from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.quantum import connect_block


@pytest.mark.parametrize(("rows", "cols"), [(4, 4), (3, 5), (2, 3)])
def test_hand_contraction_equals_the_fast_engine(rows: int, cols: int) -> None:
    block = enrichment_qcnn(rows=rows, cols=cols)
    fast = connect_block(block).double()
    with torch.no_grad():
        fast.weight.uniform_(-3.0, 3.0, generator=torch.Generator().manual_seed(rows * cols))
    hand = HandContraction(fast.weight, rows=rows, cols=cols).double()
    x = torch.rand(
        6, block.n_inputs, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    grads = []
    for module in (fast, hand):
        xi = (2 * x - 1).requires_grad_(True)
        y = module(xi)
        (y * torch.linspace(-1, 1, y.shape[1], dtype=torch.float64)).sum().backward()
        grads.append((y.detach(), xi.grad, module.weight.grad))
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
