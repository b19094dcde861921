"""QSkip: out = x + x * a through the real enrichment QCNN (fast engine), gradients."""

from __future__ import annotations

import torch

from hq_qiskit.models.hqf_net import QSkip


def test_shape_and_gate_formula():
    torch.manual_seed(0)
    skip = QSkip(channels=8)
    x = torch.rand(2, 8, 6, 6)
    out = skip(x)
    assert out.shape == x.shape
    a = skip.post_q(skip.qcnn(skip.pre_q(x)))  # (B, C): one gate per sample and channel
    torch.testing.assert_close(out, x * (1 + a[:, :, None, None]))
    with torch.no_grad():
        skip.post_q.weight.zero_()
        skip.post_q.bias.zero_()
    assert torch.equal(skip(x), x)  # a = 0: a plain skip


def test_circuit_outputs_are_expectation_values_of_the_block():
    skip = QSkip(channels=4)
    assert (skip.block.n_inputs, skip.block.n_outputs) == (48, 32)
    assert tuple(skip.qcnn.weight.shape) == (skip.block.n_weights,)
    z = skip.qcnn(skip.pre_q(torch.rand(3, 4, 5, 5)))
    assert z.shape == (3, 32) and z.abs().max() <= 1 + 1e-6


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(1)
    skip = QSkip(channels=8)
    x = torch.rand(2, 8, 6, 6, requires_grad=True)
    skip(x).square().mean().backward()
    assert x.grad.abs().sum() > 0
    for name, p in skip.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
