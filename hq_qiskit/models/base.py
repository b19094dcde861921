"""The model interface every segmentation network of hq-qiskit declares.

``HybridSegmenter`` is a ``nn.Module`` mapping a normalised image batch (B, C, P, P) to logits
(B, K, P, P). Besides ``forward`` it says, in one place, what the rest of the toolkit needs:

- ``quantum_blocks()``: (``QuantumBlock``, module running it) for each circuit, in a fixed
  order; training checks them against Aer, device runs send them to IBM Runtime, and
  ``use_backend`` swaps their modules for noisy ones;
- ``aux_loss()``: an extra training loss of the last forward (or None);
- ``takes_input_stats``: whether the constructor needs the loader's normalisation statistics
  (``input_mean`` / ``input_std``, on the 0..255 scale);
- ``cli_options``: the constructor arguments a user may set from the command line, with help
  text; ``hq-qiskit train`` and ``ablation`` build their flags from these;
- ``ablations``: named variants (constructor options that differ from the default model) for
  ``hq-qiskit ablation``; ``default_ablations(options)`` the ones it runs unless told;
- ``channels_last``: whether training puts its conv weights and batches in channels-last
  memory format unless told (``train --channels-last/--no-channels-last``); a model sets it
  when that was measured faster and its forward reshapes (never ``.view``s) conv outputs.

``ModelOption`` is plain data (no click): the CLI turns it into a flag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.errors import ConfigError


@dataclass(frozen=True)
class ModelOption:
    """One constructor argument exposed as a command-line flag.

    Attributes:
        name: the constructor argument, e.g. "qcnn_layers" (flag ``--qcnn-layers``).
        help: one sentence for ``--help``; the model's default is appended by the CLI.
        type: ``int``, ``float`` or ``str`` for a valued flag; ``bool`` for an off-switch.
        choices: the accepted values of a ``str`` option (``--help`` lists them).
        flag: the flag of an off-switch, e.g. "--no-dmcaf" (sets the argument to False).
        parse: turns the flag's text into the argument, e.g. "64,128" -> [64, 128]; raises
            ``ConfigError`` naming the flag on bad text.
        metavar: what the value looks like in ``--help``.
    """

    name: str
    help: str
    type: type = str
    choices: tuple[str, ...] | None = None
    flag: str | None = None
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None

    @property
    def cli_flag(self) -> str:
        """The command-line flag: ``flag`` for an off-switch, else ``--<name with dashes>``."""
        return self.flag or "--" + self.name.replace("_", "-")


ENGINE_OPTION = ModelOption(
    "engine",
    "How quantum blocks run: 'fast' (exact in-process torch engine) or 'qiskit' (stock "
    "EstimatorQNN + TorchConnector on Aer; minutes per sample, for 1-2 sample smoke runs only).",
    choices=("fast", "qiskit"),
)


def parse_qubit_grid(text: str) -> list[int]:
    """``--qubit-grid 8x8`` -> [8, 8] (rows, cols), else ``ConfigError`` naming the flag."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        grid = [int(p) for p in parts]
    except ValueError:
        grid = []
    if len(grid) != 2 or min(grid) < 1:
        raise ConfigError(f"--qubit-grid {text!r}: give rows x cols, e.g. 4x4 or 8x8")
    return grid


def check_qubit_grid(qubit_grid) -> tuple[int, int]:
    """(R, C) from a tuple or a list (as read from a JSON config), else ``ConfigError``."""
    try:
        grid = tuple(int(v) for v in qubit_grid)
    except (TypeError, ValueError):
        grid = ()
    if len(grid) != 2 or min(grid) < 1:
        raise ConfigError(
            f"qubit_grid must be two positive integers (rows, cols), got {qubit_grid!r}; "
            "e.g. (4, 4) as in the papers or (8, 8)"
        )
    return grid  # type: ignore[return-value]


QUBIT_GRID_OPTION = ModelOption(
    "qubit_grid",
    "Qubit grid RxC of the enrichment QCNN (pre-Q pools to RxC; R*C qubits, 3RC inputs, 2RC "
    "outputs), e.g. 8x8 for 64 qubits.",
    parse=parse_qubit_grid,
    metavar="RxC",
)


class HybridSegmenter(nn.Module):
    """Base class: image (B, C, P, P) normalised -> logits (B, K, P, P), with quantum blocks.

    Subclasses set the class attributes and implement ``forward`` and ``quantum_blocks``.
    """

    name: ClassVar[str] = ""
    cli_options: ClassVar[tuple[ModelOption, ...]] = ()
    ablations: ClassVar[dict[str, dict[str, Any]]] = {}
    takes_input_stats: ClassVar[bool] = False
    channels_last: ClassVar[bool] = False

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Refuse, before any data is read, options (the given ones) the constructor would
        refuse; a ``ConfigError`` naming the option. Nothing by default."""

    @classmethod
    def default_ablations(cls, options: dict[str, Any]) -> list[str]:
        """The variants ``hq-qiskit ablation`` runs when ``--variants`` is not given, for a
        model built with ``options`` (the options given, unset ones left out): all of
        ``ablations`` unless the model says otherwise."""
        return list(cls.ablations)

    def quantum_blocks(self) -> list[tuple[QuantumBlock, nn.Module]]:
        """(block, module running it) for each circuit of the model; [] for a classical one."""
        return []

    def quantum_modules(self) -> list[nn.Module]:
        """The modules that run a circuit, in ``quantum_blocks`` order."""
        return [module for _, module in self.quantum_blocks()]

    def aux_loss(self) -> Tensor | None:
        """An extra loss term of the last forward pass to add in training (None: none)."""
        return None

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters split into {"classical": n, "quantum": n (circuit angles)}."""
        quantum_ids = {
            id(p) for m in self.quantum_modules() for p in m.parameters() if p.requires_grad
        }
        total = {id(p): p.numel() for p in self.parameters() if p.requires_grad}
        quantum = sum(n for i, n in total.items() if i in quantum_ids)
        return {"classical": sum(total.values()) - quantum, "quantum": quantum}

    def replace_quantum_module(self, old: nn.Module, new: nn.Module) -> None:
        """Put ``new`` wherever ``old`` (a module of ``quantum_modules()``) sits in the model."""
        slots = [
            (parent, name)
            for parent in self.modules()
            for name, child in parent.named_children()
            if child is old
        ]
        if not slots:
            raise ValueError(f"{type(old).__name__} is not a module of this model")
        for parent, name in slots:  # found first, replaced after: ``new`` may wrap ``old``
            setattr(parent, name, new)

    def use_backend(
        self, backend: Any, *, seed: int = 0, noise_scale: float = 1.0
    ) -> HybridSegmenter:
        """Run the quantum blocks on a ``backends.toml`` entry; returns ``self``.

        An ideal entry keeps the modules as built; a noisy Aer entry rebuilds each block's
        module with the entry's device noise applied exactly and its shots sampled
        (``hq_qiskit.hardware.noisy_block.noisy_module``; block i seeded ``seed + i``). The
        state dict is the same either way, so weights move freely between ideal and noisy
        models. ``noise_scale`` multiplies every error of the device noise
        (``hardware.noise_scale``; 1: the device's own).
        """
        if backend.noise is None:
            return self
        from hq_qiskit.hardware.noisy_block import noisy_module

        for i, (block, module) in enumerate(self.quantum_blocks()):
            noisy = noisy_module(module, block, backend, seed=seed + i, noise_scale=noise_scale)
            self.replace_quantum_module(module, noisy)
        return self
