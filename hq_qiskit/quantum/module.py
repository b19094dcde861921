"""The torch-module conventions every in-process engine keeps: one weight leads, constants follow.

An engine (``fast.FastEngine``, ``noisy.NoisyEngine``) holds one parameter, ``weight`` (n_w,)
radians, and computes in its dtype and on its device, so ``.double()``, ``.float()``,
``.to(dtype or device)`` and ``.cuda()`` work as on any layer (float32 computes in complex64,
float64 in complex128). Derived constants (gate coefficients, angle maps, observables) are cached
per (device, dtype) in ``_constants``, dropped on every conversion and left out of
``state_dict``, ``copy.deepcopy`` and pickles, whose state is the weight and the compiled plan.
Half precision is refused with a message: 11 bits of mantissa cannot carry exact expectation
values.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hq_qiskit.errors import ConfigError

COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def check_dtype(dtype: torch.dtype) -> None:
    """Refuse a real dtype the engines cannot compute exact values in (half, bfloat16, ...).

    Raises:
        ConfigError: ``dtype`` is not float32 or float64.
    """
    if dtype not in COMPLEX:
        raise ConfigError(
            f"the fast engine computes in float32 or float64 (complex64 or complex128 amplitudes), "
            f"not {dtype}; keep its module in one of them, e.g. model.half() then "
            "quantum_module.float(): its outputs are cast by the layer that reads them"
        )


class EngineModule(nn.Module):
    """Base of the in-process engines: the ``weight`` parameter and the conventions above.

    Subclasses call ``_init_weight`` in their constructor and read ``_constants`` through their
    own cache builder; ``check_input`` validates a batch against ``n_inputs`` and the weight.

    Attributes:
        weight: trainable angles, shape (n_w,), radians (TorchConnector's contract).
        n_inputs: the number of input angles per sample.
    """

    weight: nn.Parameter
    n_inputs: int

    def _init_weight(
        self, n_weights: int, dtype: torch.dtype, initial_weights: Tensor | None
    ) -> None:
        """Create ``weight`` (n_weights,) in ``dtype`` from ``initial_weights`` (default zeros).

        Raises:
            ConfigError: ``dtype`` is not float32 or float64.
            ValueError: ``initial_weights`` has the wrong shape.
        """
        check_dtype(dtype)
        if initial_weights is None:
            init = torch.zeros(n_weights)
        else:
            init = torch.as_tensor(initial_weights)
        if init.shape != (n_weights,):
            raise ValueError(
                f"initial_weights must have shape ({n_weights},), got {tuple(init.shape)}"
            )
        self.weight = nn.Parameter(init.detach().clone().to(dtype))
        self._constants: dict[tuple, dict] = {}

    @property
    def real_dtype(self) -> torch.dtype:
        """The real dtype the engine computes in: always ``weight.dtype``."""
        return self.weight.dtype

    def _apply(self, fn, recurse: bool = True):
        """``.to()``, ``.double()``, ``.cuda()``, ...: convert the weight, drop cached constants."""
        self._constants = {}
        return super()._apply(fn, recurse)

    def __getstate__(self) -> dict:
        """Pickle and deepcopy state without the cached constants (rebuilt on first use)."""
        state = self.__dict__.copy()
        state["_constants"] = {}
        return state

    def check_input(self, x: Tensor) -> None:
        """Refuse a batch the engine cannot take: x must be (B, n_inputs) on the weight's device.

        Raises:
            ConfigError: the weight is in a dtype other than float32/float64.
            ValueError: wrong shape, or ``x`` on another device than the weight.
        """
        if x.dim() != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"expected inputs of shape (B, {self.n_inputs}), got {tuple(x.shape)}")
        check_dtype(self.weight.dtype)
        device = self.weight.device
        if x.device != device:
            raise ValueError(
                f"inputs are on {x.device} but the engine's weight is on {device}; "
                f"move the module with .to('{x.device}') or the inputs with .to('{device}')"
            )
