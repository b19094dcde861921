"""The frozen DINOv3 backbone: loading from a local folder, taps, normalisation, freezing."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import DINOv3ViTBackbone, DINOv3ViTConfig

from hq_qiskit.errors import ConfigError
from hq_qiskit.models.hqf_net import PAPER_TAPS, SAT_MEAN, SAT_STD, DINOv3Taps, load_dinov3
from hq_qiskit.models.hqf_net.backbone import HUB_ID, scale_taps


def test_scale_taps_keeps_the_paper_blocks_and_shrinks_to_small_depths():
    assert scale_taps(24) == PAPER_TAPS
    assert scale_taps(4) == (1, 1, 2, 2, 3)
    assert scale_taps(12) == (2, 4, 7, 9, 11)
    with pytest.raises(ConfigError, match="outside blocks 0..23"):
        scale_taps(12, (4, 24))


def test_load_from_folder_and_from_a_file_inside_it(tiny_vit_dir):
    saved = load_file(tiny_vit_dir / "model.safetensors")
    for path in (tiny_vit_dir, tiny_vit_dir / "model.safetensors"):
        vit = load_dinov3(path)
        state = vit.state_dict()  # the hub's "layer.N." keys live under "model.layer.N."
        state = {k.removeprefix("model."): v for k, v in state.items()}
        assert set(state) == set(saved)
        assert all(torch.equal(state[k], saved[k]) for k in saved)


def test_missing_weights_say_where_to_put_them(tmp_path):
    with pytest.raises(ConfigError, match=f"no such file or folder.*{HUB_ID}.*--backbone"):
        load_dinov3(tmp_path / "nowhere")
    (tmp_path / "meta.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="no config.json.*Meta .pth.*model.safetensors"):
        load_dinov3(tmp_path / "meta.pth")


def test_a_folder_without_weights_or_of_another_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "dinov2"}))
    with pytest.raises(ConfigError, match="'dinov2' model, not a DINOv3 ViT"):
        load_dinov3(tmp_path)
    DINOv3ViTConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    ).save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="no readable weights.*model.safetensors"):
        load_dinov3(tmp_path)


def test_taps_equal_the_library_backbone_with_layernorm_on_sat_normalised_pixels(
    tiny_vit_dir, tiny_taps
):
    x = torch.rand(2, 3, 32, 48)  # RGB in [0, 1]; non-square: 4 x 6 tokens
    maps = tiny_taps(x)
    assert tiny_taps.taps == (1, 1, 2, 2, 3)
    assert [tuple(m.shape) for m in maps] == [(2, 32, 4, 6)] * 5
    reference = DINOv3ViTBackbone.from_pretrained(
        tiny_vit_dir,
        local_files_only=True,
        out_indices=[t + 1 for t in (1, 2, 3)],
        apply_layernorm=True,
        reshape_hidden_states=True,
    ).eval()
    pixels = (x - torch.tensor(SAT_MEAN).view(1, 3, 1, 1)) / torch.tensor(SAT_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = reference(pixel_values=pixels).feature_maps  # blocks 1, 2, 3 (0-based)
    for ours, theirs in zip((maps[0], maps[2], maps[4]), ref, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    assert torch.equal(maps[0], maps[1])  # the same block tapped twice at this depth


def test_statistics_are_an_option(tiny_vit_dir):
    vit = load_dinov3(tiny_vit_dir)
    x = torch.rand(1, 3, 32, 32)
    sat = DINOv3Taps(vit)(x)[-1]
    imagenet = DINOv3Taps(vit, pixel_mean=(0.485, 0.456, 0.406), pixel_std=(0.229, 0.224, 0.225))(
        x
    )[-1]
    assert not torch.allclose(sat, imagenet)
    with pytest.raises(ConfigError, match="3 values each"):
        DINOv3Taps(vit, pixel_mean=(0.5, 0.5))


def test_backbone_is_frozen_and_stays_in_eval_mode(tiny_taps):
    assert not any(p.requires_grad for p in tiny_taps.parameters())
    tiny_taps.train()
    assert not tiny_taps.training and not tiny_taps.vit.training
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    assert not tiny_taps(x)[0].requires_grad


def test_input_not_a_multiple_of_the_patch_size(tiny_taps):
    with pytest.raises(ConfigError, match="multiple of its patch size 8"):
        tiny_taps(torch.rand(1, 3, 36, 32))


def test_fingerprint_changes_with_weights_and_taps(tiny_vit_dir, tiny_taps):
    vit = load_dinov3(tiny_vit_dir)
    before = DINOv3Taps(vit).fingerprint()
    assert before == tiny_taps.fingerprint()
    assert DINOv3Taps(vit, taps=(23, 23, 23, 23, 23)).fingerprint() != before
    with torch.no_grad():
        vit.norm.weight.add_(1e-3)
    assert DINOv3Taps(vit).fingerprint() != before
