"""An on-disk cache of the frozen backbone's tapped features, one file per input image.

The backbone is frozen and deterministic, so its features depend only on the pixels that
reach it. The cache key is a hash of those pixels (after augmentation: a flipped or turned
patch is another image, since a ViT is not equivariant to flips), so epochs after the first
skip the backbone whenever the same patch comes back; random-position crops that never repeat
gain nothing. Files live under ``root/<backbone fingerprint>/``, so a different backbone,
tap list or normalisation never reads stale features.

Layout: ``root/<fingerprint>/<key[:2]>/<key>.pt``, each a (n_taps, D, h, w) tensor, written
atomically (temp file + ``os.replace``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import Tensor, nn

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import ConfigError
from hq_qiskit.models.hqf_net.backbone import DINOv3Taps

CACHE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def image_key(image: Tensor) -> str:
    """A hex digest of one image (C, H, W): its shape and its float32 pixel bytes."""
    pixels = image.detach().to("cpu", torch.float32).contiguous()
    digest = hashlib.blake2b(repr(tuple(pixels.shape)).encode(), digest_size=20)
    digest.update(pixels.view(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


class FeatureCache:
    """Per-image backbone features on disk.

    Args:
        root: cache folder (created on first write).
        fingerprint: identifies the backbone (``DINOv3Taps.fingerprint()``).
        dtype: "float32" keeps features exact; "float16" halves the disk use (ViT-L at 224 px:
            4.0 MB -> 2.0 MB per image) at ~1e-3 relative error.
    """

    def __init__(self, root: str | Path, fingerprint: str, dtype: str = "float32") -> None:
        if dtype not in CACHE_DTYPES:
            raise ConfigError(
                f"feature cache dtype {dtype!r}; choose one of {sorted(CACHE_DTYPES)}"
            )
        self.root = Path(root).expanduser()
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"--feature-cache {self.root} is a file; give a folder")
        self.folder = self.root / fingerprint
        self.dtype = CACHE_DTYPES[dtype]
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pt"

    def load(self, key: str) -> Tensor | None:
        """The stored (n_taps, D, h, w) float32 features of ``key``, or None when absent."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return torch.load(path, map_location="cpu", weights_only=True).float()
        except Exception:  # truncated or foreign file: torch raises many kinds
            return None  # recompute and overwrite

    def save(self, key: str, features: Tensor) -> None:
        """Store (n_taps, D, h, w) features under ``key`` atomically."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensor = features.detach().to("cpu", self.dtype).contiguous().clone()
        atomic_write(path, lambda f: torch.save(tensor, f))


class CachedTaps(nn.Module):
    """``DINOv3Taps`` behind a ``FeatureCache``: same input and output, backbone run on misses.

    Example:
        >>> taps = CachedTaps(backbone, FeatureCache("cache", backbone.fingerprint()))
        >>> maps = taps(images)  # list of (B, D, H/p, W/p); a second call reads them from disk
    """

    def __init__(self, backbone: DINOv3Taps, cache: FeatureCache) -> None:
        super().__init__()
        self.backbone = backbone
        self.cache = cache

    @property
    def taps(self) -> tuple[int, ...]:
        return self.backbone.taps

    @property
    def width(self) -> int:
        return self.backbone.width

    @torch.no_grad()
    def forward(self, x: Tensor) -> list[Tensor]:
        """x (B, 3, H, W) in [0, 1] -> one (B, D, H/p, W/p) map per tap."""
        keys = [image_key(image) for image in x]
        found = [self.cache.load(key) for key in keys]
        missing = [i for i, f in enumerate(found) if f is None]
        self.cache.hits += len(keys) - len(missing)
        self.cache.misses += len(missing)
        if missing:
            maps = self.backbone(x[missing])  # n_taps x (M, D, h, w)
            stacked = torch.stack(maps, dim=1)  # (M, n_taps, D, h, w)
            for row, i in enumerate(missing):
                self.cache.save(keys[i], stacked[row])
                found[i] = stacked[row]
        features = torch.stack([f.to(x.device) for f in found])  # (B, n_taps, D, h, w)
        return list(features.unbind(dim=1))
