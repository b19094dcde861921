"""Blocks' jobs on IBM Runtime: submitted (one job, one PUB per block), recorded, waited on,
resumed.

- One job holds the PUBs of several blocks (a wave of ``hq-qiskit run``: blocks whose inputs do
  not depend on each other), one PUB per block: its ISA circuit, its observables and its
  parameter values (N, 1, P) broadcast over the N patches. All jobs of a run go inside one
  Batch or Session (``open_mode``): on a device, its Batch; in local testing mode, a Batch
  over one simulator of the run's region (``region_sim.run_region``: every block's active
  qubits), so every block's circuit is cut onto that region.
- Each block keeps its own record ``<run_dir>/jobs/<tag>.json`` (``job_records.py``) naming
  the job id, its PUB index and the job's other PUBs; all of a job's records are written
  *before* waiting, and values land in ``<tag>.npz`` afterwards.
- ``resume=True`` reuses a saved ``.npz``, retrieves a finished device job by its id (each
  block reads its own PUB of it), or resubmits the blocks whose job failed, was cancelled or
  went stale (as one new job); a record made under other settings (circuit, device, noise
  source, layout, shots, seed, mitigation: ``resume.job_key``) is refused.
- The mitigation a record calls applied is what the job's result metadata reports
  (``resume.applied_mitigation``), never what was asked.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hq_qiskit.atomic import atomic_write
from hq_qiskit.hardware.estimator import estimator, values_digest
from hq_qiskit.hardware.job_records import (
    earlier_record,
    reattach,
    save_record,
    submission_fields,
)
from hq_qiskit.hardware.job_wait import (
    FAILED,
    JobFailed,
    execution_spans,
    job_status,
    job_usage,
    wait_for,
)
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.region_sim import compact, region_simulator, run_region
from hq_qiskit.hardware.resume import applied_mitigation, job_key
from hq_qiskit.hardware.runtime import RuntimeTarget

log = logging.getLogger(__name__)
__all__ = [
    "FAILED",
    "BlockResult",
    "JobFailed",
    "PendingJob",
    "PubSpec",
    "RunMode",
    "collect",
    "job_status",
    "open_mode",
    "run_block",
    "submit_block",
    "submit_blocks",
    "wait_for",
]


@dataclass
class BlockResult:
    """Expectation values of one block from one job.

    Attributes:
        evs: (N, n_obs) expectation values.
        stds: (N, n_obs) standard errors reported by the primitive.
        job_id: the runtime job id.
        note: where it ran, in words; ``mitigation``: what was really applied.
        resumed: True when the values came from a previous run.
        seconds: wall time of submission and wait, seconds (0 when resumed).
        record: the job record as saved in ``jobs/<tag>.json``: where the job ran (from the
            job itself, not from today's target), its status, usage and result metadata.
    """

    evs: np.ndarray
    stds: np.ndarray
    job_id: str
    note: str
    mitigation: tuple[str, ...]
    resumed: bool = False
    seconds: float = 0.0
    record: dict = field(default_factory=dict)


@dataclass
class PubSpec:
    """One block's PUB of a job.

    Attributes:
        mapped: ISA circuit and mapped observables (``layout.transpile_block``).
        values: parameter values (N, 1, P) from ``parameter_array``: one row per patch.
        tag: a file-safe name for the block's record, e.g. "00-bottleneck.qcnn".
        sample_ids: names of the N samples (tiles), stored with the record.
    """

    mapped: MappedCircuit
    values: np.ndarray
    tag: str
    sample_ids: Sequence[str] | None = None


@dataclass
class RunMode:
    """Where a run's jobs go.

    Attributes:
        on: what the Estimator is given as its mode: the run's Batch or Session, or in job
            mode the device (locally: the region simulator).
        region: local testing mode: the physical qubits the simulator carries (qubit i is
            ``region[i]``; ``compact`` cuts each block's circuit onto them); None on a device.
    """

    on: object
    region: tuple[int, ...] | None = None


@contextlib.contextmanager
def open_mode(target: RuntimeTarget, blocks: Sequence[MappedCircuit] = ()) -> Iterator[RunMode]:
    """The Batch or Session for a whole run (job mode: the backend itself), as a ``RunMode``.

    On a device it is opened on the device. In local testing mode the runtime documents a
    session or batch on a fake backend or an Aer simulator; hq-qiskit opens it on one
    simulator of the region ``blocks`` use (``region_sim.run_region``; noisy unless the target
    is ideal), so every job of the run is inside it. Use it as
    ``with open_mode(t, blocks) as run: ...``.
    """
    from qiskit_ibm_runtime import Batch, Session

    region, backend = None, target.backend
    if target.local:
        region = run_region(blocks)
        backend = region_simulator(region, target.backend, noisy=not target.ideal,
                                   blocks=[m.active_qubits for m in blocks])  # fmt: skip
    if target.mode == "job":
        yield RunMode(backend, region)
        return
    with (Batch if target.mode == "batch" else Session)(backend=backend) as mode:
        yield RunMode(mode, region)


def _submit(target, run: RunMode, specs: Sequence[PubSpec], shots, precision, seed,
            max_execution_time):  # fmt: skip
    """One job of the client-side Estimator with one PUB per block, in ``specs`` order: on
    the device (its Batch or Session, or the backend in job mode), or locally each circuit cut
    onto the run's region (``compact``; the Estimator measures every qubit of its circuit, so
    the full 127-qubit ISA circuit would need a 127-qubit statevector)."""
    pubs = []
    for s in specs:
        m = s.mapped
        if target.local:
            circuit, observables = compact(m, run.region)
        else:
            circuit, observables = m.circuit, list(m.observables)
        obs = np.empty((1, len(observables)), dtype=object)  # np.array would densify them
        for i, op in enumerate(observables):
            obs[0, i] = op
        pubs.append((circuit, obs, s.values))
    est = estimator(target, run.on, shots, precision, target.mitigation, seed, max_execution_time)
    return est.run(pubs)


class SharedJob:
    """A submitted (or re-fetched) job that several blocks' PUBs wait on: waited on once."""

    def __init__(self, job, desc: str, local: bool) -> None:
        self.job, self.desc, self.local = job, desc, local
        self.start = time.perf_counter()
        self._result: object = None
        self._error: JobFailed | None = None

    def result(self, timeout_s: float | None, expected_s: float):
        """The job's PrimitiveResult (the first caller waits; a failure is raised to all)."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            try:
                poll = 0.2 if self.local else 5.0
                self._result = wait_for(self.job, timeout_s=timeout_s, expected_s=expected_s,
                                        desc=self.desc, poll_s=poll)  # fmt: skip
            except JobFailed as err:
                if "still" in str(err):  # a timeout: a later wait may still succeed
                    raise
                self._error = err
                raise
        return self._result


@dataclass
class PendingJob:
    """One block's PUB of a submitted job, not yet waited on; ``collect`` finishes it."""

    shared: SharedJob
    index: int
    record: dict
    record_path: Path
    values_path: Path


def run_block(*args, result_timeout_s: float | None = None, expected_s: float = 0.0, **kw):
    """``submit_block`` then ``collect``: one block, submitted and waited on."""
    pending = submit_block(*args, **kw)
    if isinstance(pending, BlockResult):
        return pending
    return collect(pending, result_timeout_s=result_timeout_s, expected_s=expected_s)


def submit_block(
    mapped: MappedCircuit,
    values: np.ndarray,
    target: RuntimeTarget,
    *,
    tag: str,
    sample_ids: Sequence[str] | None = None,
    **kw,
) -> BlockResult | PendingJob:
    """``submit_blocks`` for one block: a job holding its one PUB (``submit_blocks``' keyword
    arguments)."""  # fmt: skip
    return submit_blocks([PubSpec(mapped, values, tag, sample_ids)], target, **kw)[0]


@dataclass
class _Slot:
    """A block of ``submit_blocks`` whose values are not saved yet."""

    k: int
    spec: PubSpec
    record_path: Path
    values_path: Path
    digest: str
    key: dict
    record: dict | None


def submit_blocks(
    specs: Sequence[PubSpec],
    target: RuntimeTarget,
    *,
    run_dir: Path,
    shots: int = 0,
    precision: float = 0.0,
    resume: bool = False,
    seed: int | None = None,
    mode=None,
    mitigation_requested: Sequence[str] = (),
    max_execution_time: int | None = None,
    echo=log.info,
) -> list[BlockResult | PendingJob]:
    """Submit the blocks' PUBs as ONE job (one PUB each, all samples broadcast) and write each
    block's record before returning; ``collect`` waits for each. In ``specs`` order: a
    finished ``BlockResult`` for a block whose values a previous run saved, else a
    ``PendingJob`` (its PUB of the new job, or of the device job its record names).

    Args:
        specs: the blocks' PUBs (circuits, values (N, 1, P), tags).
        target: from ``resolve``.
        run_dir: the run folder; job records go to ``run_dir/jobs``.
        shots: shots per circuit, or 0 to use ``precision``.
        precision: target standard error when ``shots`` is 0.
        resume: reuse ``<tag>.npz``, retrieve the recorded device job, or resubmit a job that
            failed or was cancelled, instead of paying again.
        seed: simulator seed (local mode only).
        mode: the run's ``RunMode`` (``open_mode``), or a callable returning it (opened on
            first use); None opens one for this job (locally over these blocks' region).
        mitigation_requested: what the user asked for (recorded beside what was applied).
        max_execution_time: the job's QPU time limit, seconds (None: IBM's default).
    """
    jobs = Path(run_dir) / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    out: list[BlockResult | PendingJob | None] = [None] * len(specs)
    todo = []
    for k, s in enumerate(specs):
        record_path, values_path = jobs / f"{s.tag}.json", jobs / f"{s.tag}.npz"
        digest = values_digest(s.values)
        key = job_key(s.mapped, target, shots=shots, precision=precision, seed=seed,
                      mitigation_requested=mitigation_requested)  # fmt: skip
        record = earlier_record(record_path, digest, key, target) if resume else None
        out[k] = _saved_result(record, values_path, len(s.values))
        if out[k] is None:
            todo.append(_Slot(k, s, record_path, values_path, digest, key, record))
    fresh = _reattach_all(todo, target, out, echo)
    if fresh:
        if callable(mode):
            mode = mode()
        with contextlib.ExitStack() as stack:
            if mode is None:
                mode = stack.enter_context(open_mode(target, [s.spec.mapped for s in fresh]))
            job = _submit(target, mode, [s.spec for s in fresh], shots, precision, seed,
                          max_execution_time)  # fmt: skip
        shared = SharedJob(job, _desc(target, fresh), target.local)
        pubs = [s.spec.tag for s in fresh]
        for index, slot in enumerate(fresh):  # every record of the job before any wait
            record = {
                "job_id": job.job_id(),
                "tag": slot.spec.tag,
                "pub_index": index,
                "job_pubs": pubs,
                **target.provenance(),
                **slot.key,  # circuit, device, noise source, layout, shots, seed, mitigation
                **submission_fields(
                    target,
                    slot.spec.mapped,
                    seed,
                    getattr(mode.on, "session_id", None),
                    max_execution_time,
                ),
                "samples": _samples(slot.spec),
                "values_sha256": slot.digest,
                "replaces": (slot.record or {}).get("job_id"),
            }
            record = save_record(slot.record_path, record)
            out[slot.k] = PendingJob(shared, index, record, slot.record_path, slot.values_path)
    return [o for o in out if o is not None]


def _samples(spec: PubSpec) -> list[str] | int:
    return list(spec.sample_ids) if spec.sample_ids is not None else spec.values.shape[0]


def _desc(target: RuntimeTarget, slots: Sequence[_Slot]) -> str:
    where = "local" if target.local else getattr(target.backend, "name", "?")
    return f"{', '.join(s.spec.tag for s in slots)} ({where})"


def _reattach_all(todo: list[_Slot], target: RuntimeTarget, out: list, echo) -> list[_Slot]:
    """Blocks whose record names a device job that can be fetched again get a ``PendingJob``
    on their PUB of it in ``out`` (one fetch per job id); the others, to be submitted anew."""
    fresh, fetched = [], {}
    for slot in todo:
        record = slot.record
        job_id = (record or {}).get("job_id")
        if job_id in fetched:
            job = fetched[job_id]
        else:
            job = reattach(record, slot.record_path, target, slot.spec.tag, echo)
            if job is not None:
                fetched[job_id] = job = SharedJob(job, _desc(target, [slot]), target.local)
        if job is None:
            fresh.append(slot)
        else:
            out[slot.k] = PendingJob(job, int(record.get("pub_index", 0)), record,
                                     slot.record_path, slot.values_path)  # fmt: skip
    return fresh


def _saved_result(record: dict | None, values_path: Path, n: int) -> BlockResult | None:
    """The values a previous run saved for the same N samples, as a finished result."""
    if record is None or not values_path.is_file():
        return None
    with np.load(values_path) as saved:  # an .npz holds its file open until closed
        evs, stds = saved["evs"], saved["stds"]
    if evs.shape[0] != n:
        return None
    return BlockResult(
        evs,
        stds,
        record["job_id"],
        record["note"],
        tuple(record.get("mitigation_applied") or ()),
        resumed=True,
        record=record,
    )


def collect(
    pending: PendingJob, *, result_timeout_s: float | None = None, expected_s: float = 0.0
) -> BlockResult:
    """Wait for a block's job (once per job, whatever its PUBs), save the values of the block's
    PUB and the job's usage; its ``BlockResult``.

    Args:
        result_timeout_s: give up waiting after this many seconds (the job keeps its record).
        expected_s: expected wall time, seconds, for the progress bar.

    Raises:
        JobFailed: the job failed or was cancelled (its record says so, and ``resume``
            resubmits it), or the wait timed out.
    """
    job, record, record_path = pending.shared.job, pending.record, pending.record_path
    tag = record["tag"]
    try:
        result = pending.shared.result(result_timeout_s, expected_s)
    except JobFailed as err:
        if "still" not in str(err):  # failed or cancelled: the record says so for --resume
            record["status"] = job_status(job)
            record = save_record(record_path, record)
        raise JobFailed(f"block {tag}: {err}") from None
    pub = result[pending.index]  # this block's PUB of the job
    evs = np.asarray(pub.data.evs, dtype=float)  # (N, n_obs)
    stds = np.asarray(pub.data.stds, dtype=float)
    job_meta = dict(getattr(result, "metadata", {}) or {})
    record.update(
        status="DONE",
        **job_usage(job),
        execution_spans=execution_spans(pub),
        result_metadata=dict(getattr(pub, "metadata", {}) or {}),
        job_metadata=job_meta,
        mitigation_applied=list(applied_mitigation(job_meta)),
        mitigation_applied_source="the job's result metadata (resilience, twirling, "
        "dynamical_decoupling)",
    )
    record = save_record(record_path, record)
    buf = io.BytesIO()
    np.savez(buf, evs=evs, stds=stds)
    atomic_write(pending.values_path, buf.getvalue())
    return BlockResult(
        evs,
        stds,
        record["job_id"],
        record["note"],
        tuple(record["mitigation_applied"]),
        seconds=time.perf_counter() - pending.shared.start,
        record=record,
    )
