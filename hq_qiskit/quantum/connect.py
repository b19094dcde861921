"""``connect``: the one entry point that turns a Qiskit circuit into a torch module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from torch import Tensor, nn

from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.errors import ConfigError

ENGINES = ("fast", "qiskit")
Engine = Literal["fast", "qiskit"]


def connect(
    circuit: QuantumCircuit,
    input_params: Sequence[Parameter],
    weight_params: Sequence[Parameter],
    observables: Sequence[SparsePauliOp],
    *,
    engine: Engine = "fast",
    dtype: torch.dtype = torch.float32,
    initial_weights: Tensor | None = None,
    precision: float = 0.0,
    route: Literal["auto", "cut", "network", "statevector"] = "auto",
    max_memory_gb: float = 4.0,
    gradient: Literal["auto", "autograd", "adjoint"] = "auto",
    noise=None,
    shots: int | None = None,
    seed: int = 0,
    shot_basis_qubits: int | None = None,
) -> nn.Module:
    """Wrap this circuit object as a module: x (B, n_in) -> (B, n_obs) in [-1, 1].

    Both engines keep TorchConnector's contract: one ``nn.Parameter`` named ``weight`` of
    shape (n_w,), radians, and gradients for inputs and weights.

    Args:
        circuit: the circuit; every parameter must be in ``input_params`` or ``weight_params``.
        input_params: parameters bound from the columns of x, in column order.
        weight_params: trainable parameters, in the order of ``module.weight``.
        observables: one output per observable (Hermitian ``SparsePauliOp``).
        engine: "fast" (exact in-process torch engine) or "qiskit" (EstimatorQNN +
            TorchConnector on Aer, parameter-shift gradients; ~minutes per sample at 16 qubits).
        dtype: real dtype of the fast engine's outputs (float32 or float64).
        initial_weights: (n_w,) radians; default uniform in [-pi, pi) from torch's generator.
        precision: only for engine "qiskit": the estimator precision; 0 is exact.
        route: only for engine "fast": "auto" (the planner's cheapest estimate), "cut",
            "network" or "statevector" (see ``hq_qiskit.quantum.fast.plan``).
        max_memory_gb: the most a forward+backward may take, GB (1e9 bytes), on the fast and
            the exact noisy engine alike; a circuit or batch over it is refused before
            anything is allocated.
        gradient: only for engine "fast": "auto", "autograd" or "adjoint" (adjoint
            differentiation of the state vectors: memory bounded by about three states; see
            ``hq_qiskit.quantum.fast.adjoint``).
        noise: a ``qiskit_aer.noise.NoiseModel`` or None (ideal). Engine "fast" applies its
            errors exactly (``quantum/noisy/``: density matrices on light cones, readout errors
            folded into the observables); engine "qiskit" gives it to Aer's ``EstimatorV2``,
            which leaves readout out, so the same readout is folded into the observables it
            passes (``noisy/readout.py``): one ``noise=`` gives one answer on both engines.
            Refused in one line (``ConfigError``): a model whose gate errors name none of the
            circuit's operations (a device basis given to a logical circuit: transpile it, or
            use ``hq_qiskit.hardware.device_noise.device_noise_model``), and, on engine
            "qiskit", errors on gates Aer's workaround decomposes (``aer_safe``).
        shots: None or 0: exact values. N > 0: engine "fast" returns each Pauli term's mean
            over N shots of its measurement basis, qubit-wise commuting terms read from the
            same bitstrings (``quantum/fast/shots.py``; seeded, gradients of the exact mean),
            drawn from the exact values of the ideal engine without noise (at its cost plus
            sampling: ring_96 at shots=1024 runs) or of the noisy engine with it; engine
            "qiskit" runs Aer at precision 1/sqrt(N).
        seed: seed of the shot-noise generator (and of Aer's simulator for engine "qiskit").
        shot_basis_qubits: only for engine "fast" with shots: the widest measurement basis
            drawn jointly, qubits; a basis on k qubits costs 2^k - 1 extra terms, a wider one
            draws each Pauli string on its own (no covariance between them); 0: all on their own;
            None: the engine's default, 10 (``shots.JOINT_QUBITS``).
    """
    if initial_weights is None:
        initial_weights = (torch.rand(len(weight_params), dtype=torch.float64) * 2 - 1) * torch.pi
    if engine == "fast":
        circuit_args = (circuit, input_params, weight_params, observables)
        options = {"route": route, "max_memory_gb": max_memory_gb, "gradient": gradient}
        if shot_basis_qubits is not None:
            options["shot_basis_qubits"] = shot_basis_qubits
        return _fast_module(circuit_args, dtype, initial_weights, noise, shots, seed, options)
    if engine == "qiskit":
        circuit_args = (circuit, input_params, weight_params, observables)
        return _qiskit_module(circuit_args, initial_weights, precision, noise, shots, seed)
    raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def _fast_module(
    circuit_args: tuple,
    dtype: torch.dtype,
    initial_weights: Tensor,
    noise,
    shots: int | None,
    seed: int,
    options: dict,
) -> nn.Module:
    """``connect`` for engine "fast": the noisy engine with a noise model, else the ideal one.

    Args:
        circuit_args: (circuit, input_params, weight_params, observables) as ``connect``.
        options: route, max_memory_gb, gradient and (if given) shot_basis_qubits, as
            ``connect``.
        dtype, initial_weights, noise, shots, seed: as ``connect``.
    """
    common = {"shots": shots, "seed": seed, "dtype": dtype, "initial_weights": initial_weights}
    if noise is not None:
        from hq_qiskit.quantum.noisy import NoisyEngine

        noisy = {k: v for k, v in options.items() if k in ("max_memory_gb", "shot_basis_qubits")}
        return NoisyEngine(*circuit_args, noise=noise, **noisy, **common)
    from hq_qiskit.quantum.fast import FastEngine

    return FastEngine(*circuit_args, **options, **common)


def _qiskit_module(
    circuit_args: tuple,
    initial_weights: Tensor,
    precision: float,
    noise,
    shots: int | None,
    seed: int,
) -> nn.Module:
    """``connect`` for engine "qiskit": Aer's estimator with the same physics as engine "fast".

    Args:
        circuit_args: (circuit, input_params, weight_params, observables) as ``connect``.
        initial_weights, precision, noise, shots, seed: as ``connect``.
    """
    from hq_qiskit.quantum.qiskit_engine import QiskitEngine, aer_estimator, check_noise_kept

    circuit, input_params, weight_params, observables = circuit_args
    if shots:
        precision = 1.0 / shots**0.5
    estimator = None
    if noise is not None:  # one physics with engine "fast": same errors, same readout
        from hq_qiskit.quantum.noisy.noise_table import check_noise_basis
        from hq_qiskit.quantum.noisy.readout import fold_readout

        check_noise_basis(noise, circuit)
        check_noise_kept(circuit, noise)
        observables = fold_readout(observables, noise, circuit.num_qubits)
    if noise is not None or shots:
        estimator = aer_estimator(precision, seed=seed, noise_model=noise)
    return QiskitEngine(
        circuit,
        input_params,
        weight_params,
        observables,
        initial_weights=initial_weights,
        precision=precision,
        estimator=estimator,
    )


def connect_block(block: QuantumBlock, **kwargs) -> nn.Module:
    """``connect`` for a ``QuantumBlock`` from ``hq_qiskit.circuits``; kwargs as ``connect``."""
    return connect(block.circuit, block.inputs, block.weights, block.observables, **kwargs)
