"""IBM Runtime's ``EstimatorV2`` for one job, and the PUB it runs: one PUB per block, all
samples as a parameter array of shape (N, 1, P) against (1, n_obs) mapped observables.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Collection, Sequence

import numpy as np
from qiskit.circuit import Parameter

from hq_qiskit.errors import HQError
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.runtime import RuntimeTarget


def set_mitigation(options, mitigation: Collection[str]) -> None:
    """Switch an EstimatorV2's ``options`` to exactly the named mitigation ("trex", "zne",
    "twirling", "dd"): resilience level 0, then each one on by name (TREX twirls readout)."""
    options.resilience_level = 0
    options.resilience.measure_mitigation = "trex" in mitigation
    options.resilience.zne_mitigation = "zne" in mitigation
    options.twirling.enable_gates = "twirling" in mitigation
    options.twirling.enable_measure = "twirling" in mitigation or "trex" in mitigation
    options.dynamical_decoupling.enable = "dd" in mitigation


def simulator_seed(seed: int) -> int:
    """The ``seed_simulator`` passed for ``--seed``: seed + 1. qiskit-ibm-runtime 0.51's local
    service forwards the option only when it is truthy (``fake_provider/local_service.py``),
    so a seed of 0 would be dropped and every rerun would differ."""
    return int(seed) + 1


def estimator(
    target: RuntimeTarget,
    mode_obj,
    shots: int,
    precision: float,
    mitigation: Sequence[str],
    seed: int | None,
    max_execution_time: int | None = None,
):
    """An EstimatorV2 with shots or precision, the requested mitigation options and the
    job's ``max_execution_time`` (seconds of QPU time after which IBM stops it)."""
    from qiskit_ibm_runtime import EstimatorV2

    with warnings.catch_warnings():  # EstimatorV2 is deprecated in 0.50+, still the documented V2
        warnings.simplefilter("ignore", DeprecationWarning)
        est = EstimatorV2(mode=mode_obj)
    if max_execution_time:
        est.options.max_execution_time = max_execution_time
    if shots:
        est.options.default_shots = shots
    else:
        est.options.default_precision = precision
    if not target.local:  # pragma: no cover - local mode ignores (and warns about) these
        set_mitigation(est.options, mitigation)
    elif seed is not None:
        est.options.simulator.seed_simulator = simulator_seed(seed)
    return est


def parameter_array(mapped: MappedCircuit, columns: dict[Parameter, np.ndarray]) -> np.ndarray:
    """Parameter values (N, 1, P) in ``circuit.parameters`` order for one broadcast PUB.

    Args:
        mapped: the ISA circuit.
        columns: each circuit parameter -> its values for the N samples, shape (N,), radians.
    """
    params = list(mapped.circuit.parameters)
    missing = [p.name for p in params if p not in columns]
    if missing:
        raise HQError(f"no values for circuit parameters {missing[:5]}")
    return np.stack([np.asarray(columns[p], dtype=float) for p in params], axis=-1)[:, None, :]


def observable_array(mapped: MappedCircuit) -> np.ndarray:
    """The mapped observables as a (1, n_obs) object array (np.array would densify them)."""
    out = np.empty((1, len(mapped.observables)), dtype=object)
    for i, op in enumerate(mapped.observables):
        out[0, i] = op
    return out


def values_digest(values: np.ndarray) -> str:
    """SHA-256 of a parameter array rounded to 1e-9 rad: which inputs a job record belongs to."""
    return hashlib.sha256(np.round(np.asarray(values, float), 9).tobytes()).hexdigest()
