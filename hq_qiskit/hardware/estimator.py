"""qiskit-ibm-runtime's client-side ``Estimator`` for one job, and the PUB it runs: one PUB per
block, all samples as a parameter array of shape (N, 1, P) against (1, n_obs) mapped observables.

The Estimator is ``qiskit_ibm_runtime.executor_estimator.Estimator`` (runtime 0.50+, built on
the ``Executor``; ``EstimatorV2`` is deprecated): it prepares the quantum program (mitigation,
twirling, shots) on the client and submits it to the Executor, on a device or, in local mode, on
the block's region simulator (``region_sim.py``). Device runs, local runs and the mitigation
comparison all go through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

import numpy as np
from qiskit.circuit import Parameter

from hq_qiskit.errors import HQError
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.runtime import RuntimeTarget


def set_mitigation(options, mitigation: Collection[str]) -> None:
    """Switch an Estimator's ``options`` to exactly the named mitigation ("trex", "zne",
    "twirling", "dd"): resilience level 0, then each one on by name (TREX twirls readout)."""
    options.resilience_level = 0
    options.resilience.measure_mitigation = "trex" in mitigation
    options.resilience.zne_mitigation = "zne" in mitigation
    options.twirling.enable_gates = "twirling" in mitigation
    options.twirling.enable_measure = "twirling" in mitigation or "trex" in mitigation
    options.dynamical_decoupling.enable = "dd" in mitigation


# Aer seeds shot i of a run with seed_simulator + i, so seeds k and k + 1 would share all but
# one shot (measured: seeds 0, 1, 2 gave identical values at 16 shots); seed k starts at
# k x SEED_STRIDE, above any run's shot count, so different seeds share no shot.
SEED_STRIDE = 2**31


def simulator_seed(seed: int) -> int:
    """The ``simulator.seed_simulator`` passed for ``--seed``: ``seed x SEED_STRIDE`` (the
    Executor's local mode seeds Aer and its randomisations with it, 0 included)."""
    return int(seed) * SEED_STRIDE


def estimator(
    target: RuntimeTarget,
    mode_obj,
    shots: int,
    precision: float,
    mitigation: Sequence[str],
    seed: int | None,
    max_execution_time: int | None = None,
):
    """The client-side Estimator on ``mode_obj`` (a device, Batch, Session, or locally the
    region simulator) with shots or precision, exactly the ``mitigation`` named (none: resilience
    level 0, which a local target always asks for), the job's ``max_execution_time`` (seconds of
    QPU time after which IBM stops it) and, locally, the simulator seed."""
    from qiskit_ibm_runtime.executor_estimator import Estimator

    est = Estimator(mode=mode_obj)
    if max_execution_time:
        est.options.max_execution_time = max_execution_time
    if shots:
        est.options.default_shots = shots
    else:
        est.options.default_precision = precision
    set_mitigation(est.options, mitigation)
    if target.local and seed is not None:
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
