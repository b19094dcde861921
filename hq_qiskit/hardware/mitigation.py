"""Error mitigation you can measure: TREX, ZNE, twirling and DD on a local noisy simulation.

Where each option is applied:

- On a real device, ``hq-qiskit run`` sets ``EstimatorV2`` options and IBM applies them
  **server-side** (``estimator.estimator``): ``resilience.measure_mitigation`` (TREX, with
  ``twirling.enable_measure``), ``resilience.zne_mitigation`` (ZNE, gate folding by default),
  ``twirling.enable_gates`` (Pauli twirling of two-qubit gates) and
  ``dynamical_decoupling.enable`` (DD, XX sequences in idle windows).
- The runtime's local testing mode (``EstimatorV2`` on a fake twin) ignores them all.
- To *measure* them, hq-qiskit applies the same techniques **client-side, locally**, with
  qiskit-ibm-runtime 0.51's own client-side estimator (``qiskit_ibm_runtime.executor_estimator
  .Estimator``, built on qiskit-mitigation and samplomatic: TREX calibration circuits, gate
  folding with exponential/linear extrapolation, twirling randomisations, DD padding) on a
  noisy Aer simulator of the block's physical region: the device target restricted to the ISA
  circuit's active qubits, with the noise Aer builds from it (gate errors, T1/T2 relaxation over
  gate durations, readout errors; ``AerSimulator.from_backend``).

Every shot of a noisy simulation is one trajectory, so a comparison is for narrow blocks
(``MAX_QUBITS``, e.g. ``enrichment_qcnn(rows=2, cols=3)``), not for the 16-qubit QCNN.

Note: the client-side estimator's default ``resilience_level`` is 1, which turns TREX on; the
unmitigated row here sets level 0 explicitly.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import Target

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.estimator import set_mitigation
from hq_qiskit.hardware.layout import MappedCircuit, restrict_target

# choice -> the EstimatorV2 options a real device is given for it (server-side)
SERVER_SIDE = {
    "trex": "resilience.measure_mitigation = True (+ twirling.enable_measure)",
    "zne": "resilience.zne_mitigation = True (zne.amplifier 'gate_folding')",
    "twirling": "twirling.enable_gates = True, twirling.enable_measure = True",
    "dd": "dynamical_decoupling.enable = True",
}
CHOICES = ("none", "trex", "zne", "twirling", "dd", "trex+zne")
MAX_QUBITS = 10  # wider regions: each noisy trajectory costs 2**n; the comparison is refused


class _Region(BackendV2):
    """A backend whose target is a device region (``restrict_target``); only for building an
    ``AerSimulator`` with that region's noise."""

    def __init__(self, target: Target, name: str):
        super().__init__(name=name)
        self._region_target = target

    @property
    def target(self) -> Target:
        return self._region_target

    @property
    def max_circuits(self) -> None:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    def run(self, run_input, **options):  # pragma: no cover - never run directly
        raise NotImplementedError("build an AerSimulator from this region")


def compact(mapped: MappedCircuit) -> tuple[QuantumCircuit, list[SparsePauliOp]]:
    """The ISA circuit and its observables on its active qubits only (qubit i of the result
    is ``mapped.active_qubits[i]``); the gates are unchanged."""
    active = mapped.active_qubits
    index = {q: i for i, q in enumerate(active)}
    isa = mapped.circuit
    qc = QuantumCircuit(len(active), name=isa.name)
    for ins in isa.data:
        qubits = [isa.find_bit(q).index for q in ins.qubits]
        if ins.operation.name in ("barrier", "delay") and not all(q in index for q in qubits):
            continue
        qc.append(ins.operation, [index[q] for q in qubits])
    observables = [
        SparsePauliOp.from_sparse_list(
            [(p, [index[q] for q in qs], c) for p, qs, c in op.to_sparse_list()], len(active)
        )
        for op in mapped.observables
    ]
    return qc, observables


def region_simulator(mapped: MappedCircuit, target: Target, name: str = "region"):
    """A noisy ``AerSimulator`` of the device region the ISA circuit uses: the target's
    instructions, errors, durations and T1/T2 on ``mapped.active_qubits`` (in that order).

    Raises:
        ConfigError: a region wider than ``MAX_QUBITS`` (each shot is a noisy trajectory).
    """
    from qiskit_aer import AerSimulator

    active = mapped.active_qubits
    if len(active) > MAX_QUBITS:
        raise ConfigError(
            f"the mitigation comparison simulates every shot as a noisy trajectory on the "
            f"block's {len(active)} physical qubits (at most {MAX_QUBITS}); compare on a "
            "narrower block, e.g. a model trained with --qubit-grid 2x2 or 2x3"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AerSimulator.from_backend(_Region(restrict_target(target, active), name))


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
        est.options.simulator.seed_simulator = seed
    return est


def total_shots(est, pub, simulator) -> int:
    """Shots the estimator's quantum program really spends on ``pub``: the runtime's own
    ``prepare`` (every randomisation, noise factor and TREX calibration circuit), x shots."""
    from qiskit_ibm_runtime.executor_estimator.prepare import prepare

    program, _ = prepare([pub], est.options, None, add_tags=True, backend=simulator)
    return int(program.shots * sum(item.size() for item in program.items))


@dataclass(frozen=True)
class MitigationRow:
    """One mitigation choice measured against exact values.

    Attributes:
        mitigation: a ``CHOICES`` entry.
        mae, max_abs: |value - exact| over samples x observables, mean and max.
        shots: shots spent over all samples (every circuit of the program).
        shot_overhead: shots / the unmitigated run's shots.
        cpu_s, wall_s: this process's CPU seconds and wall seconds for the job.
        time_overhead: cpu_s / the unmitigated run's cpu_s.
        server_side: what a real device is asked for instead ("" for none).
    """

    mitigation: str
    mae: float
    max_abs: float
    shots: int
    shot_overhead: float
    cpu_s: float
    wall_s: float
    time_overhead: float
    server_side: str


def compare(
    mapped: MappedCircuit,
    target: Target,
    values: np.ndarray,
    exact: np.ndarray,
    *,
    shots: int = 4096,
    seed: int = 0,
    choices: Sequence[str] = CHOICES,
) -> list[MitigationRow]:
    """Each mitigation choice's error against exact values on a noisy local simulation of the
    block's device region, with its shot and CPU-time overhead over the unmitigated run.

    Args:
        mapped: the block's ISA circuit on the device (``layout.isa_block``).
        target: the device's target (its errors, durations, T1/T2 and readout).
        values: parameter values (N, 1, P) in ``mapped.circuit.parameters`` order.
        exact: exact expectation values (N, n_obs).
        shots: shots per circuit (the client-side estimator spreads them over randomisations).
        seed: simulator seed (the same for every choice).
        choices: which rows; "none" is always measured first (the overheads' reference).

    Returns:
        One ``MitigationRow`` per choice, "none" first.
    """
    sim = region_simulator(mapped, target, getattr(target, "description", None) or "region")
    qc, observables = compact(mapped)
    obs = np.empty((1, len(observables)), dtype=object)  # np.array would densify them
    for i, op in enumerate(observables):
        obs[0, i] = op
    pub = (qc, obs, values)
    rows: list[MitigationRow] = []
    base_shots = base_cpu = 0.0
    for choice in ["none", *(c for c in choices if c != "none")]:
        est = client_estimator(sim, choice, shots, seed)
        spent = total_shots(est, pub, sim)
        cpu, wall = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evs = np.asarray(est.run([pub]).result()[0].data.evs, dtype=float)  # (N, n_obs)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if choice == "none":
            base_shots, base_cpu = spent, max(cpu, 1e-9)
        err = np.abs(evs.reshape(exact.shape) - exact)
        rows.append(
            MitigationRow(
                mitigation=choice,
                mae=float(err.mean()),
                max_abs=float(err.max()),
                shots=spent,
                shot_overhead=spent / base_shots,
                cpu_s=cpu,
                wall_s=wall,
                time_overhead=cpu / base_cpu,
                server_side=" + ".join(SERVER_SIDE[p] for p in choice.split("+") if p != "none"),
            )
        )
    return rows


def markdown_lines(rows: Sequence[MitigationRow], title: str) -> list[str]:
    """The comparison as a Markdown table under a one-line title."""
    lines = [
        title,
        "",
        "| mitigation | MAE vs exact | max abs | shots | shot overhead | CPU s | time overhead "
        "| on a real device (server-side EstimatorV2 option) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.mitigation} | {r.mae:.4f} | {r.max_abs:.4f} | {r.shots} | "
            f"{r.shot_overhead:.1f}x | {r.cpu_s:.2f} | {r.time_overhead:.1f}x | "
            f"{r.server_side or '-'} |"
        )
    return lines
