"""Pieces of the training loop: schedule, decay groups, tile prediction, engine-vs-Aer check."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hq_qiskit.datasets import open_tiles
from hq_qiskit.models import HQUNet
from hq_qiskit.samplers import GridPatches
from hq_qiskit.training.engine_check import engine_vs_aer
from hq_qiskit.training.loop import lr_factor, param_groups, predict_tile

TINY = {"width": 4, "depth": 2, "patch_px": 64}


def test_warmup_then_cosine_to_the_floor():
    f = [lr_factor(s, total=100, warmup=10, min_ratio=0.01) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[10:], f[11:], strict=False))  # monotone decay
    assert lr_factor(100, 100, 10, 0.01) == pytest.approx(0.01)
    assert lr_factor(55, 100, 10, 0.0) == pytest.approx(0.5)  # cosine midpoint


def test_circuit_angles_biases_and_norms_are_not_decayed():
    model = HQUNet(**TINY)
    decay, rest = param_groups(model, 0.1)
    assert rest["weight_decay"] == 0.0
    assert any(p is model.bottleneck.core.weight for p in rest["params"])
    assert not any(p is model.bottleneck.core.weight for p in decay["params"])
    assert all(p.ndim >= 2 for p in decay["params"])


def test_predict_tile_labels_every_pixel_patch_by_patch():
    torch.manual_seed(0)
    model = HQUNet(**TINY, bottleneck="classical").eval()
    image = np.random.default_rng(0).integers(0, 256, (3, 160, 160), dtype=np.uint8)
    labels = predict_tile(model, image, [100.0] * 3, [50.0] * 3, 64, torch.device("cpu"))
    assert labels.shape == (128, 128)  # 160 rounded down to whole 64-px patches
    x = (torch.from_numpy(image[:, 64:128, :64]).float() - 100) / 50  # patch (row 1, col 0)
    with torch.no_grad():
        expected = model(x[None]).argmax(1)[0].numpy()
    assert np.array_equal(labels[64:128, :64], expected)


def test_fast_engine_matches_exact_aer_on_real_patches():
    tiles = open_tiles(None, "val")
    patches = GridPatches(tiles, 64, 64)
    images = torch.stack([patches[i][0] for i in range(2)])  # (2, 3, 64, 64), real imagery
    torch.manual_seed(0)
    model = HQUNet(**TINY).train()
    dev = engine_vs_aer(model, images)
    assert dev is not None and dev < 1e-5
    assert model.training  # mode restored
    assert engine_vs_aer(HQUNet(**TINY, bottleneck="classical"), images) is None
    assert not math.isnan(dev)
