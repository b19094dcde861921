"""The frozen DINOv3 backbone of HQF-Net: loading from a local folder, and the tapped layers.

HQF-Net feeds five DMCAF modules from blocks 4, 9, 14, 19 and 23 (0-based) of a DINOv3
ViT-L/16 pretrained on SAT-493M. Weights are gated on the Hugging Face hub and are never
downloaded here: they load from a local folder with ``local_files_only=True``.

Each tap is taken like Meta's ``get_intermediate_layers(norm=True)``: the block's output
tokens, through the model's final LayerNorm, prefix tokens (CLS and registers) dropped, and
the patch tokens reshaped to a (B, D, H/p, W/p) map (14x14 for a 224 px input at p = 16).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from hq_qiskit.errors import ConfigError

SAT_MEAN = (0.430, 0.411, 0.296)  # SAT-493M RGB mean for inputs in [0, 1] (Meta's transform)
SAT_STD = (0.213, 0.156, 0.143)  # SAT-493M RGB std
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the web (LVD-1689M) models, and HF's image processor
IMAGENET_STD = (0.229, 0.224, 0.225)
PAPER_TAPS = (4, 9, 14, 19, 23)  # 0-based blocks of the 24-block ViT-L/16
PAPER_DEPTH = 24
HUB_ID = "facebook/dinov3-vitl16-pretrain-sat493m"

WHERE_TO_PUT_WEIGHTS = (
    f"download the gated {HUB_ID} repository (ViT-L/16, SAT-493M; accept its licence on "
    "huggingface.co, then `hf download " + HUB_ID + " --local-dir weights/dinov3-sat493m` on a "
    "machine with internet) and pass that folder, which holds config.json and "
    "model.safetensors, as --backbone weights/dinov3-sat493m"
)


def vitl16_sat_config():
    """The ``DINOv3ViTConfig`` of the SAT-493M ViT-L/16 (300M parameters, 4 register tokens).

    Useful to time HQF-Net with a randomly initialised backbone of the real size; the real
    weights come with their own config.json.
    """
    from transformers import DINOv3ViTConfig

    return DINOv3ViTConfig(
        hidden_size=1024,
        num_hidden_layers=24,
        num_attention_heads=16,
        intermediate_size=4096,
        patch_size=16,
        num_register_tokens=4,
        layerscale_value=1e-5,
        layer_norm_eps=1e-5,
        rope_theta=100.0,
        query_bias=True,
        key_bias=False,
        value_bias=True,
        image_size=224,
    )


def scale_taps(
    depth: int, taps: Sequence[int] = PAPER_TAPS, reference_depth: int = PAPER_DEPTH
) -> tuple[int, ...]:
    """Map 0-based block indices chosen for a ``reference_depth``-block model to ``depth`` blocks.

    Block t becomes round(t * (depth - 1) / (reference_depth - 1)), so the last block stays
    last; with depth 24 the paper's taps are unchanged, with depth 4 they become (1, 1, 2, 2, 3).
    """
    if depth < 1:
        raise ConfigError(f"backbone depth must be >= 1, got {depth}")
    bad = [t for t in taps if not 0 <= t < reference_depth]
    if bad:
        raise ConfigError(f"backbone taps {bad} are outside blocks 0..{reference_depth - 1}")
    if reference_depth == 1:
        return tuple(0 for _ in taps)
    return tuple(round(t * (depth - 1) / (reference_depth - 1)) for t in taps)


def load_dinov3(path: str | Path) -> nn.Module:
    """Load a ``DINOv3ViTModel`` from a local Hugging Face folder (config.json + weights).

    A file inside such a folder (config.json, model.safetensors) stands for its folder. Nothing
    is downloaded; a missing or wrong path raises ``ConfigError`` saying where to put weights.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"--backbone {path}: no such file or folder; {WHERE_TO_PUT_WEIGHTS}")
    folder = path.parent if path.is_file() else path
    if not (folder / "config.json").is_file():
        hint = " (a Meta .pth checkpoint is not read directly)" if path.suffix == ".pth" else ""
        raise ConfigError(
            f"--backbone {path}: {folder} has no config.json, so it is not a Hugging Face DINOv3 "
            f"folder{hint}; {WHERE_TO_PUT_WEIGHTS}"
        )
    try:
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as err:
        raise ConfigError(
            f"--backbone {folder}/config.json is not readable JSON ({err}); {WHERE_TO_PUT_WEIGHTS}"
        ) from err
    if model_type != "dinov3_vit":
        raise ConfigError(
            f"--backbone {folder}: config.json describes a {model_type!r} model, not "
            f"a DINOv3 ViT ('dinov3_vit'); {WHERE_TO_PUT_WEIGHTS}"
        )
    from transformers import DINOv3ViTConfig, DINOv3ViTModel

    config = DINOv3ViTConfig.from_pretrained(folder, local_files_only=True)
    try:
        model = DINOv3ViTModel.from_pretrained(folder, config=config, local_files_only=True)
    except OSError as err:
        raise ConfigError(
            f"--backbone {folder}: no readable weights ({err}); {WHERE_TO_PUT_WEIGHTS}"
        ) from err
    return model


class DINOv3Taps(nn.Module):
    """A frozen DINOv3 ViT returning normalised patch-token maps of chosen blocks.

    Args:
        vit: a ``transformers.DINOv3ViTModel`` (use ``load_dinov3`` for real weights).
        taps: 0-based block indices for a ``reference_depth``-block model; scaled to the depth
            of ``vit`` by ``scale_taps``.
        pixel_mean, pixel_std: RGB statistics for inputs in [0, 1]; the SAT-493M values by
            default (ImageNet's are ``IMAGENET_MEAN``/``IMAGENET_STD``, for the web models).
        reference_depth: the depth ``taps`` refer to (24, ViT-L).

    Example:
        >>> from transformers import DINOv3ViTConfig, DINOv3ViTModel
        >>> vit = DINOv3ViTModel(DINOv3ViTConfig(hidden_size=32, num_hidden_layers=4,
        ...     num_attention_heads=2, intermediate_size=64, patch_size=8))
        >>> [f.shape for f in DINOv3Taps(vit)(torch.rand(2, 3, 32, 32))][0]
        torch.Size([2, 32, 4, 4])
    """

    def __init__(
        self,
        vit: nn.Module,
        taps: Sequence[int] = PAPER_TAPS,
        *,
        pixel_mean: Sequence[float] = SAT_MEAN,
        pixel_std: Sequence[float] = SAT_STD,
        reference_depth: int = PAPER_DEPTH,
    ) -> None:
        super().__init__()
        config = vit.config
        if len(pixel_mean) != 3 or len(pixel_std) != 3 or min(pixel_std) <= 0:
            raise ConfigError(
                f"pixel_mean/pixel_std need 3 values each with std > 0, got "
                f"{tuple(pixel_mean)} / {tuple(pixel_std)}"
            )
        self.vit = vit.eval().requires_grad_(False)
        self.depth = int(config.num_hidden_layers)
        self.taps = scale_taps(self.depth, taps, reference_depth)
        self.width = int(config.hidden_size)
        self.patch_size = int(config.patch_size)
        self.n_prefix = 1 + int(config.num_register_tokens)  # CLS + registers
        self.register_buffer("mean", torch.tensor(pixel_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(pixel_std).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> DINOv3Taps:
        """The backbone is frozen: it stays in eval mode whatever the model around it does."""
        super().train(False)
        return self

    def fingerprint(self) -> str:
        """A hex digest of what fixes these features: config, taps, statistics, every weight."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(self.vit.config.to_json_string(use_diff=False).encode())
        digest.update(
            repr((self.taps, self.mean.flatten().tolist(), self.std.flatten().tolist())).encode()
        )
        for name, tensor in self.vit.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
        return digest.hexdigest()

    @torch.no_grad()
    def forward(self, x: Tensor) -> list[Tensor]:
        """x (B, 3, H, W), RGB in [0, 1], H and W multiples of the patch size p.

        Returns:
            One map per tap, each (B, D, H/p, W/p), float32, no gradient.
        """
        b, _, h, w = x.shape
        p = self.patch_size
        if h % p or w % p:
            raise ConfigError(
                f"HQF-Net backbone input {h}x{w} px is not a multiple of its "
                f"patch size {p}; use patches whose side is a multiple of {p}"
            )
        pixels = (x.float() - self.mean) / self.std  # (B, 3, H, W), SAT-normalised
        out = self.vit(pixel_values=pixels, output_hidden_states=True)
        states = out.hidden_states  # depth + 1 tensors (B, n_prefix + HW/p^2, D); [0] = embeddings
        maps = []
        for t in self.taps:
            tokens = self.vit.norm(states[t + 1])[:, self.n_prefix :]  # (B, HW/p^2, D)
            maps.append(tokens.transpose(1, 2).reshape(b, self.width, h // p, w // p).float())
        return maps
