"""What a block's job costs on a device, in QPU seconds, before anything is submitted.

``qpu_seconds_estimate`` is IBM's documented baseline, a lower bound (2 s per sub-job plus
(rep_delay + circuit duration) x executions); ``runtime_estimate`` asks the service for its own
dry-run estimate where it offers one.
"""

from __future__ import annotations

import logging
import time

from hq_qiskit.hardware.estimator import estimator
from hq_qiskit.hardware.layout import MappedCircuit, with_readout
from hq_qiskit.hardware.runtime import RuntimeTarget

log = logging.getLogger(__name__)

# IBM's documented baseline: about 2 s per sub-job plus (rep_delay + circuit) x executions.
SUBJOB_OVERHEAD_S = 2.0
REP_DELAY_S = 250e-6  # only when the backend's configuration does not say


def rep_delay_s(backend) -> float:
    """Delay between shots, seconds: the backend configuration's ``default_rep_delay`` (IBM
    devices and their fake twins carry it), else IBM's usual 250 us."""
    try:
        value = float(backend.configuration().default_rep_delay)
    except Exception:  # no configuration (AerSimulator) or no such field
        return REP_DELAY_S
    return value if 0 < value < 1 else REP_DELAY_S


def qpu_seconds_estimate(
    mapped: MappedCircuit,
    target_obj,
    n_circuits: int,
    shots: int,
    n_subjobs: int = 1,
    rep_delay: float = REP_DELAY_S,
) -> float:
    """A lower bound on QPU time, seconds: 2 s per sub-job + (rep_delay + duration) x shots.

    IBM's documented baseline (the runtime's own estimate needs a server-side dry run, see
    ``runtime_estimate``). ``n_circuits`` counts bound circuits x measurement groups; the
    duration includes the final measurements; ``rep_delay`` in seconds (``rep_delay_s``).
    """
    try:
        duration = float(with_readout(mapped.circuit).estimate_duration(target_obj, unit="s"))
    except Exception:
        duration = 0.0
    return SUBJOB_OVERHEAD_S * n_subjobs + (rep_delay + duration) * shots * n_circuits


def runtime_estimate(target: RuntimeTarget, pub, shots: int, precision: float):
    """The runtime's own QPU estimate of one PUB, seconds, from a server-side dry run
    (``EstimatorV2.run(..., dry_run=True)`` on the device's mock twin, qiskit-ibm-runtime
    >= 0.51, ``job.usage_estimation``); None where it is not offered (local mode, older
    runtimes, an account without access) or does not answer within 60 s."""
    from qiskit_ibm_runtime import IBMBackend

    if target.local or not isinstance(target.backend, IBMBackend):
        return None
    try:  # pragma: no cover - needs IBM Quantum
        est = estimator(target, target.backend, shots, precision, target.mitigation, None)
        job = est.run([pub], dry_run=True)
        deadline = time.monotonic() + 60
        while not job.done() and time.monotonic() < deadline:
            time.sleep(1)
        value = job.usage_estimation.get("quantum_seconds")
        return None if value is None else float(value)
    except Exception as err:  # pragma: no cover - the estimate is optional
        log.info("no runtime usage estimate (%s: %s); using ours", type(err).__name__, err)
        return None
