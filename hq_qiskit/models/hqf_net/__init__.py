"""HQF-Net: a DS-conv U-Net guided by a frozen DINOv3, with quantum skips and a quantum MoE.

backbone.py       frozen DINOv3 ViT from a local Hugging Face folder; taps at blocks
                  4, 9, 14, 19, 23 (scaled to the depth), SAT-493M normalisation
feature_cache.py  the backbone's taps on disk, one file per input image
unet.py           Encoder (blocks 1-4 + Conv Block) and Decoder (transposed convs)
dmcaf.py          DMCAF: deformable cross-attention + FiLM and gated residual fusion
qskip.py          QSkip: out = x + x * a, a from the enrichment QCNN
qmoe.py           QMoE: enrichment QCNN, softmax gate over local/global/diagonal experts
model.py          HQFNet, with the ablation switches use_dmcaf, use_qskip, use_qmoe
"""

from hq_qiskit.models.hqf_net.backbone import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PAPER_TAPS,
    SAT_MEAN,
    SAT_STD,
    DINOv3Taps,
    load_dinov3,
    scale_taps,
    vitl16_sat_config,
)
from hq_qiskit.models.hqf_net.dmcaf import DMCAF, DeformableCrossAttention
from hq_qiskit.models.hqf_net.feature_cache import CachedTaps, FeatureCache
from hq_qiskit.models.hqf_net.model import HQFNet
from hq_qiskit.models.hqf_net.qmoe import EXPERTS, QMoE
from hq_qiskit.models.hqf_net.qskip import QSkip
from hq_qiskit.models.hqf_net.unet import PAPER_WIDTHS, Decoder, Encoder

__all__ = [
    "DMCAF",
    "EXPERTS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PAPER_TAPS",
    "PAPER_WIDTHS",
    "SAT_MEAN",
    "SAT_STD",
    "CachedTaps",
    "DINOv3Taps",
    "Decoder",
    "DeformableCrossAttention",
    "Encoder",
    "FeatureCache",
    "HQFNet",
    "QMoE",
    "QSkip",
    "load_dinov3",
    "scale_taps",
    "vitl16_sat_config",
]
