"""What a block's job costs on a device, in QPU seconds, before anything is submitted.

``qpu_seconds_estimate`` is a lower bound (2 s per sub-job plus (rep_delay + circuit duration)
x executions, the requested shots only); ``qpu_seconds_upper`` is the upper estimate the budget
compares (``UPPER_FORMULA``: the executions the runtime really runs with the mitigation, the
twirling randomizations and the TREX calibration, each priced at the larger of IBM's quick
estimate of 350 us and rep_delay + the circuit's duration, ZNE-folded); ``runtime_estimate``
asks the service for its own dry-run estimate where it offers one.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection

from hq_qiskit.hardware.estimator import estimator
from hq_qiskit.hardware.layout import MappedCircuit, with_readout
from hq_qiskit.hardware.runtime import RuntimeTarget

log = logging.getLogger(__name__)

# IBM's documented baseline: about 2 s per sub-job plus (rep_delay + circuit) x executions.
SUBJOB_OVERHEAD_S = 2.0
REP_DELAY_S = 250e-6  # only when the backend's configuration does not say
# IBM's quick estimate of a job's QPU time: 2 s + 0.00035 s per execution (circuit x shot)
QUICK_S_PER_EXECUTION = 350e-6
# qiskit-ibm-runtime 0.51 defaults (options/zne_options.py, twirling_options.py,
# measure_noise_learning_options.py): ZNE's noise factors; twirling's "auto" shots per
# randomization max(64, ceil(shots / 32)); TREX's calibration randomizations
ZNE_NOISE_FACTORS = (1, 3, 5)
TWIRL_MIN_SHOTS_PER_RANDOMIZATION, TWIRL_SHOT_DIVISOR = 64, 32
TREX_RANDOMIZATIONS = 32
UPPER_FORMULA = (
    "upper estimate: 2 s per job + executions x max(350 us [IBM's quick estimate], rep_delay + "
    "circuit duration x ZNE noise factor); executions = circuits x num_randomizations x "
    "shots_per_randomization (twirling/TREX) x ZNE noise factors (1, 3, 5) + TREX's "
    f"{TREX_RANDOMIZATIONS} calibration randomizations"
)


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
    duration = circuit_seconds(mapped, target_obj)
    return SUBJOB_OVERHEAD_S * n_subjobs + (rep_delay + duration) * shots * n_circuits


def twirled_shots(shots: int, mitigation: Collection[str]) -> tuple[int, int]:
    """(num_randomizations, shots_per_randomization) the runtime runs for ``shots`` shots: one
    randomization of ``shots`` without twirling; with gate or readout twirling (TWIRLING, or
    TREX, which twirls readout) its "auto" split, which rounds the shots up."""
    if not ({"twirling", "trex"} & set(mitigation)):
        return 1, shots
    per = max(TWIRL_MIN_SHOTS_PER_RANDOMIZATION, math.ceil(shots / TWIRL_SHOT_DIVISOR))
    return math.ceil(shots / per), per


def circuit_seconds(mapped: MappedCircuit, target_obj) -> float:
    """The ISA circuit's duration with its final measurements, seconds (0 if unknown)."""
    try:
        return float(with_readout(mapped.circuit).estimate_duration(target_obj, unit="s"))
    except Exception:
        return 0.0


def executions(n_circuits: int, shots: int, mitigation: Collection[str]) -> int:
    """Circuit executions (circuit x shot) the runtime runs: twirled shots x ZNE's noise
    factors per circuit, plus TREX's calibration randomizations (one set per job)."""
    n_rand, per = twirled_shots(shots, mitigation)
    factors = len(ZNE_NOISE_FACTORS) if "zne" in mitigation else 1
    trex = TREX_RANDOMIZATIONS * per if "trex" in mitigation else 0
    return n_circuits * n_rand * per * factors + trex


def qpu_seconds_upper(
    mapped: MappedCircuit,
    target_obj,
    n_circuits: int,
    shots: int,
    mitigation: Collection[str] = (),
    rep_delay: float = REP_DELAY_S,
) -> float:
    """An upper estimate of one block's job, seconds (``UPPER_FORMULA``).

    Args:
        mapped: the ISA circuit; target_obj: the device's ``Target`` (gate durations).
        n_circuits: bound circuits x measurement groups; shots: shots per circuit.
        mitigation: what the device applies ("trex", "zne", "twirling", "dd").
        rep_delay: delay between shots, seconds (``rep_delay_s``).
    """
    duration = circuit_seconds(mapped, target_obj)
    n_rand, per = twirled_shots(shots, mitigation)
    factors = ZNE_NOISE_FACTORS if "zne" in mitigation else (1,)
    per_circuit = sum(max(QUICK_S_PER_EXECUTION, rep_delay + f * duration) for f in factors)
    seconds = SUBJOB_OVERHEAD_S + n_circuits * n_rand * per * per_circuit
    if "trex" in mitigation:  # calibration circuits: readout only, priced as a whole circuit
        seconds += TREX_RANDOMIZATIONS * per * max(QUICK_S_PER_EXECUTION, rep_delay + duration)
    return seconds


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
