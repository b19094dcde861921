"""Tiny real DINOv3 backbones (random weights, saved and reloaded through the real loader)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import DINOv3ViTConfig, DINOv3ViTModel

from hq_qiskit.models.hqf_net import DINOv3Taps, load_dinov3

TINY_VIT = {
    "hidden_size": 32,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "patch_size": 8,
    "num_register_tokens": 4,
    "image_size": 32,
}


def save_tiny_vit(folder: Path, seed: int = 0) -> Path:
    """A 4-block, width-32, patch-8 DINOv3 with random weights, saved with save_pretrained."""
    torch.manual_seed(seed)
    DINOv3ViTModel(DINOv3ViTConfig(**TINY_VIT)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vit(tmp_path_factory.mktemp("dinov3_tiny"))


@pytest.fixture(scope="session")
def tiny_taps(tiny_vit_dir: Path) -> DINOv3Taps:
    return DINOv3Taps(load_dinov3(tiny_vit_dir))
