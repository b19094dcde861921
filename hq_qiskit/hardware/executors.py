"""The executors of a device run: where one block's values are computed, one function each.

A runtime entry resolves (``resolve_run``) to a ``RuntimeTarget`` whose ``executor`` names its
row of ``EXECUTORS``:

    device       IBM Quantum device through qiskit-ibm-runtime (``jobs.submit_blocks``)
    local        the runtime's local testing mode: the fake twin's noisy Aer, or a noiseless
                 AerSimulator with its target (``--ideal-simulator``), same job records
    exact-noisy  hq-qiskit's exact noisy engine with the device noise of the logical circuit
                 (``local_sim.exact_noisy_values``): no job, values at once, labelled

``execute`` starts the blocks of a wave: on the runtime, ONE job with one PUB per block
(parameter values broadcast over the patches); each block gets a ``PendingJob`` to ``finish``,
or a finished ``BlockResult``.
The ideal values every executor is compared with come from the model's own fast engine (the
taps of ``inference/taps.py``); the Aer density-matrix check of the exact noisy engine is
``local_sim.aer_reference``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.jobs import BlockResult, PendingJob, PubSpec, collect, submit_blocks
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.local_sim import ENGINE, exact_noisy_values
from hq_qiskit.hardware.runtime import RuntimeTarget, resolve

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


@dataclass
class BlockJob:
    """One block's work in a device run: its circuit, inputs and where its record goes.

    Attributes:
        block: the logical block; mapped: its ISA circuit and mapped observables.
        weights: trained weights (n_w,), radians; inputs: (N, n_in).
        values: the PUB's parameter values (N, 1, P) in ``mapped.circuit.parameters`` order.
        tag: file-safe name of the block's job, e.g. "00-bottleneck.qcnn".
        run_dir: the run folder; records go to ``run_dir/jobs``.
        shots: shots per circuit (0: ``precision``); precision: target standard error.
        resume, seed, sample_ids, mitigation_requested, max_execution_time: as in
            ``jobs.submit_block``.
        result_timeout_s: stop waiting after this many seconds (None: wait).
        expected_s: expected wall time of the job, seconds (for the progress bar).
    """

    block: QuantumBlock
    mapped: MappedCircuit
    weights: np.ndarray
    inputs: np.ndarray
    values: np.ndarray
    tag: str
    run_dir: Path
    shots: int
    precision: float
    resume: bool = False
    seed: int = 0
    sample_ids: Sequence[str] = ()
    mitigation_requested: Sequence[str] = ()
    max_execution_time: int | None = None
    result_timeout_s: float | None = None
    expected_s: float = 0.0


def _runtime_jobs(target: RuntimeTarget, jobs: Sequence[BlockJob], mode, echo: Echo):
    """Device or local testing mode: one job holding one PUB per block (every sample of a
    block in its PUB's parameter array), each block's record written before any wait. The
    run's settings (folder, shots, seed, mitigation, limits) are the first job's."""
    for job in jobs:
        m = job.mapped
        echo(
            f"block {job.block.name}: one PUB of {len(job.inputs)} samples x "
            f"{len(m.observables)} observables on {len(m.active_qubits)} physical qubits, in "
            f"one job with the wave's {len(jobs)} block(s) -> jobs/{job.tag}.json"
        )
    first = jobs[0]
    return submit_blocks(
        [PubSpec(j.mapped, j.values, j.tag, j.sample_ids) for j in jobs],
        target,
        run_dir=first.run_dir,
        shots=first.shots,
        precision=first.precision,
        resume=first.resume,
        seed=first.seed,
        mode=mode,
        mitigation_requested=first.mitigation_requested,
        max_execution_time=first.max_execution_time,
        echo=echo,
    )


def _exact_noisy_jobs(target: RuntimeTarget, jobs: Sequence[BlockJob], mode, echo: Echo):
    """The exact noisy engine, block by block (no job, no Batch or Session)."""
    return [_exact_noisy_job(target, job, echo) for job in jobs]


def _exact_noisy_job(target: RuntimeTarget, job: BlockJob, echo: Echo) -> BlockResult:
    """The exact noisy engine: values now, as a finished result whose record says which
    engine and noise model made them (no job, no Batch or Session)."""
    shots = job.shots if job.shots else math.ceil(1.0 / job.precision**2)
    evs, stds, record = exact_noisy_values(
        job.block, job.weights, job.inputs, target.entry, shots=shots, seed=job.seed
    )
    echo(f"block {job.block.name}: {record['note']}, {record['seconds']:.1f} s")
    return BlockResult(
        evs, stds, "none (local simulator)", record["note"], (), seconds=record["seconds"],
        record=record,
    )  # fmt: skip


EXECUTORS: dict[str, Callable[..., list[BlockResult | PendingJob]]] = {
    "device": _runtime_jobs,
    "local": _runtime_jobs,
    ENGINE: _exact_noisy_jobs,
}


def resolve_run(
    entry: Backend,
    *,
    ideal: bool = False,
    device_only: bool = False,
    simulator: str | None = None,
    service=None,
) -> RuntimeTarget:
    """Where a runtime entry's blocks run: the device, local testing mode, or (``simulator``
    "exact-noisy") the exact noisy engine with the device noise of the entry's fake twin.

    Raises:
        ConfigError: as ``runtime.resolve`` (no credentials with ``device_only``, a device the
            account cannot use).
    """
    target = resolve(
        entry, ideal=ideal, device_only=device_only, force_local=simulator is not None,
        service=service,
    )  # fmt: skip
    if simulator is None:
        return target
    note = (
        f"local simulator {simulator}: hq-qiskit's exact noisy engine with the device noise of "
        f"{entry.noise} (no job is submitted; not a device, not Aer local mode)"
    )
    return dataclasses.replace(target, executor=simulator, note=note)


def execute(
    target: RuntimeTarget, jobs: Sequence[BlockJob], *, mode=None, echo: Echo = log.info
) -> list[BlockResult | PendingJob]:
    """Start blocks whose inputs do not depend on each other on their target's executor (on
    the runtime: one job, one PUB per block); per block, in order, a ``PendingJob`` (``finish``
    waits for it) or a finished ``BlockResult`` (saved values, or the exact noisy engine).

    Args:
        mode: the run's ``jobs.RunMode`` (Batch or Session), or a callable opening it on
            first use.
    """
    return EXECUTORS[target.executor](target, list(jobs), mode, echo)


def finish(started: BlockResult | PendingJob, job: BlockJob) -> BlockResult:
    """The block's values: wait for a pending job (``jobs.collect``), or pass a result on."""
    if isinstance(started, BlockResult):
        return started
    return collect(started, result_timeout_s=job.result_timeout_s, expected_s=job.expected_s)
