"""HQ-UNet designs in which the decoder depends on the bottleneck: ``skips`` (keep only the N
shallowest skip connections) and ``design="gated"`` (the core's outputs scale and shift every
decoder scale); the defaults are the papers' design, so an old config builds the same model."""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.errors import ConfigError
from hq_qiskit.models import HQUNet, build_model
from hq_qiskit.models.designs import kept_skips

TINY = {"width": 4, "depth": 2, "patch_px": 32}


def replace_core_output(model: HQUNet, value: torch.Tensor):
    """A forward hook putting ``value`` (2n,) in place of the core's output for every patch."""
    return model.bottleneck.core.register_forward_hook(
        lambda m, i, out: value.expand_as(out).clone()
    )


def test_defaults_are_the_papers_design_and_old_options_build_it():
    old = {**TINY, "bottleneck": "quantum", "engine": "fast", "qcnn_layers": 1}  # no new keys
    torch.manual_seed(0)
    model = build_model("hq-unet", old)
    assert model.skips == 2 and model.design == "unet" and model.gates is None
    assert not any(k.startswith("gates.") for k in model.state_dict())
    assert [up.conv[0][0].in_channels for up in model.ups] == [8 + 8, 4 + 4]  # every skip
    torch.manual_seed(0)
    explicit = HQUNet(**TINY, skips=2, design="unet")
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(model(x), explicit(x))  # same weights from the same seed


def test_skips_keep_the_shallowest_and_drop_the_deepest():
    model = HQUNet(**TINY, skips=1)
    # ups run deepest first: the deepest stage lost its skip, the full-resolution one kept it
    assert [up.conv[0][0].in_channels for up in model.ups] == [8, 4 + 4]
    assert kept_skips(4, None) == 4 and kept_skips(4, 0) == 0
    for bad in (-1, 3):
        with pytest.raises(ConfigError, match=f"--skips {bad}: choose 0 .* to --depth 2"):
            HQUNet(**TINY, skips=bad)


def test_without_skips_the_image_passes_the_bottleneck_only():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    for skips in (0, 2):
        model = HQUNet(**TINY, skips=skips, bottleneck="classical").eval()
        replace_core_output(model, torch.zeros(32))  # every patch: the same core output
        with torch.no_grad():
            out = model(x)
        # no skip: the two images give one map; every skip (the papers'): the image gets through
        assert torch.allclose(out[0], out[1]) == (skips == 0)
    # with no core and no skips nothing of the image reaches the head: a constant map
    none = HQUNet(**TINY, skips=0, bottleneck="none").eval()
    with torch.no_grad():
        out = none(x)
    torch.testing.assert_close(out[0], out[1])
    assert none.stem is None and len(none.downs) == 0  # nothing is built that nothing reads
    with_skips = HQUNet(**TINY, bottleneck="none").eval()
    with torch.no_grad():
        assert (with_skips(x)[0] - with_skips(x)[1]).abs().max() > 0


def test_gated_design_uses_the_core_at_every_scale():
    torch.manual_seed(0)
    model = HQUNet(**TINY, design="gated", bottleneck="classical").eval()
    assert [g.linear.out_features for g in model.gates] == [2 * 8, 2 * 4]
    x = torch.randn(2, 3, 32, 32)
    # cut the bottleneck map itself: the core still reaches the decoder through the gates
    model.bottleneck.post_q.register_forward_hook(lambda m, i, out: torch.zeros_like(out))
    with torch.no_grad():
        before = model(x)
        hook = replace_core_output(model, torch.ones(32))  # another output of the core
        after = model(x)
        hook.remove()
    assert (before - after).abs().max() > 1e-2
    # unlike the papers' design, in which the core reaches the decoder only through post-Q
    torch.manual_seed(0)
    paper = HQUNet(**TINY, bottleneck="classical").eval()
    paper.bottleneck.post_q.register_forward_hook(lambda m, i, out: torch.zeros_like(out))
    with torch.no_grad():
        before = paper(x)
        replace_core_output(paper, torch.ones(32))
        torch.testing.assert_close(paper(x), before)


def test_gated_design_trains_the_circuit_through_the_gates():
    torch.manual_seed(0)
    model = HQUNet(**TINY, design="gated", skips=0)
    model.bottleneck.post_q.register_forward_hook(lambda m, i, out: torch.zeros_like(out))
    model(torch.randn(2, 3, 32, 32)).square().mean().backward()
    assert model.bottleneck.core.weight.grad.abs().sum() > 0
    none = HQUNet(**TINY, design="gated", bottleneck="none")
    assert [g.linear for g in none.gates] == [None, None]  # constant gates, nothing to read
    assert none(torch.randn(2, 3, 32, 32)).shape == (2, 5, 32, 32)


def test_unknown_design_is_refused():
    with pytest.raises(ConfigError, match="--design 'film': choose one of unet, gated"):
        HQUNet(**TINY, design="film")


def test_the_run_log_names_a_design_other_than_the_papers():
    from hq_qiskit.training.config import TrainConfig
    from hq_qiskit.training.runner import describe

    options = {**TINY, "bottleneck": "quantum", "design": "gated", "skips": 0}
    line = describe(HQUNet(**options), TrainConfig(model_options=options))
    assert "(bottleneck quantum, design gated, 0 skips, engine" in line
    paper = {**TINY, "bottleneck": "quantum", "design": "unet", "skips": None}
    assert "(bottleneck quantum, engine" in describe(
        HQUNet(**paper), TrainConfig(model_options=paper)
    )
