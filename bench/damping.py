"""Baseline for the benchmarks: device noise as calibrated per-observable damping.

Formerly ``hq_qiskit/hardware/noise.py``, the fast engine's noise mode. Training no longer uses
it (``hardware/noisy_block.py`` applies the device noise exactly): a damping factor per output
is absorbed by the next linear layer, so it does not change the function class a model can
learn (issue 12). It lives here as the baseline ``bench/hardware.py`` compares with; its
calibration sizes, once the ``calibration_samples``/``calibration_shots`` keys of
``backends.toml``, are ``CALIBRATION_SAMPLES``/``CALIBRATION_SHOTS`` (or the arguments).

Approximation. For each observable k of a block, transpiled for a backend with its layout, the
noisy expectation value is modelled as ``d_k * <O_k>_ideal``: a damping factor d_k, the signal
the gates' depolarising and relaxation noise leaves. It is fitted by least squares through the
origin, once per (block, backend, layout), against Aer's noisy simulation of the *ISA circuit*
with the backend's noise model, on random inputs and weights. (``offset=True`` also fits an
offset b_k, for amplitude damping's pull of <Z> towards +1; with a few hundred trajectories its
estimate is noisier than the bias it removes, so it is off by default.) Pauli-twirled noise
damps Pauli observables by factors that do not depend on the state, so one fit serves every
input; damping computed straight from the
target's error rates was measured to overestimate the loss 4-9x, hence the calibration.
Readout error is left out, as in Aer's estimator (runtime local mode applies it: a further
factor of about 1 - 2 p_readout). Optional shot noise adds N(0, (1 - y^2) / shots) to each
value, the spread of ``shots`` single-shot Pauli measurements; it carries no gradient.

The calibration is cached in memory and on disk (``$HQ_QISKIT_CACHE`` or
``~/.cache/hq-qiskit/noise``), keyed by the circuit, the backend entry's transpile settings and
the calibration settings. The noise model of each fake backend is built once per process.

The stock path, ``noisy_module`` on a module of engine "qiskit", wraps the ISA circuit in
``EstimatorQNN`` on Aer with the noise model: the reference, minutes per sample at 16 qubits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from hq_qiskit.atomic import atomic_write
from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, fake_backend
from hq_qiskit.hardware.layout import MappedCircuit, isa_block

log = logging.getLogger(__name__)
CACHE_VAR = "HQ_QISKIT_CACHE"
# the calibration run's size (formerly backends.toml's calibration_samples / calibration_shots):
# 16 samples x 64 noisy trajectories, ~311 s once for the 16-qubit QCNN (docs/benchmarks.md)
CALIBRATION_SAMPLES, CALIBRATION_SHOTS = 16, 64


@lru_cache(maxsize=4)
def noise_model(fake_name: str):
    """Aer ``NoiseModel`` of a fake backend (8-12 s to build; cached per process)."""
    from qiskit_aer.noise import NoiseModel

    return NoiseModel.from_backend(fake_backend(fake_name))


def mapped_block(block: QuantumBlock, backend: Backend) -> MappedCircuit:
    """The block transpiled for the backend's fake target with its layout (cached)."""
    if backend.noise is None:
        raise ConfigError(f"backend {backend.name!r} is ideal; noise needs an entry with 'noise'")
    return isa_block(block, backend, fake_backend(backend.noise))


def _columns(block: QuantumBlock, mapped: MappedCircuit, x: np.ndarray, w: np.ndarray):
    """Parameter array (N, 1, P) in circuit order from inputs x (N, n_in) and weights w (N, n_w)."""
    from hq_qiskit.hardware.estimator import parameter_array

    cols = {p: x[:, j] for j, p in enumerate(block.inputs)}
    cols.update({p: w[:, j] for j, p in enumerate(block.weights)})
    return parameter_array(mapped, cols)


def aer_values(
    block: QuantumBlock,
    backend: Backend | None,
    x: np.ndarray,
    w: np.ndarray,
    *,
    shots: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """Aer expectation values in one PUB: x (N, n_in), w (N, n_w) radians -> (N, n_obs).

    With ``backend=None``: exact values of the logical circuit. Otherwise the ISA circuit on
    the backend's target with its noise model, averaged over ``shots`` noisy trajectories
    (Aer's estimator at precision 0; readout error is not applied).
    """
    from qiskit_aer.primitives import EstimatorV2

    from hq_qiskit.hardware.estimator import observable_array

    if backend is None:
        mapped = MappedCircuit(block.circuit, block.observables, (), (), "logical", 0, 0, 0, 0.0)
        est = EstimatorV2(options={"default_precision": 0.0})
    else:
        mapped = mapped_block(block, backend)
        est = EstimatorV2(
            options={
                "default_precision": 0.0,
                "backend_options": {"noise_model": noise_model(backend.noise)},
                "run_options": {"shots": shots, "seed_simulator": seed},
            }
        )
    values = _columns(block, mapped, x, w)
    result = est.run([(mapped.circuit, observable_array(mapped), values)]).result()[0]
    return np.asarray(result.data.evs, dtype=float)  # (N, n_obs)


@dataclass(frozen=True)
class NoiseCalibration:
    """Per-observable affine noise model of one block on one backend and layout.

    Attributes:
        backend: fake backend name (e.g. "FakeBrisbane"); ``layout``: final physical qubits.
        damping, offset: (n_obs,) factors: noisy = damping * ideal + offset (offset 0 unless
            fitted with ``offset=True``).
        samples, shots, seed: the calibration's Aer run (noisy trajectories per sample).
        fit_mad: mean |noisy - model| on the calibration samples (includes Aer's own noise).
        seconds: calibration wall time.
    """

    key: str
    block: str
    backend: str
    layout: tuple[int, ...]
    damping: tuple[float, ...]
    offset: tuple[float, ...]
    samples: int
    shots: int
    seed: int
    fit_mad: float
    seconds: float


def cache_dir() -> Path:
    """Where calibrations are kept: ``$HQ_QISKIT_CACHE`` or ``~/.cache/hq-qiskit``, + /noise."""
    root = os.environ.get(CACHE_VAR) or Path.home() / ".cache" / "hq-qiskit"
    return Path(root) / "noise"


def fit_damping(
    ideal: np.ndarray, noisy: np.ndarray, offset: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (d, b) per column with noisy ~ d * ideal + b; ideal, noisy (N, n_obs).

    With ``offset=False``, b = 0 and d = sum(ideal * noisy) / sum(ideal ** 2).
    """
    if not offset:
        den = (ideal**2).sum(0)
        d = np.where(den > 1e-12, (ideal * noisy).sum(0) / np.maximum(den, 1e-12), 1.0)
        return d, np.zeros_like(d)
    mi, mn = ideal.mean(0), noisy.mean(0)
    var = ((ideal - mi) ** 2).sum(0)
    d = np.where(var > 1e-12, ((ideal - mi) * (noisy - mn)).sum(0) / np.maximum(var, 1e-12), 1.0)
    return d, mn - d * mi


def random_parameters(block: QuantumBlock, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs x (n, n_in) uniform in [-1, 1] (the pre-Q tanh range) and weights (n, n_w)
    uniform in [-pi, pi) radians."""
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(-1, 1, (n, block.n_inputs)),
        rng.uniform(-np.pi, np.pi, (n, block.n_weights)),
    )


_CALIBRATIONS: dict[str, NoiseCalibration] = {}


def calibrate(
    block: QuantumBlock,
    backend: Backend,
    *,
    samples: int = 16,
    shots: int = 64,
    seed: int = 0,
    offset: bool = False,
    cache: bool = True,
) -> NoiseCalibration:
    """Fit the block's damping on the backend (Aer noisy vs exact), or load it from the cache.

    Cost: ``samples * shots`` noisy trajectories, ~0.3 s each for the 16-qubit enrichment QCNN
    on FakeBrisbane with a 16-qubit layout (2 CPU cores).
    """
    mapped = mapped_block(block, backend)
    parts = [
        block.key,
        backend.noise,
        backend.optimization_level,
        backend.layout,
        backend.seed_transpiler,
        samples,
        shots,
        seed,
        offset,
    ]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:20]
    path = cache_dir() / f"{block.name}-{backend.noise}-{key}.json"
    if key in _CALIBRATIONS:
        return _CALIBRATIONS[key]
    if cache and path.is_file():
        raw = json.loads(path.read_text())
        cal = NoiseCalibration(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        )
        _CALIBRATIONS[key] = cal
        return cal
    start = time.perf_counter()
    x, w = random_parameters(block, samples, seed)
    ideal = aer_values(block, None, x, w)
    noisy = aer_values(block, backend, x, w, shots=shots, seed=seed)
    d, b = fit_damping(ideal, noisy, offset)
    cal = NoiseCalibration(
        key=key,
        block=block.name,
        backend=backend.noise,
        layout=mapped.final_layout,
        damping=tuple(float(v) for v in d),
        offset=tuple(float(v) for v in b),
        samples=samples,
        shots=shots,
        seed=seed,
        fit_mad=float(np.abs(noisy - (d * ideal + b)).mean()),
        seconds=time.perf_counter() - start,
    )
    log.info(
        "noise calibration of %s on %s: mean damping %.3f, fit MAD %.4f, %.0f s",
        block.name,
        backend.noise,
        float(d.mean()),
        cal.fit_mad,
        cal.seconds,
    )
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(asdict(cal), indent=1))
    _CALIBRATIONS[key] = cal
    return cal


class NoisyModule(nn.Module):
    """A quantum module with calibrated device noise: x (B, n_in) -> (B, n_obs) in [-1, 1].

    Attributes:
        inner: the ideal module (its ``weight`` is this module's ``weight``).
        calibration: the damping and offsets in use.
        shots: if set, shot noise of that many shots per value is added (no gradient through it).
    """

    def __init__(
        self, inner: nn.Module, calibration: NoiseCalibration, shots: int | None = None
    ) -> None:
        super().__init__()
        # held, not registered: the state dict is {"weight"}, the ideal module's, so a
        # noise-trained checkpoint loads into the ideal model and back (the calibration is
        # rebuilt from the backend entry, not stored)
        object.__setattr__(self, "inner", inner)
        self.weight = inner.weight
        self.calibration = calibration
        self.shots = shots
        damping = torch.tensor(calibration.damping, dtype=torch.float64)
        self.register_buffer("damping", damping, persistent=False)
        offset = torch.tensor(calibration.offset, dtype=torch.float64)
        self.register_buffer("offset", offset, persistent=False)
        self.engine = f"{getattr(inner, 'engine', 'fast')}+noise"

    def forward(self, x: Tensor) -> Tensor:
        """Noisy expectation values (B, n_obs) for inputs x (B, n_in), in the inner dtype."""
        y = self.inner(x)  # (B, n_obs), ideal
        y = y * self.damping.to(y) + self.offset.to(y)
        if self.shots:
            std = torch.sqrt(torch.clamp(1 - y.detach() ** 2, min=0.0) / self.shots)
            y = y + std * torch.randn_like(y)
        return y.clamp(-1.0, 1.0)


def _stock_noisy(
    module: nn.Module, block: QuantumBlock, backend: Backend, shots: int, seed: int
) -> nn.Module:
    """EstimatorQNN + TorchConnector on Aer with the noise model and the ISA circuit."""
    from qiskit_aer.primitives import EstimatorV2

    from hq_qiskit.quantum.qiskit_engine import QiskitEngine

    mapped = mapped_block(block, backend)
    est = EstimatorV2(
        options={
            "default_precision": 0.0,
            "backend_options": {"noise_model": noise_model(backend.noise)},
            "run_options": {"shots": shots, "seed_simulator": seed},
        }
    )
    return QiskitEngine(
        mapped.circuit,
        block.inputs,
        block.weights,
        mapped.observables,
        initial_weights=module.weight.detach().clone(),
        estimator=est,
    )


def damped_module(
    module: nn.Module,
    block: QuantumBlock,
    backend: Backend,
    *,
    shots: int | None = None,
    samples: int | None = None,
    calibration_shots: int | None = None,
    seed: int = 0,
) -> nn.Module:
    """The same block with the backend's device noise; same contract as ``connect``'s module.

    Args:
        module: from ``connect_block(block, engine=...)``; engine "fast" gets the calibrated
            damping (cheap), engine "qiskit" is rebuilt as EstimatorQNN on noisy Aer (stock,
            slow) with the same weights.
        block: the module's block.
        backend: an entry with ``noise`` (e.g. ``get_backend("aer-noisy-brisbane")``).
        shots: fast: add shot noise for this many shots (None: none); qiskit: noisy
            trajectories per value (default: ``backend.shots`` or 1024).
        samples, calibration_shots, seed: the calibration run (see ``calibrate``); None takes
            ``CALIBRATION_SAMPLES`` / ``CALIBRATION_SHOTS``.
    """
    if backend.noise is None:
        return module
    if getattr(module, "engine", None) == "qiskit":
        return _stock_noisy(module, block, backend, shots or backend.shots or 1024, seed)
    cal = calibrate(
        block,
        backend,
        seed=seed,
        samples=CALIBRATION_SAMPLES if samples is None else samples,
        shots=CALIBRATION_SHOTS if calibration_shots is None else calibration_shots,
    )
    return NoisyModule(module, cal, shots=shots)
