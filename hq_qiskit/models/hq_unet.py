"""HQ-UNet: a depthwise-separable U-Net whose bottleneck is the enrichment QCNN.

Stem DoubleConv, ``depth`` Down blocks (MaxPool + DoubleConv), a bottleneck that squeezes the
deepest feature map through 48 numbers -> quantum block -> 32 numbers (on the papers' 4x4 qubit
grid; 3RC -> 2RC on an R x C grid) and maps them linearly back to that map's channels and size,
``depth`` Up blocks (transposed conv, skip concat, DoubleConv) and a 1x1 head. The other
bottlenecks change only the core, so they measure its contribution:

    quantum          the enrichment QCNN (8 trainable angles per layer on 4x4); ``freeze_quantum``
                     keeps the angles at their seeded initial values (a fixed quantum feature map)
    classical        ``ClassicalQ``: Linear 3RC -> 2RC (48 -> 32), tanh
    classical-small  ``ClassicalSmall``: fixed random projection 3RC -> 2RC + as many trainable
                     numbers as the circuit has angles (gain and bias per output group), tanh
    product          the same circuit with its entangling gates removed (a product state),
                     on the same engine (``circuits.product.without_entanglers``)
    surrogate        ``CosSinSurrogate``: cos/sin of the encoding angles, a fixed random
                     projection, as many trainable numbers as the circuit has angles, tanh
    mlp              ``SharedMLP``: a per-qubit MLP 3 -> h -> 2, weights shared across qubits,
                     as many trainable numbers as the circuit has angles (8: h = 1)
    mlp-macs         the same MLP as wide as the fast engine's cost: its multiply-adds per
                     sample equal the plan's estimate for the circuit (4 real per complex)
    none             no core and no pre-Q; the deepest Down block is not built either: the
                     bottleneck map is a learned constant and only the skips carry the image

Designs (``models.designs``), in which the decoder depends on the bottleneck: ``skips`` keeps
only the N shallowest skip connections (None: all, the papers'); ``design="gated"`` lets the
core's 2n outputs scale and shift every decoder scale (``DecoderGate``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch.nn.functional as F
from torch import Tensor, nn

from hq_qiskit.circuits import QuantumBlock, enrichment_qcnn
from hq_qiskit.circuits.product import without_entanglers
from hq_qiskit.errors import ConfigError
from hq_qiskit.models.base import (
    ENGINE_OPTION,
    QUBIT_GRID_OPTION,
    HybridSegmenter,
    ModelOption,
    check_qubit_grid,
)
from hq_qiskit.models.cores import CosSinSurrogate, SharedMLP, macs_hidden
from hq_qiskit.models.designs import DESIGNS, DecoderGate, Design, check_design, kept_skips
from hq_qiskit.models.layers import (
    Q_CHANNELS,
    Q_GRID,
    ClassicalQ,
    ClassicalSmall,
    ConstantMap,
    DoubleConv,
    Down,
    NoCore,
    PostQ,
    PreQ,
    Up,
)
from hq_qiskit.quantum import connect_block

BOTTLENECKS = (
    "quantum", "product", "surrogate", "mlp", "mlp-macs", "classical", "classical-small", "none"
)  # fmt: skip
Core = Literal[
    "quantum", "product", "surrogate", "mlp", "mlp-macs", "classical", "classical-small", "none"
]  # fmt: skip
# the variants of the papers' design, and the matched cores a load-bearing design adds
PAPER_VARIANTS = ("quantum", "quantum-frozen", "classical", "classical-small", "none")
MATCHED_VARIANTS = (
    "quantum", "quantum-frozen", "product", "surrogate", "mlp", "mlp-macs", "classical"
)  # fmt: skip


def build_core(
    bottleneck: str,
    grid: tuple[int, int],
    qcnn_layers: int,
    angle_scale: float,
    engine: str,
    freeze_quantum: bool,
) -> tuple[nn.Module, QuantumBlock | None]:
    """The bottleneck's core (B, 3n) -> (B, 2n) and the block it runs (None: classical).

    The circuit cores ("quantum", "product") run on ``engine``; the matched classical cores
    ("surrogate", "mlp", "classical-small") take as many trainable numbers as the circuit has
    angles. ``freeze_quantum`` keeps a circuit's angles at their seeded values.
    """
    rows, cols = grid
    n_in, n_out = Q_CHANNELS * rows * cols, 2 * rows * cols
    circuit = enrichment_qcnn(rows=rows, cols=cols, layers=qcnn_layers, angle_scale=angle_scale)
    if bottleneck in ("quantum", "product"):
        block = circuit if bottleneck == "quantum" else without_entanglers(circuit)
        core: nn.Module = connect_block(block, engine=engine)
        core.weight.requires_grad_(not freeze_quantum)
        return core, block
    if bottleneck == "classical":
        return ClassicalQ(n_in, n_out), None
    if bottleneck == "classical-small":
        return ClassicalSmall(circuit.n_weights, n_in, n_out), None  # as many numbers as angles
    if bottleneck == "surrogate":
        return CosSinSurrogate(circuit.n_weights, n_in, n_out, angle_scale), None
    if bottleneck == "mlp":
        return SharedMLP(circuit.n_weights, rows * cols), None
    if bottleneck == "mlp-macs":  # as many multiply-adds as the engine's forward pass
        real_macs = 4 * connect_block(circuit, engine="fast").complex_macs_per_sample()
        hidden = macs_hidden(real_macs, rows * cols)
        return SharedMLP(circuit.n_weights, rows * cols, hidden=hidden), None
    return NoCore(), None


class Bottleneck(nn.Module):
    """PreQ -> core -> PostQ: (B, C, h, w) -> (B, C, h, w).

    Attributes:
        pre_q: (B, C, h, w) -> (B, 3n) in [-1, 1], n = R * C qubits (48 on the 4x4 grid); None
            for ``NoCore`` (no input is read).
        core: the enrichment QCNN module (``connect_block``; or its product circuit), a
            matched classical core (``ClassicalQ``, ``ClassicalSmall``, ``CosSinSurrogate``,
            ``SharedMLP``: (B, 3n) -> (B, 2n)) or ``NoCore`` (-> (B, 0)).
        post_q: ``PostQ`` (B, 2n) -> (B, C, h, w); for ``NoCore`` a ``ConstantMap``.
        block: the ``QuantumBlock`` the core runs, or None for a classical core.
    """

    def __init__(
        self,
        channels: int,
        size_px: int,
        core: nn.Module,
        block: QuantumBlock | None,
        grid: tuple[int, int] = (Q_GRID, Q_GRID),
    ) -> None:
        super().__init__()
        empty = isinstance(core, NoCore)
        n = grid[0] * grid[1]
        self.pre_q = None if empty else PreQ(channels, grid)
        self.core = core
        self.post_q: nn.Module = (
            ConstantMap(channels, size_px, size_px)
            if empty
            else PostQ(2 * n, channels, size_px, size_px)
        )
        self.block = block

    def code(self, x: Tensor) -> Tensor:
        """x (B, C, h, w) -> the core's outputs (B, 2n), or (B, 0) for ``NoCore``."""
        q = x if self.pre_q is None else self.pre_q(x)  # (B, 3n): pool to R x C, conv to 3, tanh
        return self.core(q)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, h, w) -> (B, C, h, w) (``NoCore``: x only gives the batch size)."""
        return self.post_q(self.code(x))  # (B, 2n) or (B, 0) -> (B, C, h, w)


def inner_size(patch_px: int, input_scale: float, depth: int) -> int:
    """The side the network computes at, ``patch_px * input_scale`` pixels; a ``ConfigError``
    unless it is a whole multiple of ``2**depth`` (the Down blocks halve it ``depth`` times)."""
    if not 0 < input_scale <= 1:
        raise ConfigError(
            f"--input-scale {input_scale:g}: choose 0 < s <= 1 (1: full resolution, e.g. 0.5)"
        )
    exact = patch_px * input_scale
    inner, step = round(exact), 2**depth
    seen = "" if input_scale == 1 else f" at --input-scale {input_scale:g} (seen at {exact:g} px)"
    example = "e.g. --patch-px 128" if input_scale == 1 else "e.g. --patch-px 256 --input-scale 0.5"
    if inner < step:
        raise ConfigError(
            f"--patch-px {patch_px}: must be at least 2**depth = {step} px{seen} and a multiple "
            f"of it ({example}), or choose a smaller --depth"
        )
    if abs(inner - exact) > 1e-6 or inner % step:
        raise ConfigError(
            f"--patch-px {patch_px}: is not divisible by 2**depth = {step}{seen}; choose a "
            f"window seen at a multiple of {step} px ({example}) or a smaller --depth"
        )
    return inner


class HQUNet(HybridSegmenter):
    """HQ-UNet (or its classical twin): (B, in_channels, P, P) -> logits (B, num_classes, P, P).

    Args:
        num_classes: output classes.
        in_channels: input bands (3 for RGB).
        width: channels of the stem; stage i has ``width * 2**i`` channels. 16 (the default)
            trains the default run on a 2-core CPU in about 7 minutes and generalised better to
            unseen tiles than 8 (docs/science.md, third search); the classic U-Net size is 64.
        depth: number of Down (and Up) blocks; the bottleneck map is
            ``patch_px * input_scale / 2**depth`` pixels wide.
        patch_px: input size in pixels (the window read from the image). Fixed, because the
            post-Q linear layer produces a map of exactly the bottleneck's size.
        input_scale: the network sees each window resampled by this factor (0 < s <= 1;
            antialiased bilinear) and its logits are resampled back (bilinear), so input and
            output stay (B, C, P, P) at the data's pixel size. 0.5: a 256-px window is seen at
            128 px (0.3 m LoveDA pixels as 0.6 m), four times the ground per window at
            about the cost (1.09x per training step). 1 (the papers'): no resampling.
            ``patch_px * input_scale`` must be a multiple of ``2**depth``.
        bottleneck: "quantum" (enrichment QCNN), "product" (the circuit without its
            entangling gates), "surrogate" (cos/sin features, 8 trainable numbers), "mlp"
            (per-qubit MLP, 8 trainable numbers), "classical" (Linear 48 -> 32, tanh),
            "classical-small" (fixed random projection + as many trainable numbers as the
            circuit) or "none" (no core; see the module docstring).
        freeze_quantum: keep the circuit's angles at their seeded initial values (not
            trained: a frozen random circuit); only with ``bottleneck="quantum"``.
        skips: keep only the ``skips`` shallowest skip connections (0: none, the image must
            pass the bottleneck); None keeps all ``depth``, the papers' design.
        design: "unet" (the papers': the bottleneck map enters the decoder once) or "gated"
            (also a per-channel scale and shift of every decoder scale from the core's 2n
            outputs, ``DecoderGate``).
        engine: how the quantum block runs: "fast" (exact torch engine) or "qiskit"
            (EstimatorQNN + TorchConnector on Aer; minutes per sample).
        qcnn_layers: repetitions of the QCNN's (horizontal, vertical) filter pass.
        angle_scale: encoding angle per unit pre-Q output, radians (pi: [-1, 1] -> [-pi, pi]).
        qubit_grid: (R, C), the qubit grid of the QCNN (and of the classical twin's sizes): the
            bottleneck map is pooled to R x C; 3RC inputs, 2RC outputs, R * C qubits. (4, 4) is
            the papers' block; (8, 8) runs 64 qubits exactly in the fast engine.

    Example:
        >>> HQUNet(width=4, patch_px=32, bottleneck="classical")(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 5, 32, 32])
    """

    name = "hq-unet"
    cli_options = (
        ModelOption(
            "bottleneck",
            "HQ-UNet bottleneck: 'quantum' (enrichment QCNN), 'product' (the circuit without "
            "its entangling gates), 'surrogate' (cos/sin of the encoding angles, 8 trainable "
            "numbers), 'mlp' (per-qubit MLP, 8 trainable numbers), 'mlp-macs' (the same MLP "
            "with as many multiply-adds as the engine's forward pass), 'classical' (Linear 48->32 "
            "+ tanh twin: same encoder, decoder and training), 'classical-small' (fixed random "
            "projection + as many trainable numbers as the circuit) or 'none' (no core: only "
            "the skips carry the image).",
            choices=BOTTLENECKS,
        ),
        ModelOption(
            "design",
            "HQ-UNet design: 'unet' (the papers') or 'gated' (the bottleneck's 32 outputs also "
            "scale and shift every decoder scale, y + y*a + b, so the decoder depends on them).",
            choices=DESIGNS,
        ),
        ModelOption(
            "skips",
            "Keep only the N shallowest skip connections of HQ-UNet (0: none, the image must "
            "pass the bottleneck). [default: all, the papers' design]",
            type=int,
            metavar="N",
        ),
        ModelOption("width", "Stem channels; stage i has width*2**i.", type=int),
        ModelOption("depth", "Down/Up blocks.", type=int),
        ModelOption(
            "patch_px",
            "Side in image pixels of the window the model reads: training patches, the grid a "
            "run is scored on, predict's sliding window (HQF-Net: a multiple of 16 and of the "
            "backbone's patch size).",
            type=int,
        ),
        ModelOption(
            "input_scale",
            "HQ-UNet sees each window resampled by this factor and resamples its logits back "
            "to the window: with --patch-px 256, 0.5 sees 4x the ground per window at about "
            "the cost of 128 px (cross-validated against full resolution over the 24 LoveDA "
            "images: docs/science.md, 'Stop 34'); 1 is the papers' full resolution.",
            type=float,
        ),
        ModelOption("qcnn_layers", "Repetitions of the QCNN filter pass.", type=int),
        QUBIT_GRID_OPTION,
        ENGINE_OPTION,
    )
    channels_last = True  # 0.67x the CPU time per training step (docs/benchmarks.md)
    ablations = {
        "quantum": {},
        "quantum-frozen": {"freeze_quantum": True},
        "classical": {"bottleneck": "classical"},
        "classical-small": {"bottleneck": "classical-small"},
        "none": {"bottleneck": "none"},
        "product": {"bottleneck": "product"},
        "surrogate": {"bottleneck": "surrogate"},
        "mlp": {"bottleneck": "mlp"},
        "mlp-macs": {"bottleneck": "mlp-macs"},
    }

    def __init__(
        self,
        num_classes: int = 5,
        in_channels: int = 3,
        width: int = 16,
        depth: int = 4,
        patch_px: int = 128,
        input_scale: float = 1.0,
        bottleneck: Core = "quantum",
        engine: Literal["fast", "qiskit"] = "fast",
        qcnn_layers: int = 1,
        angle_scale: float = math.pi,
        qubit_grid: tuple[int, int] = (Q_GRID, Q_GRID),
        freeze_quantum: bool = False,
        skips: int | None = None,
        design: Design = "unet",
    ) -> None:
        super().__init__()
        grid = check_qubit_grid(qubit_grid)  # a list from a JSON config works too
        if bottleneck not in BOTTLENECKS:
            raise ConfigError(
                f"unknown bottleneck {bottleneck!r}; choose one of {', '.join(BOTTLENECKS)}"
            )
        if freeze_quantum and bottleneck not in ("quantum", "product"):
            raise ConfigError(
                f"freeze_quantum applies to the quantum bottleneck (or its product circuit), "
                f"not {bottleneck!r}"
            )
        if width < 1 or depth < 1:
            raise ConfigError(f"width and depth must be >= 1, got width={width}, depth={depth}")
        self.patch_px = patch_px
        self.input_scale = float(input_scale)
        self.inner_px = inner_size(patch_px, input_scale, depth)
        self.skips = kept_skips(depth, skips)
        self.design = check_design(design)
        channels = [width * 2**i for i in range(depth + 1)]
        reads = bottleneck != "none"  # "none" reads no deepest map
        # maps built: the stem (skip 0), one per Down; only those a kept skip or the core reads
        n_maps = depth + 1 if reads else self.skips
        self.stem = DoubleConv(in_channels, channels[0]) if n_maps else None
        n_down = max(n_maps - 1, 0)
        self.downs = nn.ModuleList(Down(channels[i], channels[i + 1]) for i in range(n_down))
        core, block = build_core(bottleneck, grid, qcnn_layers, angle_scale, engine, freeze_quantum)
        self.qubit_grid = grid
        self.bottleneck = Bottleneck(channels[-1], self.inner_px // 2**depth, core, block, grid)
        self.ups = nn.ModuleList(
            Up(channels[i + 1], channels[i] if i < self.skips else 0, channels[i])
            for i in reversed(range(depth))
        )
        code = 0 if not reads else 2 * grid[0] * grid[1]
        self.gates = (
            nn.ModuleList(DecoderGate(code, channels[i]) for i in reversed(range(depth)))
            if design == "gated"
            else None
        )
        self.head = nn.Conv2d(channels[0], num_classes, 1)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """``skips`` within 0..depth, a known ``design`` and a window the Down blocks can halve
        at its input scale (what ``__init__`` refuses)."""
        depth = options.get("depth", 4)
        if "patch_px" in options or "input_scale" in options:
            inner_size(options.get("patch_px", 128), options.get("input_scale", 1.0), depth)
        kept_skips(depth, options.get("skips"))
        check_design(options.get("design", "unet"))

    @classmethod
    def default_ablations(cls, options: dict[str, Any]) -> list[str]:
        """The papers' design: ``PAPER_VARIANTS``; a design of ``models.designs`` (``design``
        or ``skips`` given): the quantum core, the frozen random circuit, and the matched
        cores (product circuit, surrogate, MLP, linear), then classical-small and none."""
        paper = options.get("design", "unet") == "unet" and options.get("skips") is None
        if paper:
            return list(PAPER_VARIANTS)
        return [*MATCHED_VARIANTS, "classical-small", "none"]

    def quantum_blocks(self) -> list[tuple[QuantumBlock, nn.Module]]:
        """(block, module running it) for each quantum block; empty for the classical twin."""
        b = self.bottleneck
        return [(b.block, b.core)] if b.block is not None else []

    def forward(self, x: Tensor) -> Tensor:
        """x (B, in_channels, P, P), normalised -> logits (B, num_classes, P, P)."""
        if x.shape[-2:] != (self.patch_px, self.patch_px):
            raise ValueError(
                f"HQ-UNet was built for {self.patch_px}x{self.patch_px} patches, "
                f"got {tuple(x.shape[-2:])}"
            )
        if self.inner_px != self.patch_px:  # (B, C, p, p), p = P * input_scale
            x = F.interpolate(x, size=(self.inner_px,) * 2, mode="bilinear", antialias=True)
        maps: list[Tensor] = [] if self.stem is None else [self.stem(x)]  # (B, w, p, p)
        for down in self.downs:
            maps.append(down(maps[-1]))  # (B, w * 2**i, P / 2**i, P / 2**i)
        # (B, w * 2**depth, P / 2**depth, P / 2**depth); "none" reads only the batch size
        z = self.bottleneck.code(x if self.bottleneck.pre_q is None else maps.pop())  # (B, 2n)
        y = self.bottleneck.post_q(z)
        for k, up in enumerate(self.ups):
            i = len(self.ups) - 1 - k  # the scale: (B, w * 2**i, P / 2**i, P / 2**i) out
            y = up(y, maps[i] if i < self.skips else None)
            if self.gates is not None:
                y = self.gates[k](y, z)  # y + y * a(z) + b(z), per channel
        logits = self.head(y)  # (B, num_classes, p, p)
        if self.inner_px != self.patch_px:
            logits = F.interpolate(logits, size=(self.patch_px,) * 2, mode="bilinear")
        return logits  # (B, num_classes, P, P)
