"""DMCAF: sampling geometry of the deformable attention, identity start, gradients."""

from __future__ import annotations

import torch

from hq_qiskit.models.hqf_net import DMCAF, DeformableCrossAttention


def single_point(dim: int = 4) -> DeformableCrossAttention:
    """One head, one point, identity output projection: ctx = V sampled at ref + offset."""
    att = DeformableCrossAttention(dim=dim, heads=1, points=1)
    with torch.no_grad():
        att.offsets.bias.zero_()
        att.out.weight.copy_(torch.eye(dim).view(dim, dim, 1, 1))
        att.out.bias.zero_()
    return att


def test_zero_offsets_read_the_value_under_each_query():
    att = single_point()
    value = torch.rand(2, 4, 5, 7)
    out = att(torch.rand(2, 4, 5, 7), value)
    torch.testing.assert_close(out, value, rtol=1e-5, atol=1e-6)


def test_offsets_are_in_value_cells_and_move_the_sample():
    att = single_point()
    with torch.no_grad():
        att.offsets.bias.copy_(torch.tensor([1.0, 0.0]))  # one cell to the right (x, y)
    value = torch.rand(1, 4, 5, 7)
    out = att(torch.rand(1, 4, 5, 7), value)
    shifted = torch.zeros_like(value)
    shifted[..., :-1] = value[..., 1:]  # zero padding past the right edge
    torch.testing.assert_close(out, shifted, rtol=1e-5, atol=1e-6)


def test_paper_defaults_shapes_and_identity_start():
    fuse = DMCAF(channels=64, vit_width=32, dim=32, heads=8, points=4)
    u, d = torch.rand(2, 64, 56, 56), torch.rand(2, 32, 14, 14)
    out = fuse(u, d)
    assert out.shape == u.shape
    assert torch.equal(out, u)  # alpha = 0 and zero FiLM convs: identity at initialisation
    assert torch.count_nonzero(fuse.alpha) == 0


def grads_after_steps(module: torch.nn.Module, inputs: tuple, steps: int) -> dict:
    """Run ``steps`` SGD steps on a squared-output loss; return the last step's gradients."""
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        module(*inputs).square().mean().backward()
        grads = {
            n: p.grad.clone() if p.grad is not None else None for n, p in module.named_parameters()
        }
        opt.step()
    return grads


def test_context_enters_without_identity_init():
    torch.manual_seed(0)
    fuse = DMCAF(
        channels=8,
        vit_width=6,
        dim=8,
        heads=2,
        points=3,
        gate_init=0.1,
        identity_init=False,
        query_grid=3,
    )
    u, d = torch.rand(2, 8, 12, 12), torch.rand(2, 6, 6, 6)
    out = fuse(u, d)
    assert not torch.allclose(out, u)
    assert not torch.allclose(out, fuse(u, torch.rand(2, 6, 6, 6)))  # depends on the DINOv3 map


def test_every_parameter_learns_from_the_third_step():
    """Zero starts (gate, FiLM convs, offset and weight predictors) delay some gradients: the
    first step moves the gate and FiLM, the second the attention, the third the queries."""
    torch.manual_seed(0)
    fuse = DMCAF(channels=8, vit_width=6, dim=8, heads=2, points=3)
    inputs = (torch.rand(2, 8, 12, 12), torch.rand(2, 6, 6, 6))
    first = grads_after_steps(fuse, inputs, 1)
    assert first["alpha"].abs().sum() > 0 and first["project.weight"].abs().sum() == 0
    for name, grad in grads_after_steps(fuse, inputs, 2).items():
        assert grad is not None and grad.abs().sum() > 0, name
