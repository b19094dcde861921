"""The on-disk feature cache: hits after the first pass, exact features, keyed per image."""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.errors import ConfigError
from hq_qiskit.models.hqf_net import CachedTaps, DINOv3Taps, FeatureCache, load_dinov3


def cached(taps: DINOv3Taps, root, dtype: str = "float32") -> CachedTaps:
    return CachedTaps(taps, FeatureCache(root, taps.fingerprint(), dtype))


def test_second_pass_reads_the_same_features_from_disk(tiny_taps, tmp_path):
    x = torch.rand(3, 3, 32, 32)
    layer = cached(tiny_taps, tmp_path)
    first = layer(x)
    assert (layer.cache.misses, layer.cache.hits) == (3, 0)
    files = sorted(tmp_path.rglob("*.pt"))
    assert len(files) == 3 and not list(tmp_path.rglob("*.tmp"))
    again = cached(tiny_taps, tmp_path)  # a new run over the same folder
    second = again(x)
    assert (again.cache.misses, again.cache.hits) == (0, 3)
    direct = tiny_taps(x)
    for a, b, c in zip(first, second, direct, strict=True):
        assert a.shape == (3, 32, 4, 4)
        assert torch.equal(a, b) and torch.equal(b, c)


def test_an_augmented_image_is_another_entry_and_a_batch_mixes_hits(tiny_taps, tmp_path):
    x = torch.rand(2, 3, 32, 32)
    layer = cached(tiny_taps, tmp_path)
    layer(x)
    flipped = x.flip(-1)
    mixed = torch.cat([x[:1], flipped[:1]])
    out = layer(mixed)
    assert (layer.cache.misses, layer.cache.hits) == (3, 1)
    torch.testing.assert_close(out[4], tiny_taps(mixed)[4], rtol=0, atol=0)


def test_another_backbone_never_reads_these_features(tiny_taps, tiny_vit_dir, tmp_path):
    x = torch.rand(1, 3, 32, 32)
    cached(tiny_taps, tmp_path)(x)
    other = DINOv3Taps(load_dinov3(tiny_vit_dir), taps=(0, 0, 0, 0, 0))
    layer = cached(other, tmp_path)
    layer(x)
    assert layer.cache.misses == 1 and len(list(tmp_path.rglob("*.pt"))) == 2


def test_float16_halves_the_files_and_stays_close(tiny_taps, tmp_path):
    x = torch.rand(1, 3, 32, 32)
    cached(tiny_taps, tmp_path / "f32")(x)
    cached(tiny_taps, tmp_path / "f16", "float16")(x)
    again = cached(tiny_taps, tmp_path / "f16", "float16")(x)
    (f32,), (f16,) = (list((tmp_path / d).rglob("*.pt")) for d in ("f32", "f16"))
    assert f16.stat().st_size < 0.75 * f32.stat().st_size
    torch.testing.assert_close(again[4], tiny_taps(x)[4], rtol=2e-3, atol=2e-3)


def test_a_corrupt_entry_is_recomputed(tiny_taps, tmp_path):
    x = torch.rand(1, 3, 32, 32)
    cached(tiny_taps, tmp_path)(x)
    (entry,) = tmp_path.rglob("*.pt")
    entry.write_bytes(b"truncated")
    layer = cached(tiny_taps, tmp_path)
    assert torch.equal(layer(x)[0], tiny_taps(x)[0])
    assert layer.cache.misses == 1
    assert torch.equal(cached(tiny_taps, tmp_path)(x)[0], tiny_taps(x)[0])


def test_bad_options(tiny_taps, tmp_path):
    with pytest.raises(ConfigError, match="choose one of"):
        FeatureCache(tmp_path, "abc", "int8")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file; give a folder"):
        FeatureCache(tmp_path / "file", "abc")
