"""Mixed precision for the classical layers; the quantum blocks stay in their own float type.

``--precision`` takes Lightning's names: "32" (everything float32, the default), "bf16-mixed"
(``torch.autocast`` to bfloat16; no loss scaling needed) and "16-mixed" (autocast to float16
with a ``GradScaler``, as float16 gradients underflow). Autocast would also run the quantum
engines' matrix products in 16 bits; ``quantum_full_precision`` stops it at each quantum
module: inside, autocast is off and the inputs are cast to the module's own float type (float32
or float64), so the circuit's expectation values are as exact as without mixed precision.
``memory_format`` gives the channels-last layout that GPU convolutions under autocast prefer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import nn

from hq_qiskit.errors import ConfigError

PRECISIONS = {"32": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision {precision}: choose one of {', '.join(sorted(PRECISIONS))}")


def autocast(precision: str, device: torch.device):
    """The autocast context of ``precision`` on ``device`` (a disabled one for "32")."""
    dtype = PRECISIONS[precision]
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """A loss scaler, enabled for "16-mixed" only."""
    return torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")


def memory_format(channels_last: bool) -> torch.memory_format:
    """The memory format of conv weights and input batches: channels-last (NHWC) or torch's
    default. ``Module.to(memory_format=...)`` changes only 4-D parameters, so the quantum
    blocks' angle vectors are untouched; results agree to float rounding."""
    return torch.channels_last if channels_last else torch.contiguous_format


def _module_dtype(module: nn.Module) -> torch.dtype:
    p = next(module.parameters(), None)
    return p.dtype if p is not None and p.is_floating_point() else torch.float32


@contextmanager
def quantum_full_precision(modules: list[nn.Module]) -> Iterator[None]:
    """While open: each of ``modules`` runs with autocast off, its floating inputs cast to its
    own parameter dtype (forward pre-hook enters ``torch.autocast(enabled=False)``, the forward
    hook leaves it). Hooks are removed on exit."""
    open_contexts: dict[int, list[ExitStack]] = {}

    def enter(module: nn.Module, args: tuple) -> tuple:
        stack = ExitStack()
        for kind in ("cpu", "cuda"):
            stack.enter_context(torch.autocast(kind, enabled=False))
        open_contexts.setdefault(id(module), []).append(stack)
        dtype = _module_dtype(module)
        return tuple(
            a.to(dtype) if torch.is_tensor(a) and a.is_floating_point() else a for a in args
        )

    def leave(module: nn.Module, args: tuple, output):
        open_contexts[id(module)].pop().close()
        return output

    handles = []
    try:
        for module in modules:
            handles.append(module.register_forward_pre_hook(enter))
            handles.append(module.register_forward_hook(leave, always_call=True))
        yield
    finally:
        for handle in handles:
            handle.remove()
