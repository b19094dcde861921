"""QMoE: dense softmax routing over three expert circuits, output shape, gradients, balance."""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.models.hqf_net import EXPERTS, QMoE
from hq_qiskit.models.hqf_net.qmoe import balance_loss


@pytest.fixture(scope="module")
def moe() -> QMoE:
    torch.manual_seed(0)
    return QMoE(channels=16, out_grid=2)


def test_output_is_the_gated_mixture_mapped_back_to_the_map(moe):
    x = torch.rand(3, 16, 5, 5)
    out = moe(x)
    assert out.shape == x.shape
    g = moe.last_gates
    assert g.shape == (3, 3) and torch.allclose(g.sum(-1), torch.ones(3))
    f_q = moe.qcnn(moe.pre_q(x))
    mixed = sum(g[:, k : k + 1] * moe.experts[name](f_q) for k, name in enumerate(EXPERTS))
    y = moe.post_q(mixed).view(3, 16, 2, 2)
    torch.testing.assert_close(
        out, torch.nn.functional.interpolate(y, size=(5, 5), mode="bilinear", align_corners=False)
    )


def test_three_different_expert_circuits(moe):
    assert list(moe.experts) == list(EXPERTS)
    f_q = torch.rand(2, 32) * 2 - 1
    outs = [moe.experts[n](f_q) for n in EXPERTS]
    assert all(o.shape == (2, 32) for o in outs)
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])


def test_every_parameter_gets_a_gradient(moe):
    moe.zero_grad()
    x = torch.rand(2, 16, 4, 4, requires_grad=True)
    moe(x).square().mean().backward()
    assert x.grad.abs().sum() > 0
    for name, p in moe.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_balance_loss_is_off_by_default_and_trains_the_gate_when_on(moe):
    assert balance_loss(torch.full((4, 3), 1 / 3)) == 0
    assert balance_loss(torch.tensor([[1.0, 0.0, 0.0]] * 4)) > 1
    x = torch.rand(2, 16, 3, 3)
    moe(x)
    assert moe.balance_weight == 0 and moe.balance_loss == 0
    moe.zero_grad()
    moe.balance_weight = 0.5
    try:
        moe(x)
        torch.testing.assert_close(moe.balance_loss, 0.5 * balance_loss(moe.last_gates))
        moe.balance_loss.backward()
    finally:
        moe.balance_weight = 0.0
    assert moe.gate[0].weight.grad.abs().sum() > 0


def test_on_another_qubit_grid_the_experts_read_the_maps_pooled_to_4x4():
    torch.manual_seed(4)
    moe = QMoE(channels=8, out_grid=2, qubit_grid=(8, 8))
    assert moe.block.circuit.num_qubits == 64 and moe.gate[0].in_features == 128
    f_q = torch.rand(2, 128) * 2 - 1  # Z0..Z63 then X0..X63, q = 8 * row + col
    u = moe.expert_inputs(f_q)
    assert u.shape == (2, 32)
    z = f_q[:, :64].view(2, 8, 8)
    # expert input 4 * r + c is the mean of the 2x2 cells (2r..2r+1, 2c..2c+1)
    torch.testing.assert_close(u[:, 4 * 1 + 2], z[:, 2:4, 4:6].mean(dim=(1, 2)))
    torch.testing.assert_close(u[:, 16 + 0], f_q[:, 64:].view(2, 8, 8)[:, :2, :2].mean((1, 2)))
    x = torch.rand(2, 8, 4, 4, requires_grad=True)
    moe(x).square().mean().backward()
    assert x.grad.abs().sum() > 0 and moe.qcnn.weight.grad.abs().sum() > 0
    assert torch.equal(QMoE(channels=8).expert_inputs(f_q[:, :32]), f_q[:, :32])
