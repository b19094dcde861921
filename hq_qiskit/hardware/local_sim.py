"""Local simulators for ``hq-qiskit run`` besides the runtime's local testing mode (the exact
noisy executor of ``executors.py`` and the checks of a device run).

- ``exact_noisy_values``: ``--simulator exact-noisy``. A block runs on hq-qiskit's exact noisy
  engine (``quantum/noisy/``) with the device noise of its logical circuit
  (``hardware/device_noise.py``: the ISA layout, routing SWAPs, native-gate errors, T1/T2 over
  gate durations, readout of the final-layout qubits), ``shots`` samples per Pauli term:
  seconds where Aer's trajectories of the 16-qubit ISA circuit take hours. Its row says so
  (engine, noise-model source, snapshot, shots, approximation): never a device, never Aer.
- ``aer_reference``: the same logical circuit and noise model on Aer's density-matrix method,
  sampled with readout errors, for the first few samples of a narrow block (the reference).
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

ENGINE = "exact-noisy"
ENGINE_LABEL = "hq-qiskit exact noisy engine (quantum/noisy, density matrices on light cones)"
APPROXIMATION = (
    "device noise attached to the logical circuit (hardware/device_noise.py): native-gate "
    "depolarising + T1/T2 errors of the ISA layout and routing SWAPs, readout of the final "
    "layout; left out: idle-time relaxation, crosstalk, leakage, correlated readout, the "
    "position of errors shared by one gate key (docs/design.md, 'Noise')"
)
AER_CHECK_QUBITS = 10  # Aer's density matrix is 4**n numbers: narrow blocks only
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


def _group_values(counts: dict[str, int], n: int) -> np.ndarray:
    """<Z_q> for q = 0..n-1 from a counts dict (bit q is character n-1-q)."""
    total = sum(counts.values())
    z = np.zeros(n)
    for bits, c in counts.items():
        for q in range(n):
            z[q] += c * (1 - 2 * int(bits[n - 1 - q]))
    return z / total


def aer_reference(
    block: QuantumBlock,
    weights: np.ndarray,
    x: np.ndarray,
    noise_model,
    *,
    shots: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Aer's values of the logical circuit with ``noise_model`` (readout included): the
    density-matrix method, ``shots`` measured shots per basis (one Z and one X basis
    circuit per sample); None where it does not apply (wider than ``AER_CHECK_QUBITS``, or
    observables that are not single-qubit Z or X).

    Returns:
        (values (N, n_obs), standard errors (N, n_obs)) or None.
    """
    from qiskit_aer import AerSimulator

    n = block.circuit.num_qubits
    labels = []
    for op in block.observables:
        terms = op.to_sparse_list()
        if len(terms) != 1 or len(terms[0][1]) != 1 or terms[0][0] not in "ZX" or terms[0][2] != 1:
            return None
        labels.append((terms[0][0], terms[0][1][0]))
    if n > AER_CHECK_QUBITS:
        return None
    sim = AerSimulator(method="density_matrix", noise_model=noise_model, seed_simulator=seed)
    params = {p: float(w) for p, w in zip(block.weights, weights, strict=True)}
    out = np.zeros((len(x), len(labels)))
    for i, row in enumerate(x):
        bound = block.circuit.assign_parameters(
            {**params, **{p: float(v) for p, v in zip(block.inputs, row, strict=True)}}
        )
        values = {}
        for basis in "ZX":
            qc = bound.copy()
            if basis == "X":
                qc.h(range(n))
            qc.measure_all()
            counts = sim.run(qc, shots=shots).result().get_counts()
            values[basis] = _group_values(counts, n)
        out[i] = [values[b][q] for b, q in labels]
    return out, np.sqrt(np.clip(1 - out**2, 0, None) / shots)


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    """mean |a - b| (NaN for empty inputs)."""
    return float(np.abs(a - b).mean()) if a.size else math.nan
