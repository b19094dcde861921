"""HQFNet: the U-Net, DINOv3 guidance through DMCAF, QSkip gates and the QMoE bottleneck.

    image (B, 3, P, P) ──> frozen DINOv3 ──> taps D1..D5, each (B, D, P/p, P/p)
      │
      └─> block 1 ─DMCAF(D1)─> block 2 ─DMCAF(D2)─> ... ─> Conv Block ─DMCAF(D5)─> F5
          F1 (plain skip)     F2 ─QSkip─> S2 ...           F5 ─QSkip─> S5,  F5 ─QMoE─> bottleneck
      decoder(bottleneck, [F1, S2, S3, S4, S5]) ──> logits (B, K, P, P)

Each fused map F_i continues down the encoder. The three switches ``use_dmcaf``, ``use_qskip``
and ``use_qmoe`` repeat the paper's ablation: without DMCAF the encoder runs alone and no
backbone is loaded; without QSkip the skips are plain; without QMoE the Conv Block's fused map
is the bottleneck.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.errors import ConfigError
from hq_qiskit.models.base import (
    ENGINE_OPTION,
    QUBIT_GRID_OPTION,
    HybridSegmenter,
    ModelOption,
    check_qubit_grid,
)
from hq_qiskit.models.hqf_net.backbone import (
    PAPER_TAPS,
    SAT_MEAN,
    SAT_STD,
    WHERE_TO_PUT_WEIGHTS,
    DINOv3Taps,
    load_dinov3,
)
from hq_qiskit.models.hqf_net.dmcaf import DMCAF
from hq_qiskit.models.hqf_net.feature_cache import CachedTaps, FeatureCache
from hq_qiskit.models.hqf_net.qmoe import QMoE
from hq_qiskit.models.hqf_net.qskip import QSkip
from hq_qiskit.models.hqf_net.unet import (
    PAPER_WIDTHS,
    Decoder,
    Encoder,
    check_widths,
    parse_widths,
)

QSKIP_LEVELS = (1, 2, 3, 4)  # 0-based encoder stages with a QSkip: blocks 2-4 and the Conv Block
BACKBONE_PREFIX = "backbone."


class HQFNet(HybridSegmenter):
    """HQF-Net: (B, in_channels, P, P) -> logits (B, num_classes, P, P).

    Args:
        num_classes: output classes.
        in_channels: input bands; the DINOv3 backbone needs 3 (RGB).
        patch_px: P, the training patch side in pixels (224 in the paper); any multiple of 16
            and of the backbone's patch size works at run time.
        widths: channels of encoder blocks 1-4 and the Conv Block.
        use_dmcaf, use_qskip, use_qmoe: the ablation switches.
        backbone: a local Hugging Face DINOv3 folder (``--backbone PATH``), or a ready
            ``DINOv3Taps``; needed only with ``use_dmcaf``. Its weights are frozen and left out
            of ``state_dict()``: a checkpoint stores the path, not 300M numbers.
        taps: 0-based backbone blocks feeding DMCAF 1-5, for a 24-block ViT-L; scaled to the
            loaded model's depth.
        pixel_mean, pixel_std: the backbone's RGB statistics for inputs in [0, 1] (SAT-493M's
            by default; ImageNet's for the web-image DINOv3 models).
        input_mean, input_std: per-band statistics the data loader normalised x with, in
            0..255 units; the backbone undoes them to get RGB in [0, 1]. Required with
            ``use_dmcaf`` (for inputs already in [0, 1] give (0, 0, 0) and (255, 255, 255)).
        feature_cache: folder caching the backbone's taps per input image (None: off).
        cache_dtype: "float32" (exact) or "float16" (half the disk) for cached features.
        dmcaf_dim, dmcaf_heads, dmcaf_points: DMCAF attention width, heads, points per head.
        dmcaf_query_grid: side of DMCAF's pooled query grid; None: the backbone's token grid.
        dmcaf_gate_init: initial residual gate alpha of every DMCAF.
        engine: how every circuit runs: "fast" (exact torch engine) or "qiskit" (Aer).
        qcnn_layers, expert_layers: circuit depths of the enrichment QCNN and the experts.
        angle_scale: encoding angle per unit input, radians.
        qmoe_grid: side of the map QMoE's output layer produces before interpolation.
        balance_weight: weight of QMoE's load-balancing loss in ``aux_loss()`` (0: off).
        qubit_grid: (R, C), the qubit grid of every enrichment QCNN (the QSkips' and QMoE's):
            their pre-Q pools to R x C; 3RC inputs, 2RC outputs, R * C qubits. QMoE's experts
            stay 16-qubit circuits and read the QCNN's maps pooled to 4 x 4 (``QMoE``).

    Example:
        >>> net = HQFNet(patch_px=32, widths=(4, 8, 8, 16, 16), use_dmcaf=False)
        >>> net(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 5, 32, 32])
    """

    name = "hqf-net"
    takes_input_stats = True
    cli_options = (
        ModelOption(
            "patch_px",
            "Patch side in pixels (HQF-Net: a multiple of 16 and of the backbone's patch size).",
            type=int,
        ),
        ModelOption(
            "widths",
            "HQF-Net: channels of encoder blocks 1-4 and the Conv Block.",
            parse=parse_widths,
            metavar="LIST",
        ),
        ModelOption(
            "use_dmcaf",
            "HQF-Net ablation: no DINOv3 guidance (DMCAF off; no backbone needed).",
            type=bool,
            flag="--no-dmcaf",
        ),
        ModelOption(
            "use_qskip",
            "HQF-Net ablation: plain skips instead of the quantum skip gates.",
            type=bool,
            flag="--no-qskip",
        ),
        ModelOption(
            "use_qmoe",
            "HQF-Net ablation: no quantum mixture-of-experts bottleneck.",
            type=bool,
            flag="--no-qmoe",
        ),
        ModelOption(
            "backbone",
            "HQF-Net: local Hugging Face folder of DINOv3 ViT-L/16 SAT-493M "
            "(facebook/dinov3-vitl16-pretrain-sat493m: config.json + model.safetensors).",
            metavar="PATH",
        ),
        ModelOption(
            "feature_cache",
            "HQF-Net: cache the frozen backbone's features here, one file per patch.",
            metavar="DIR",
        ),
        ModelOption("dmcaf_dim", "HQF-Net: DMCAF attention width.", type=int),
        ModelOption("dmcaf_heads", "HQF-Net: DMCAF heads.", type=int),
        ModelOption("dmcaf_points", "HQF-Net: DMCAF sampling points per head.", type=int),
        ModelOption("qcnn_layers", "Repetitions of the QCNN filter pass.", type=int),
        QUBIT_GRID_OPTION,
        ENGINE_OPTION,
    )
    ablations = {
        "full": {},
        "no-dmcaf": {"use_dmcaf": False},
        "no-qskip": {"use_qskip": False},
        "no-qmoe": {"use_qmoe": False},
    }

    def __init__(
        self,
        num_classes: int = 5,
        in_channels: int = 3,
        patch_px: int = 224,
        widths: Sequence[int] = PAPER_WIDTHS,
        use_dmcaf: bool = True,
        use_qskip: bool = True,
        use_qmoe: bool = True,
        backbone: str | Path | DINOv3Taps | None = None,
        taps: Sequence[int] = PAPER_TAPS,
        pixel_mean: Sequence[float] = SAT_MEAN,
        pixel_std: Sequence[float] = SAT_STD,
        input_mean: Sequence[float] | None = None,
        input_std: Sequence[float] | None = None,
        feature_cache: str | Path | None = None,
        cache_dtype: Literal["float32", "float16"] = "float32",
        dmcaf_dim: int = 256,
        dmcaf_heads: int = 8,
        dmcaf_points: int = 4,
        dmcaf_query_grid: int | None = None,
        dmcaf_gate_init: float = 0.0,
        engine: Literal["fast", "qiskit"] = "fast",
        qcnn_layers: int = 1,
        expert_layers: int = 1,
        angle_scale: float = math.pi,
        qmoe_grid: int = 4,
        balance_weight: float = 0.0,
        qubit_grid: tuple[int, int] = (4, 4),
    ) -> None:
        super().__init__()
        widths = check_widths(widths)
        self.qubit_grid = check_qubit_grid(qubit_grid)  # a list from a JSON config works too
        if patch_px < 16 or patch_px % 16:
            raise ConfigError(
                f"--patch-px {patch_px}: HQF-Net needs a positive multiple of 16 (four "
                f"2x poolings); use e.g. --patch-px 224"
            )
        self.patch_px, self.use_dmcaf, self.use_qskip, self.use_qmoe = (
            patch_px,
            use_dmcaf,
            use_qskip,
            use_qmoe,
        )
        if use_dmcaf and backbone is None:
            raise ConfigError(
                f"HQF-Net with DMCAF needs DINOv3 weights: {WHERE_TO_PUT_WEIGHTS} "
                "(or train without it: --no-dmcaf)"
            )
        self.encoder = Encoder(in_channels, widths)
        self.backbone: nn.Module | None = None
        self.dmcaf: nn.ModuleList | None = None
        if use_dmcaf:
            taps_module = self._backbone(backbone, in_channels, taps, pixel_mean, pixel_std)
        self._set_input_statistics(in_channels, input_mean, input_std)
        if use_dmcaf:
            self._add_guidance(
                taps_module,
                widths,
                feature_cache,
                cache_dtype,
                dim=dmcaf_dim,
                heads=dmcaf_heads,
                points=dmcaf_points,
                query_grid=dmcaf_query_grid,
                gate_init=dmcaf_gate_init,
            )
        q = {
            "engine": engine,
            "qcnn_layers": qcnn_layers,
            "angle_scale": angle_scale,
            "qubit_grid": self.qubit_grid,
        }
        self._add_quantum(widths, q, qmoe_grid, expert_layers, balance_weight)
        self.decoder = Decoder(num_classes, widths)
        self.register_state_dict_post_hook(_drop_backbone_keys)
        self.register_load_state_dict_post_hook(_ignore_missing_backbone_keys)

    def _add_guidance(
        self,
        taps_module: DINOv3Taps,
        widths: tuple[int, ...],
        feature_cache: str | Path | None,
        cache_dtype: Literal["float32", "float16"],
        **dmcaf: int | float | None,
    ) -> None:
        """Attach ``self.backbone`` (cached when ``feature_cache``) and one DMCAF per stage.

        Args:
            taps_module: the frozen DINOv3 taps; ``patch_px`` must be a multiple of its patch.
            widths: encoder channels of the five stages, one DMCAF each.
            feature_cache, cache_dtype: as in ``HQFNet``.
            **dmcaf: DMCAF's dim, heads, points, query_grid and gate_init.
        """
        if self.patch_px % taps_module.patch_size:
            raise ConfigError(
                f"HQF-Net patch size {self.patch_px} px is not a multiple of the "
                f"backbone's patch size {taps_module.patch_size}"
            )
        self.backbone = (
            CachedTaps(
                taps_module, FeatureCache(feature_cache, taps_module.fingerprint(), cache_dtype)
            )
            if feature_cache is not None
            else taps_module
        )
        self.dmcaf = nn.ModuleList(DMCAF(c, taps_module.width, **dmcaf) for c in widths)

    def _add_quantum(
        self,
        widths: tuple[int, ...],
        q: dict,
        qmoe_grid: int,
        expert_layers: int,
        balance_weight: float,
    ) -> None:
        """Attach ``self.qskips`` (encoder stages ``QSKIP_LEVELS``) and ``self.qmoe``, or None
        for each switched off; ``q`` holds the circuits' engine, depth, angle scale and grid."""
        self.qskips = (
            nn.ModuleList(QSkip(widths[i], **q) for i in QSKIP_LEVELS) if self.use_qskip else None
        )
        self.qmoe = (
            QMoE(
                widths[4],
                out_grid=qmoe_grid,
                expert_layers=expert_layers,
                balance_weight=balance_weight,
                **q,
            )
            if self.use_qmoe
            else None
        )

    @staticmethod
    def _backbone(backbone, in_channels, taps, pixel_mean, pixel_std) -> DINOv3Taps:
        if in_channels != 3:
            raise ConfigError(
                f"HQF-Net's DINOv3 backbone reads RGB, but the data has "
                f"{in_channels} bands; use RGB data or --no-dmcaf"
            )
        if isinstance(backbone, DINOv3Taps):
            return backbone
        return DINOv3Taps(load_dinov3(backbone), taps, pixel_mean=pixel_mean, pixel_std=pixel_std)

    def _set_input_statistics(self, in_channels, input_mean, input_std) -> None:
        if (input_mean is None) != (input_std is None):
            raise ConfigError("give both input_mean and input_std (0..255 units) or neither")
        if self.use_dmcaf and input_mean is None:
            raise ConfigError(
                "HQF-Net's DINOv3 backbone reads RGB in [0, 1], so it needs the statistics the "
                "loader normalised with: input_mean and input_std (0..255 units; the training "
                "runner passes the run's mean/std); for inputs in [0, 1] give (0, 0, 0) and "
                "(255, 255, 255)"
            )
        mean = [0.0] * in_channels if input_mean is None else [float(v) for v in input_mean]
        std = [255.0] * in_channels if input_std is None else [float(v) for v in input_std]
        if len(mean) != in_channels or len(std) != in_channels or min(std) <= 0:
            raise ConfigError(
                f"input_mean/input_std need {in_channels} values with std > 0, got {mean} / {std}"
            )
        # x * scale + shift = RGB in [0, 1]
        self.register_buffer(
            "_rgb_scale", torch.tensor(std).view(1, -1, 1, 1) / 255.0, persistent=False
        )
        self.register_buffer(
            "_rgb_shift", torch.tensor(mean).view(1, -1, 1, 1) / 255.0, persistent=False
        )

    def quantum_blocks(self) -> list[tuple[QuantumBlock, nn.Module]]:
        """(block, module running it) for every circuit: the QSkips, then QMoE's QCNN and
        experts; empty when both are switched off."""
        out = [(s.block, s.qcnn) for s in self.qskips] if self.qskips is not None else []
        if self.qmoe is not None:
            out.append((self.qmoe.block, self.qmoe.qcnn))
            out += [(self.qmoe.expert_blocks[n], m) for n, m in self.qmoe.experts.items()]
        return out

    def aux_loss(self) -> Tensor:
        """Extra training loss of the last forward: QMoE's weighted load-balancing loss (a
        scalar, 0 unless ``balance_weight`` > 0); add it to the segmentation loss."""
        if self.qmoe is None:
            return self._rgb_scale.new_zeros(())
        return self.qmoe.balance_loss

    def backbone_features(self, x: Tensor) -> list[Tensor]:
        """The DINOv3 taps for x (normalised as the loader does): 5 maps (B, D, P/p, P/p)."""
        if self.backbone is None:
            raise ConfigError("this HQF-Net was built with use_dmcaf=False and has no backbone")
        return self.backbone(x * self._rgb_scale + self._rgb_shift)  # RGB in [0, 1]

    def forward(self, x: Tensor) -> Tensor:
        """x (B, in_channels, P, P), normalised -> logits (B, num_classes, P, P)."""
        if x.shape[-1] % 16 or x.shape[-2] % 16:
            raise ValueError(
                f"HQF-Net needs a patch side that is a multiple of 16, got {tuple(x.shape[-2:])}"
            )
        guides = self.backbone_features(x) if self.backbone is not None else None
        features = []
        y = x
        for i in range(5):
            y = self.encoder.stage(i, y)  # (B, w_i, P / 2**min(i+1, 4), ...)
            if guides is not None:
                y = self.dmcaf[i](y, guides[i])  # same shape, fused with DINOv3 map i
            features.append(y)
        skips = list(features)
        if self.qskips is not None:
            for qskip, i in zip(self.qskips, QSKIP_LEVELS, strict=True):
                skips[i] = qskip(features[i])  # X + X * A
        bottleneck = self.qmoe(features[4]) if self.qmoe is not None else features[4]
        return self.decoder(bottleneck, skips)


def _drop_backbone_keys(module: nn.Module, state_dict: dict, prefix: str, local_metadata) -> None:
    """state_dict post-hook: the frozen backbone reloads from its path, so leave it out."""
    for key in [k for k in state_dict if k.startswith(prefix + BACKBONE_PREFIX)]:
        del state_dict[key]


def _ignore_missing_backbone_keys(module: nn.Module, incompatible) -> None:
    """load_state_dict post-hook: backbone weights are never in a checkpoint."""
    missing = [
        k
        for k in incompatible.missing_keys
        if k.startswith(BACKBONE_PREFIX) or f".{BACKBONE_PREFIX}" in k
    ]
    for key in missing:
        incompatible.missing_keys.remove(key)
