"""HQ-UNet and its classical twin: shapes, the pre-Q layout, gradients everywhere, registry."""

from __future__ import annotations

import copy
import pickle
import re

import pytest
import torch

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.models import MODELS, build_model, resolve_options
from hq_qiskit.models.hq_unet import BOTTLENECKS, HQUNet
from hq_qiskit.models.layers import PreQ

TINY = {"width": 4, "depth": 2, "patch_px": 32}


@pytest.fixture(scope="module")
def quantum_model() -> HQUNet:
    torch.manual_seed(0)
    return HQUNet(**TINY, bottleneck="quantum", engine="fast")


def test_shapes_and_parameter_counts(quantum_model):
    torch.manual_seed(0)
    twin = HQUNet(**TINY, bottleneck="classical")
    x = torch.randn(2, 3, 32, 32)
    assert quantum_model(x).shape == (2, 5, 32, 32)
    assert twin(x).shape == (2, 5, 32, 32)
    q, c = quantum_model.parameter_counts(), twin.parameter_counts()
    assert q["quantum"] == 8  # F_R and F_C: four angles each
    assert c["quantum"] == 0
    # the twin's core is Linear 48 -> 32: 48 * 32 + 32 parameters, the rest is shared
    assert c["classical"] - q["classical"] == 48 * 32 + 32


def test_twin_differs_only_in_the_core(quantum_model):
    twin = HQUNet(**TINY, bottleneck="classical")
    a = {
        k: v.shape
        for k, v in quantum_model.state_dict().items()
        if not k.startswith("bottleneck.core.")
    }
    b = {k: v.shape for k, v in twin.state_dict().items() if not k.startswith("bottleneck.core.")}
    assert a == b


@pytest.mark.parametrize("bottleneck", BOTTLENECKS)
def test_every_trainable_parameter_gets_a_gradient(bottleneck):
    torch.manual_seed(1)
    model = HQUNet(**TINY, bottleneck=bottleneck)
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 5, (4, 32, 32))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    dead = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert dead == []
    if bottleneck == "quantum":  # the encoder sees the circuit's input gradient
        assert model.bottleneck.core.weight.grad.abs().sum() > 0
        assert model.bottleneck.pre_q.conv.weight.grad.abs().sum() > 0


def test_pre_q_layout_matches_the_circuit_inputs():
    pre = PreQ(3)
    with torch.no_grad():
        pre.conv.weight.copy_(torch.eye(3)[:, :, None, None])
        pre.conv.bias.zero_()
    grid = torch.arange(48, dtype=torch.float32).view(1, 3, 4, 4) / 100  # channel, row, col
    out = pre(grid)
    # column c * 16 + q holds channel c of cell q = 4 * row + col
    assert out.shape == (1, 48)
    assert torch.allclose(out[0, 2 * 16 + 4 * 1 + 3], torch.tanh(grid[0, 2, 1, 3]))


def test_bad_sizes_are_refused(quantum_model):
    with pytest.raises(ConfigError, match="not divisible"):
        HQUNet(width=4, depth=4, patch_px=40, bottleneck="classical")
    with pytest.raises(ValueError, match="32x32"):
        quantum_model(torch.randn(1, 3, 64, 64))


def test_registry_builds_by_name_and_refuses_foreign_options():
    assert MODELS["hq-unet"] is HQUNet
    model = build_model("hq-unet", {**TINY, "bottleneck": "classical", "qcnn_layers": None})
    assert isinstance(model, HQUNet) and model.bottleneck.block is None
    full = resolve_options("hq-unet", {"width": 4, "depth": None})
    assert full["width"] == 4 and full["depth"] == 4  # None: the constructor's default
    with pytest.raises(ConfigError, match=r"takes no option nope; it takes: .*width"):
        build_model("hq-unet", {**TINY, "nope": 3})
    with pytest.raises(ConfigError, match="choose one of hq-unet, hqf-net"):
        build_model("no-such-net", {})


def test_double_runs_the_whole_network_in_float64(quantum_model):
    model = copy.deepcopy(quantum_model).eval().double()
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    out = model(x)
    assert out.dtype == torch.float64
    assert model.bottleneck.core.weight.dtype == torch.float64
    single = copy.deepcopy(quantum_model).eval()
    torch.testing.assert_close(out.float(), single(x.float()), atol=1e-4, rtol=1e-4)


def test_state_dict_deepcopy_and_pickle_round_trips(quantum_model):
    model = quantum_model.eval()
    x = torch.randn(2, 3, 32, 32)
    want = model(x)
    torch.manual_seed(9)
    fresh = HQUNet(**TINY, bottleneck="quantum").eval()
    fresh.load_state_dict(model.state_dict())
    torch.testing.assert_close(fresh(x), want)
    torch.testing.assert_close(copy.deepcopy(model)(x), want)
    torch.testing.assert_close(pickle.loads(pickle.dumps(model))(x), want)


def test_half_precision_names_the_quantum_block(quantum_model):
    model = copy.deepcopy(quantum_model).eval().half()
    with pytest.raises(ConfigError, match="float32 or float64"):
        model(torch.randn(1, 3, 32, 32, dtype=torch.float16))


@pytest.mark.parametrize("bottleneck", ["quantum", "classical"])
def test_qubit_grid_sizes_the_bottleneck(bottleneck):
    torch.manual_seed(2)
    model = HQUNet(**TINY, bottleneck=bottleneck, qubit_grid=[3, 5])  # a list, as from JSON
    assert model.qubit_grid == (3, 5)
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 5, 32, 32)
    assert model.bottleneck.pre_q(torch.randn(2, 16, 8, 8)).shape == (2, 45)
    assert model.bottleneck.post_q.linear.in_features == 30
    if bottleneck == "quantum":  # (8, 8) runs too: tests/quantum/test_fast_engine_grids.py
        block = model.bottleneck.block
        assert block.circuit.num_qubits == 15 and block.n_inputs == 45
        model(x).sum().backward()
        assert model.bottleneck.core.weight.grad.abs().sum() > 0
    default = HQUNet(**TINY, bottleneck=bottleneck)
    assert default.qubit_grid == (4, 4) and default.bottleneck.post_q.linear.in_features == 32
    with pytest.raises(ConfigError, match="qubit_grid must be two positive integers"):
        HQUNet(**TINY, bottleneck=bottleneck, qubit_grid=(0, 4))


def test_ablation_variants_build_what_they_say():
    counts = {}
    for name, options in HQUNet.ablations.items():
        torch.manual_seed(0)
        model = HQUNet(**TINY, **options)
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 5, 32, 32), name
        counts[name] = model.parameter_counts()
    assert list(HQUNet.ablations) == ["quantum", "quantum-frozen", "classical",
                                      "classical-small", "none", "product", "surrogate",
                                      "mlp", "mlp-macs"]  # fmt: skip
    q = counts["quantum"]
    # mlp-macs: as many multiply-adds as the engine, far more numbers than angles
    assert counts["mlp-macs"]["classical"] - q["classical"] == 6 * 371 + 2
    assert counts["quantum-frozen"] == {"classical": q["classical"], "quantum": 0}
    # classical-small: as many trainable numbers as the circuit has angles (8)
    assert counts["classical-small"]["classical"] - q["classical"] == q["quantum"] == 8
    # none: no pre-Q, no deepest Down block, a constant instead of the post-Q linear layer
    assert counts["none"]["classical"] < q["classical"] / 2


def test_frozen_angles_stay_at_their_seeded_values():
    torch.manual_seed(3)
    trained = HQUNet(**TINY).bottleneck.core.weight.detach().clone()
    torch.manual_seed(3)
    model = HQUNet(**TINY, freeze_quantum=True)
    angles = model.bottleneck.core.weight
    assert not angles.requires_grad and torch.equal(angles, trained)  # same seed, same angles
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x, y = torch.randn(2, 3, 32, 32), torch.randint(0, 5, (2, 32, 32))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert torch.equal(model.bottleneck.core.weight, trained)
    assert model.bottleneck.pre_q.conv.weight.grad.abs().sum() > 0  # the encoder still learns
    with pytest.raises(ConfigError, match="freeze_quantum applies to the quantum bottleneck"):
        HQUNet(**TINY, bottleneck="classical", freeze_quantum=True)


def test_frozen_angles_stay_frozen_on_a_noisy_backend():
    """A noisy entry rebuilds the block's module on the device noise; the frozen circuit must
    stay frozen there (it once came back trainable, and the noisy quantum-frozen ablation runs
    were the trained quantum runs, number for number)."""
    torch.manual_seed(3)
    model = HQUNet(**TINY, freeze_quantum=True).use_backend(get_backend("aer-noisy-fez"))
    core = model.bottleneck.core
    assert type(core).__name__ != type(HQUNet(**TINY).bottleneck.core).__name__  # rebuilt
    assert not core.weight.requires_grad
    counts = model.parameter_counts()
    assert counts["quantum"] == 0
    trained = HQUNet(**TINY).use_backend(get_backend("aer-noisy-fez"))
    assert trained.bottleneck.core.weight.requires_grad  # the trained variant still trains


def test_no_core_ignores_the_deepest_features():
    torch.manual_seed(0)
    model = HQUNet(**TINY, bottleneck="none").eval()
    assert model.bottleneck.pre_q is None and len(model.downs) == TINY["depth"] - 1
    assert not any(k.startswith("bottleneck.core") for k in model.state_dict())


def test_input_scale_sees_the_window_resampled_and_answers_at_its_size():
    """0.5: a 64-px window is computed at 32 px (bottleneck 32 / 2**depth) and the logits come
    back at 64 px; the same weights at scale 1 compute at 64 px and give another map."""
    torch.manual_seed(0)
    half = HQUNet(width=4, depth=2, patch_px=64, input_scale=0.5, bottleneck="classical")
    assert half.inner_px == 32 and half.bottleneck.post_q.shape == (16, 8, 8)
    x = torch.randn(2, 3, 64, 64)
    logits = half(x)
    assert logits.shape == (2, 5, 64, 64)
    # what the network computes is the window averaged down: a pattern finer than its pixels
    # (a one-pixel checkerboard) is seen as flat grey, so adding it changes almost nothing
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2 * 2.0 - 1.0
    seen_change = (half(x + checker) - logits).abs().max()
    full = HQUNet(width=4, depth=2, patch_px=64, bottleneck="classical")  # scale 1
    full_change = (full(x + checker) - full(x)).abs().max()
    assert seen_change < 0.1 * full_change


@pytest.mark.parametrize(
    ("patch_px", "scale", "message"),
    [
        (100, 0.5, "--patch-px 100: is not divisible by 2**depth = 16 at --input-scale 0.5"),
        (16, 0.5, "--patch-px 16: must be at least 2**depth = 16 px at --input-scale 0.5"),
        (256, 1.5, "--input-scale 1.5: choose 0 < s <= 1"),
        (256, 0.0, "--input-scale 0: choose 0 < s <= 1"),
    ],
)
def test_input_scale_refuses_what_the_down_blocks_cannot_halve(patch_px, scale, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        HQUNet(patch_px=patch_px, input_scale=scale)
    with pytest.raises(ConfigError, match=re.escape(message)):  # before any data is read
        HQUNet.check_options({"patch_px": patch_px, "input_scale": scale})
