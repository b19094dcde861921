"""HQFNet end to end at tiny size: shapes, ablation switches, gradients, checkpoints, Aer."""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.errors import ConfigError
from hq_qiskit.models.hqf_net import HQFNet
from hq_qiskit.models.hqf_net.backbone import HUB_ID
from hq_qiskit.training.engine_check import engine_vs_aer

MEAN, STD = (110.0, 120.0, 90.0), (50.0, 40.0, 45.0)  # loader statistics, 0..255 units
TINY_NET = {
    "patch_px": 32,
    "widths": (4, 8, 8, 16, 16),
    "dmcaf_dim": 16,
    "dmcaf_heads": 2,
    "dmcaf_points": 2,
}


@pytest.fixture(scope="module")
def net(tiny_vit_dir) -> HQFNet:
    torch.manual_seed(0)
    return HQFNet(backbone=tiny_vit_dir, input_mean=MEAN, input_std=STD, **TINY_NET)


def test_full_model_shapes_and_quantum_blocks(net):
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == (2, 5, 32, 32)
    names = [block.name for block, _ in net.quantum_blocks()]
    assert names == ["enrichment_qcnn"] * 5 + ["expert_local", "expert_global", "expert_diagonal"]
    assert net.aux_loss() == 0


def test_backbone_sees_rgb_in_unit_range(net):
    rgb = torch.rand(1, 3, 32, 32)
    normalised = (rgb * 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(
        1, 3, 1, 1
    )
    for ours, direct in zip(net.backbone_features(normalised), net.backbone(rgb), strict=True):
        torch.testing.assert_close(ours, direct, rtol=1e-4, atol=1e-4)


def test_every_trainable_parameter_learns(net):
    """Step 1 moves DMCAF's zero-initialised gate and FiLM, step 2 its attention, step 3 its
    queries; from then on every classical and quantum parameter has a non-zero gradient."""
    torch.manual_seed(1)
    model = HQFNet(backbone=net.backbone, input_mean=MEAN, input_std=STD, **TINY_NET)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    x, y = torch.randn(2, 3, 32, 32), torch.randint(0, 5, (2, 32, 32))
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    dead = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
    ]
    assert dead == []
    quantum = {id(m.weight) for m in model.quantum_modules()}
    assert len(quantum) == 8
    assert not any(p.requires_grad for p in model.backbone.parameters())


def test_state_dict_leaves_out_the_backbone_and_rebuilds_from_its_path(net, tiny_vit_dir):
    state = net.state_dict()
    assert not any("backbone" in k for k in state)
    assert len(state) > 100
    torch.manual_seed(5)
    fresh = HQFNet(backbone=tiny_vit_dir, input_mean=MEAN, input_std=STD, **TINY_NET)
    fresh.load_state_dict(state)  # strict: only the frozen backbone may be absent
    x = torch.randn(1, 3, 32, 32)
    net.eval(), fresh.eval()
    torch.testing.assert_close(fresh(x), net(x))
    with pytest.raises(RuntimeError, match="Missing key"):
        fresh.load_state_dict({k: v for k, v in state.items() if not k.startswith("decoder.")})


@pytest.mark.parametrize(
    ("switch", "n_blocks"), [("use_dmcaf", 8), ("use_qskip", 4), ("use_qmoe", 4)]
)
def test_each_ablation_removes_its_component(net, switch, n_blocks):
    variant = HQFNet(
        backbone=net.backbone, input_mean=MEAN, input_std=STD, **TINY_NET, **{switch: False}
    )
    assert len(variant.quantum_blocks()) == n_blocks
    assert variant(torch.randn(1, 3, 32, 32)).shape == (1, 5, 32, 32)
    trainable = sum(p.numel() for p in variant.parameters() if p.requires_grad)
    assert trainable < sum(p.numel() for p in net.parameters() if p.requires_grad)
    if switch == "use_dmcaf":
        assert variant.backbone is None and variant.dmcaf is None


def test_without_dmcaf_no_backbone_is_needed():
    model = HQFNet(use_dmcaf=False, use_qskip=False, use_qmoe=False, **TINY_NET)
    assert model.quantum_blocks() == []
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 5, 32, 32)


def test_feature_cache_gives_the_same_logits(net, tiny_vit_dir, tmp_path):
    options = {
        "input_mean": MEAN,
        "input_std": STD,
        "use_qskip": False,
        "use_qmoe": False,
        **TINY_NET,
    }
    plain = HQFNet(backbone=net.backbone, **options).eval()
    cached = HQFNet(backbone=tiny_vit_dir, feature_cache=tmp_path, **options).eval()
    cached.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    first, second = cached(x), cached(x)
    assert (cached.backbone.cache.misses, cached.backbone.cache.hits) == (2, 2)
    torch.testing.assert_close(first, plain(x))
    assert torch.equal(first, second)


def test_user_errors_name_the_fix(tiny_vit_dir):
    with pytest.raises(ConfigError, match=f"{HUB_ID}.*--no-dmcaf"):
        HQFNet(**TINY_NET)
    with pytest.raises(ConfigError, match="needs the statistics the loader normalised with"):
        HQFNet(backbone=tiny_vit_dir, **TINY_NET)
    with pytest.raises(ConfigError, match="4 bands; use RGB data or --no-dmcaf"):
        HQFNet(
            in_channels=4,
            backbone=tiny_vit_dir,
            input_mean=(0,) * 4,
            input_std=(1,) * 4,
            **TINY_NET,
        )
    with pytest.raises(ConfigError, match="multiple of 16"):
        HQFNet(**{**TINY_NET, "patch_px": 40}, use_dmcaf=False)
    with pytest.raises(ConfigError, match="5 positive channel counts"):
        HQFNet(**{**TINY_NET, "widths": (4, 8)}, use_dmcaf=False)


def test_quantum_blocks_match_exact_aer(net):
    """The training loop's check: every circuit's outputs recomputed by Aer from its inputs."""
    assert engine_vs_aer(net, torch.randn(2, 3, 32, 32)) < 1e-4


def test_qubit_grid_sizes_every_qcnn_and_trains():
    """--qubit-grid 3x5: QSkips and QMoE's QCNN on 15 qubits; the experts keep 16."""
    torch.manual_seed(3)
    model = HQFNet(use_dmcaf=False, qubit_grid=[3, 5], **TINY_NET)  # a list, as from JSON
    assert model.qubit_grid == (3, 5)
    blocks = model.quantum_blocks()
    qcnns = [b for b, _ in blocks if b.name == "enrichment_qcnn"]
    experts = [b for b, _ in blocks if b.name.startswith("expert_")]
    assert len(qcnns) == 5 and len(experts) == 3
    assert all((b.circuit.num_qubits, b.n_inputs, b.n_outputs) == (15, 45, 30) for b in qcnns)
    assert all((b.circuit.num_qubits, b.n_inputs) == (16, 32) for b in experts)
    assert model.qskips[0].post_q.in_features == 30 and model.qmoe.gate[0].in_features == 30
    model(torch.randn(2, 3, 32, 32)).square().mean().backward()
    for _, module in blocks:
        assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0
    default = HQFNet(use_dmcaf=False, **TINY_NET)
    assert default.qubit_grid == (4, 4) and default.qskips[0].post_q.in_features == 32
    with pytest.raises(ConfigError, match="qubit_grid must be two positive integers"):
        HQFNet(use_dmcaf=False, qubit_grid=(4, 0), **TINY_NET)


def test_qubit_grid_flag_reaches_hqf_net():
    from hq_qiskit.cli.model_flags import declared_options, model_options_from

    assert model_options_from("hqf-net", {"qubit_grid": "2x3"}) == {"qubit_grid": [2, 3]}
    opt, models = declared_options()["qubit_grid"]
    assert set(models) >= {"hq-unet", "hqf-net"} and opt.cli_flag == "--qubit-grid"
    with pytest.raises(ConfigError, match="--qubit-grid '8'"):
        model_options_from("hqf-net", {"qubit_grid": "8"})
