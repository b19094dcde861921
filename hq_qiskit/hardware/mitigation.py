"""Error mitigation you can measure: TREX, ZNE, twirling and DD on a local noisy simulation.

Where each option is applied:

- On a real device, ``hq-qiskit run`` sets the client-side Estimator's options
  (``estimator.estimator``; qiskit-ibm-runtime 0.51's ``executor_estimator.Estimator``, built on
  the Executor): ``resilience.measure_mitigation`` (TREX, with ``twirling.enable_measure``),
  ``resilience.zne_mitigation`` (ZNE, gate folding), ``twirling.enable_gates`` (Pauli twirling
  of two-qubit gates) and ``dynamical_decoupling.enable`` (DD, XX sequences in idle windows).
  The Estimator prepares the program on the client (samplomatic, qiskit-mitigation) and the
  Executor runs it.
- ``hq-qiskit run`` in local mode asks for none of them (resilience level 0).
- To *measure* them, ``run_choices`` runs the same Estimator, one choice at a time, on the
  block's region simulator (``region_sim.region_simulator``: the device's gate errors, thermal
  relaxation over gates *and idle windows*, asymmetric readout; every circuit scheduled ALAP as
  the device schedules it, so every row pays idle noise, not only DD's padded program), over
  several simulator seeds. ``inference/mitigation_report.py`` turns the runs into the table
  (mean +- 95 % t interval over seeds, and a warning when shot noise hides the noise).

Every shot of a noisy simulation is one trajectory, so a comparison is for narrow blocks
(``MAX_QUBITS``, e.g. ``enrichment_qcnn(rows=2, cols=3)``), not for the 16-qubit QCNN.

Note: the client-side estimator's default ``resilience_level`` is 1, which turns TREX on; the
unmitigated row here sets level 0 explicitly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.estimator import set_mitigation, simulator_seed
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.region_sim import compact
from hq_qiskit.hardware.region_sim import region_simulator as scheduled_region

# choice -> the client-side Estimator options a real device is given for it (server-side)
SERVER_SIDE = {
    "trex": "resilience.measure_mitigation = True (+ twirling.enable_measure)",
    "zne": "resilience.zne_mitigation = True (zne.amplifier 'gate_folding')",
    "twirling": "twirling.enable_gates = True, twirling.enable_measure = True",
    "dd": "dynamical_decoupling.enable = True",
}
CHOICES = ("none", "trex", "zne", "twirling", "dd", "trex+zne")
MAX_QUBITS = 10  # wider regions: each noisy trajectory costs 2**n; the comparison is refused
MIN_SEEDS = 5  # simulator seeds per choice: the table's t interval has 4 degrees of freedom


def region_simulator(mapped: MappedCircuit, device):
    """``region_sim.region_simulator``: the noisy, scheduled simulator of the physical qubits
    the ISA circuit uses (``mapped.active_qubits``, in that order).

    Raises:
        ConfigError: a region wider than ``MAX_QUBITS`` (each shot is a noisy trajectory).
    """
    active = mapped.active_qubits
    if len(active) > MAX_QUBITS:
        raise ConfigError(
            f"the mitigation comparison simulates every shot as a noisy trajectory on the "
            f"block's {len(active)} physical qubits (at most {MAX_QUBITS}); compare on a "
            "narrower block, e.g. a model trained with --qubit-grid 2x2 or 2x3"
        )
    return scheduled_region(mapped, device)


def client_estimator(simulator, mitigation: str, shots: int, seed: int | None):
    """qiskit-ibm-runtime's client-side estimator on ``simulator`` with one mitigation choice
    of ``CHOICES`` ("none": resilience level 0, nothing applied)."""
    from qiskit_ibm_runtime.executor_estimator import Estimator

    if mitigation not in CHOICES:
        raise ConfigError(f"unknown mitigation {mitigation!r}; choose one of {', '.join(CHOICES)}")
    est = Estimator(mode=simulator)
    est.options.default_shots = shots
    set_mitigation(est.options, mitigation.split("+"))
    if seed is not None:
        est.options.simulator.seed_simulator = simulator_seed(seed)
    return est


def total_shots(est, pub, simulator) -> int:
    """Shots the estimator's quantum program really spends on ``pub``: the runtime's own
    ``prepare`` (every randomisation, noise factor and TREX calibration circuit), x shots."""
    from qiskit_ibm_runtime.executor_estimator.prepare import prepare

    program, _ = prepare([pub], est.options, None, add_tags=True, backend=simulator)
    return int(program.shots * sum(item.size() for item in program.items))


@dataclass(frozen=True)
class SeedRun:
    """One mitigation choice run at one simulator seed.

    Attributes:
        mitigation: a ``CHOICES`` entry; seed: the simulator seed (Aer and the randomisations).
        evs, stds: (N, n_obs) values and the standard errors the Estimator reports.
        shots: shots spent over all samples (every circuit of the program).
        cpu_s, wall_s: this process's CPU seconds and wall seconds for the job.
        server_side: what a real device is asked for instead ("" for none).
    """

    mitigation: str
    seed: int
    evs: np.ndarray
    stds: np.ndarray
    shots: int
    cpu_s: float
    wall_s: float
    server_side: str


def run_choices(
    mapped: MappedCircuit,
    device,
    values: np.ndarray,
    *,
    shots: int = 4096,
    seeds: Sequence[int] = tuple(range(MIN_SEEDS)),
    choices: Sequence[str] = CHOICES,
) -> list[SeedRun]:
    """Each mitigation choice at each seed on the block's region simulator: "none" first.

    Args:
        mapped: the block's ISA circuit on the device (``layout.isa_block``).
        device: the device or its fake twin (a ``BackendV2``: target, properties).
        values: parameter values (N, 1, P) in ``mapped.circuit.parameters`` order.
        shots: shots per circuit (the client-side estimator spreads them over randomisations).
        seeds: simulator seeds (the same for every choice).
        choices: which rows; "none" is always run (the overheads' reference).

    Returns:
        ``len(choices) x len(seeds)`` runs, choice-major.
    """
    sim = region_simulator(mapped, device)
    qc, observables = compact(mapped)
    obs = np.empty((1, len(observables)), dtype=object)  # np.array would densify them
    for i, op in enumerate(observables):
        obs[0, i] = op
    pub = (qc, obs, values)
    runs: list[SeedRun] = []
    for choice in ["none", *(c for c in choices if c != "none")]:
        server = " + ".join(SERVER_SIDE[p] for p in choice.split("+") if p != "none")
        spent = total_shots(client_estimator(sim, choice, shots, None), pub, sim)  # any seed
        for seed in seeds:
            est = client_estimator(sim, choice, shots, seed)
            cpu, wall = time.process_time(), time.perf_counter()
            data = est.run([pub]).result()[0].data
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            evs = np.asarray(data.evs, dtype=float).reshape(len(values), -1)  # (N, n_obs)
            stds = np.asarray(data.stds, dtype=float).reshape(evs.shape)
            runs.append(SeedRun(choice, int(seed), evs, stds, spent, cpu, wall, server))
    return runs
