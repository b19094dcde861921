"""A quantum block on a noisy backend entry: the same circuit, its device noise applied exactly.

``noisy_module`` is what training, evaluation and prediction use for a noisy Aer entry (e.g.
``aer-noisy-fez``): it rebuilds the block's module with ``connect_block(..., noise=<the
device noise model of the block's logical circuit>, shots=<the entry's shots>)``.

- Engine "fast": the exact noisy engine (``hq_qiskit.quantum.noisy``): mixed states on light
  cones, every gate's device error and the readout error applied exactly, no Monte Carlo; with
  ``shots`` > 0 each Pauli term is the mean of that many sampled eigenvalues (seeded, gradients
  of the exact mean).
- Engine "qiskit": the stock EstimatorQNN on Aer with the same noise model (the reference).

The noise model is ``hardware.device_noise.device_noise_model``: the ISA gates each logical gate
becomes on the device's layout (routing SWAPs included), their error rates, T1/T2 relaxation
over their durations and the measured qubits' readout errors, attached to the logical circuit
(approximation and its measured cost: docs/benchmarks.md, "Noise"). With the entry's
``device_model = "scheduled"`` the engine runs the block's own scheduled ISA circuit instead
(``hardware.scheduled_noise``: exact, idle windows relaxed; narrow blocks only). The module
keeps one state-dict entry, ``weight``, so weights move freely between ideal and noisy models.
"""

from __future__ import annotations

import torch
from torch import nn

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.device_noise import _fake, device_noise_model
from hq_qiskit.hardware.scheduled_noise import scheduled_device, scheduled_module
from hq_qiskit.quantum import connect_block


def noisy_module(
    module: nn.Module,
    block: QuantumBlock,
    backend: Backend,
    *,
    seed: int = 0,
    noise_scale: float = 1.0,
):
    """``module`` (running ``block``) rebuilt on ``backend``'s device noise; same weights.

    Args:
        module: from ``connect_block(block, engine=...)``; its engine and angles are kept.
        block: the module's block.
        backend: a ``backends.toml`` entry; an ideal one (``noise`` unset) returns ``module``.
        seed: seed of the shot-noise generator (and of Aer for engine "qiskit").
        noise_scale: every error of the device noise times this factor
            (``hardware/noise_scale.py``; the noise budget sweeps it).

    Returns:
        A module x (B, n_in) -> (B, n_obs) with the noisy expectation values; its angles are
        trainable exactly when ``module``'s are (a frozen circuit stays frozen under noise).
    """
    if backend.noise is None:
        return module
    weight = module.weight.detach()
    dtype = weight.dtype if weight.dtype in (torch.float32, torch.float64) else torch.float32
    common = {
        "engine": getattr(module, "engine", "fast"),
        "shots": backend.shots or None,
        "seed": seed,
        "initial_weights": weight.double().cpu().clone(),
        "dtype": dtype,
    }
    if backend.device_model == "scheduled":
        sched = scheduled_device(
            block,
            _fake(backend.noise),
            level=backend.optimization_level,
            strategy=backend.layout,
            seed=backend.seed_transpiler,
            noise_scale=noise_scale,
        )
        try:
            noisy = scheduled_module(block, sched, **common)
        except CircuitError as err:  # the engine's memory check, before allocating
            raise ConfigError(
                f"backend {backend.name!r}: device_model = 'scheduled' runs the block's "
                f"scheduled ISA circuit ({len(sched.qubits)} qubits), which does not fit: {err}; "
                "set device_model = 'logical' for this entry"
            ) from None
    else:
        noise = device_noise_model(block, backend, noise_scale=noise_scale)
        noisy = connect_block(block, noise=noise, **common)
    noisy.weight.requires_grad_(module.weight.requires_grad)
    return noisy
