"""Local simulators for ``hq-qiskit run`` besides the runtime's local testing mode (the exact
noisy executor of ``executors.py`` and the checks of a device run).

- ``exact_noisy_values``: ``--simulator exact-noisy``. A block runs on hq-qiskit's exact noisy
  engine (``quantum/noisy/``) with the device noise of its logical circuit
  (``hardware/device_noise.py``: the ISA layout, routing SWAPs, native-gate errors, T1/T2 over
  gate durations, readout of the final-layout qubits), ``shots`` samples per Pauli term:
  seconds where Aer's trajectories of the 16-qubit ISA circuit take hours. Its row says so
  (engine, noise-model source, snapshot, shots, approximation): never a device, never Aer.
- ``aer_reference``: the same logical circuit and noise on Aer's density-matrix method, exact
  (each occurrence's channel by ``positional.aer_circuit``, readout folded into the
  observables), for the first few samples of a narrow block: the reference the engine's exact
  mean must match to ``AER_CHECK_TOL``.
(``--compare-mitigation``'s measured table is ``inference/mitigation_report.py``.)
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.device_noise import device_noise
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.noisy.positional import aer_circuit
from hq_qiskit.quantum.noisy.readout import fold_readout

ENGINE = "exact-noisy"
ENGINE_LABEL = "hq-qiskit exact noisy engine (quantum/noisy, density matrices on light cones)"
APPROXIMATION = (
    "device noise attached to the logical circuit (hardware/device_noise.py): native-gate "
    "depolarising + T1/T2 errors of the ISA layout and routing SWAPs and idle-time relaxation "
    "over the ALAP schedule's idle windows, each at its own gate occurrence, asymmetric readout "
    "of the final layout; left out: crosstalk, leakage, correlated readout, non-Markovian "
    "noise (docs/design.md, 'Noise')"
)
AER_CHECK_QUBITS = 10  # Aer's density matrix is 4**n numbers: narrow blocks only
AER_CHECK_TOL = 1e-6  # exact against exact: max |engine - Aer| allowed
_NOISE: dict[tuple, Any] = {}


def block_noise(block: QuantumBlock, entry: Backend):
    """``device_noise(block, entry)``, kept here per (block, entry) for this process: the
    engine and its Aer check use the very same noise model."""
    key = (block.key, tuple(p.uuid for p in block.circuit.parameters), entry)
    if key not in _NOISE:
        _NOISE[key] = device_noise(block, entry)
    return _NOISE[key]


def exact_noisy_values(
    block: QuantumBlock,
    weights: np.ndarray,
    x: np.ndarray,
    entry: Backend,
    *,
    shots: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """One block's values on the exact noisy engine with its device noise.

    Args:
        block: the logical block.
        weights: its trained weights (n_w,), radians.
        x: inputs (N, n_in).
        entry: the runtime entry whose fake twin (``noise``) gives the device noise, with its
            optimisation level, layout strategy and transpiler seed.
        shots: samples per Pauli term (0: the exact noisy mean).
        seed: seed of the shot sampler.

    Returns:
        (values (N, n_obs), standard errors (N, n_obs), the provenance record of the block).
    """
    start = time.perf_counter()
    info = block_noise(block, entry)
    module = connect_block(
        block,
        noise=info.noise_model,
        shots=shots or None,
        seed=seed,
        initial_weights=torch.as_tensor(weights, dtype=torch.float64),
        dtype=torch.float64,
    )
    with torch.no_grad():
        evs = module(torch.as_tensor(x, dtype=torch.float64)).numpy()  # (N, n_obs)
    # one Pauli term per observable: the sampled mean of +-1 eigenvalues
    stds = np.sqrt(np.clip(1 - evs**2, 0, None) / shots) if shots else np.zeros_like(evs)
    record = {
        "job_id": None,
        "status": "DONE",
        "local": True,
        "ideal_simulator": False,
        "simulator": ENGINE,
        "engine": ENGINE_LABEL,
        "device": entry.noise,
        "noise_model_source": (
            f"device noise of the logical circuit on {info.snapshot} (level "
            f"{info.mapped.optimization_level}, layout {info.mapped.strategy}, seed "
            f"{info.mapped.seed}; {info.swaps} routing swaps; native gates {info.native_gates})"
        ),
        "backend_version": None,
        "snapshot_date": info.snapshot.split(" ", 2)[-1] or None,
        "snapshot": info.snapshot,
        "approximation": APPROXIMATION,
        "mode": "local simulator",
        "note": (
            f"local simulator {ENGINE}: {ENGINE_LABEL} with the device noise of "
            f"{entry.noise} ({info.snapshot}); not a device and not the runtime's local "
            "testing mode (Aer)"
        ),
        "mitigation_requested": list(entry.mitigation),
        "mitigation_applied": [],
        "mitigation_applied_source": "the exact noisy engine applies none",
        "shots": shots,
        "seed": seed,
        "noise_build_s": info.build_s,
        "seconds": time.perf_counter() - start,
    }
    return evs, stds, record


def aer_reference(
    block: QuantumBlock, weights: np.ndarray, x: np.ndarray, noise_model
) -> np.ndarray | None:
    """Aer's exact values of the logical circuit under ``noise_model``: what the exact noisy
    engine computes, computed by Aer, with no shots on either side.

    Aer's density matrix runs ``positional.aer_circuit`` of the bound circuit (each gate
    occurrence's own channel after it, idle windows included, as ``device_noise`` built them;
    the per-key model where the model has none for this circuit), and reads the observables
    folded with the model's readout errors (``readout.fold_readout``, as the engine reads them).
    An engine that left any of the noise out differs by the noise itself, not by shot noise.

    Returns:
        values (N, n_obs), or None for a block wider than ``AER_CHECK_QUBITS``.
    """
    from qiskit_aer import AerSimulator

    n = block.circuit.num_qubits
    if n > AER_CHECK_QUBITS:
        return None
    folded = fold_readout(block.observables, noise_model, n)
    params = {p: float(w) for p, w in zip(block.weights, weights, strict=True)}
    out = np.zeros((len(x), len(folded)))
    for i, row in enumerate(x):
        bound = block.circuit.assign_parameters(
            {**params, **{p: float(v) for p, v in zip(block.inputs, row, strict=True)}}
        )
        circuit, model = aer_circuit(bound, noise_model)
        qc = circuit.copy()
        for j, op in enumerate(folded):
            qc.save_expectation_value(op, list(range(n)), label=f"o{j}")
        data = AerSimulator(method="density_matrix", noise_model=model).run(qc).result().data(0)
        out[i] = [float(np.real(data[f"o{j}"])) for j in range(len(folded))]
    return out


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    """mean |a - b| (NaN for empty inputs)."""
    return float(np.abs(a - b).mean()) if a.size else math.nan
