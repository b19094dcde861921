"""A block's job on IBM Runtime: submitted, recorded, waited on, resumed.

- The job id, the layout, the observables and the sample indices are written to
  ``<run_dir>/jobs/<tag>.json`` *before* waiting; values land in ``<tag>.npz`` afterwards.
- ``resume=True`` reuses a saved ``.npz``, retrieves a finished device job by its id, or
  resubmits one that failed, was cancelled or went stale; a record made under other settings
  (circuit, device, noise source, layout, shots, seed, mitigation: ``resume.job_key``) is
  refused.
- The mitigation a record calls applied is what the job's result metadata reports
  (``resume.applied_mitigation``), never what was asked.
- All jobs of a run share one Batch or Session (``open_mode``).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import HQError
from hq_qiskit.hardware.estimator import estimator, simulator_seed, values_digest
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.region_sim import compact, region_simulator
from hq_qiskit.hardware.resume import STALE, applied_mitigation, check_key, job_key
from hq_qiskit.hardware.runtime import RuntimeTarget

log = logging.getLogger(__name__)

FAILED = ("ERROR", "CANCELLED")


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


class JobFailed(HQError):
    """A runtime job that ended in ERROR or CANCELLED, or did not finish in time."""


def job_status(job) -> str:
    """The job's status as an upper-case string ("QUEUED", "RUNNING", "DONE", "ERROR", ...):
    runtime jobs return strings, local jobs a ``JobStatus`` enum."""
    status = job.status()
    return str(getattr(status, "name", status)).upper()


def wait_for(
    job,
    *,
    timeout_s: float | None = None,
    expected_s: float = 0.0,
    desc: str = "",
    poll_s: float = 0.2,
):
    """Wait for a job with a progress bar of elapsed against expected seconds; its
    PrimitiveResult. Status checks start 0.2 s apart and back off to ``poll_s`` (each is a request
    to IBM's service for a device job: keep it at seconds there).

    Raises:
        JobFailed: one line with the job id, its status and the reason the service gives,
            when the job failed, was cancelled, or did not finish within ``timeout_s``.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    total = max(1, round(expected_s))
    pause = min(0.2, poll_s)
    with tqdm(total=total, desc=desc or job.job_id(), unit="s", leave=False) as bar:
        while not job.done():
            elapsed = time.perf_counter() - start
            if timeout_s is not None and elapsed > timeout_s:
                raise JobFailed(
                    f"job {job.job_id()}: still {job_status(job)} after {timeout_s:.0f} s "
                    "(--result-timeout); --resume fetches it once it has finished"
                )
            bar.n = min(total, round(elapsed))
            bar.set_postfix_str(job_status(job).lower(), refresh=False)
            bar.refresh()
            time.sleep(pause)
            pause = min(poll_s, pause * 1.5)
        bar.n = total
    status = job_status(job)
    if status in FAILED:
        reason = ""
        with contextlib.suppress(Exception):  # a service that cannot say
            reason = job.error_message() or ""
        raise JobFailed(
            f"job {job.job_id()} {status}: {reason.strip() or 'no reason given'}; "
            "--resume resubmits it"
        )
    return job.result()


def job_usage(job) -> dict[str, object]:
    """What the service reports a finished job used: ``usage()`` (QPU seconds, 0 locally),
    ``metrics()`` (timestamps, usage) and the execution spans when the result has them."""
    out: dict[str, object] = {}
    for name in ("usage", "metrics"):
        try:
            out[name] = getattr(job, name)()
        except Exception:  # a service without it
            out[name] = None
    return out


def _spans(result) -> object:
    spans = getattr(result.metadata, "get", lambda *_: None)("execution", {}) if result else None
    try:
        return [
            {"start": str(s.start), "stop": str(s.stop), "size": s.size}
            for s in spans["execution_spans"]
        ]
    except Exception:  # no spans (local mode) or another layout
        return None


def open_mode(target: RuntimeTarget):
    """The Batch or Session for a whole run (job mode: None, primitives take the backend).

    Local testing mode accepts all of them; use it as ``with open_mode(t) as mode: ...``.
    """
    from contextlib import nullcontext

    from qiskit_ibm_runtime import Batch, Session

    if target.mode == "job":
        return nullcontext(None)
    return (Batch if target.mode == "batch" else Session)(backend=target.backend)


def _submit(target, mode, mapped, values, shots, precision, seed, max_execution_time):
    """Run the block's PUB with the client-side Estimator: on the device (its Batch or Session,
    or the backend in job mode), or locally on the block's region of the twin (``compact``
    circuit and observables, ``region_simulator``; the Estimator measures every qubit of its
    circuit, so the full 127-qubit ISA circuit would need a 127-qubit statevector)."""
    if target.local:
        circuit, observables = compact(mapped)
        on = region_simulator(mapped, target.backend, noisy=not target.ideal)
    else:
        circuit, observables = mapped.circuit, mapped.observables
        on = target.backend if mode is None else mode
    obs = np.empty((1, len(observables)), dtype=object)  # np.array would densify them
    for i, op in enumerate(observables):
        obs[0, i] = op
    est = estimator(target, on, shots, precision, target.mitigation, seed, max_execution_time)
    return est.run([(circuit, obs, values)])


def _save_record(path: Path, record: dict) -> dict:
    """Write a job record atomically; returns it as read back (JSON types only)."""
    text = json.dumps(record, indent=1, default=str)
    atomic_write(path, text)
    return json.loads(text)


@dataclass
class PendingJob:
    """A submitted (or re-fetched) job not yet waited on; ``collect`` finishes it."""

    job: object
    record: dict
    record_path: Path
    values_path: Path
    desc: str
    start: float


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
    run_dir: Path,
    tag: str,
    shots: int = 0,
    precision: float = 0.0,
    resume: bool = False,
    seed: int | None = None,
    sample_ids: Sequence[str] | None = None,
    mode=None,
    mitigation_requested: Sequence[str] = (),
    max_execution_time: int | None = None,
    echo=log.info,
) -> BlockResult | PendingJob:
    """Submit one block's PUB (all samples) and record the job; ``collect`` waits for it.

    A block whose values a previous run saved comes back as a finished ``BlockResult``.

    Args:
        mapped: ISA circuit and mapped observables (``layout.transpile_block``).
        values: parameter values (N, 1, P) from ``parameter_array``.
        target: from ``resolve``.
        run_dir: the run folder; job records go to ``run_dir/jobs``.
        tag: a file-safe name for this block's job, e.g. "bottleneck.qcnn".
        shots: shots per circuit, or 0 to use ``precision``.
        precision: target standard error when ``shots`` is 0.
        resume: reuse ``<tag>.npz``, retrieve the recorded device job, or resubmit a job that
            failed or was cancelled, instead of paying again.
        seed: simulator seed (local mode only).
        sample_ids: names of the N samples (tiles), stored with the job record.
        mode: the run's Batch or Session (``open_mode``), or a callable returning it (opened
            on first use); None opens one for this block.
        mitigation_requested: what the user asked for (recorded beside what was applied).
        max_execution_time: the job's QPU time limit, seconds (None: IBM's default).
    """
    jobs = Path(run_dir) / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    record_path, values_path = jobs / f"{tag}.json", jobs / f"{tag}.npz"
    digest = values_digest(values)
    key = job_key(mapped, target, shots=shots, precision=precision, seed=seed,
                  mitigation_requested=mitigation_requested)  # fmt: skip
    record = _earlier_record(record_path, digest, key, target) if resume else None
    saved = _saved_result(record, values_path, len(values))
    if saved is not None:
        return saved
    job = _reattach(record, record_path, target, tag, echo)
    record_before = record
    start = time.perf_counter()
    if job is None:
        args = (mapped, values, shots, precision, seed, max_execution_time)
        if callable(mode):
            mode = mode()
        if mode is None and target.mode != "job":
            with open_mode(target) as own:
                job = _submit(target, own, *args)
        else:
            job = _submit(target, mode, *args)
        record = {
            "job_id": job.job_id(),
            "tag": tag,
            **target.provenance(),
            **key,  # circuit, device, noise source, layout, shots, seed, mitigation asked
            **_submission(target, mapped, seed, mode, max_execution_time),
            "samples": list(sample_ids) if sample_ids is not None else values.shape[0],
            "values_sha256": digest,
            "replaces": (record_before or {}).get("job_id"),
        }
        record = _save_record(record_path, record)
    desc = f"{tag} ({'local' if target.local else getattr(target.backend, 'name', '?')})"
    return PendingJob(job, record, record_path, values_path, desc, start)


def _submission(target: RuntimeTarget, mapped: MappedCircuit, seed, mode, max_execution_time):
    """The fields of a new job record besides its key: what was configured, the simulator
    seed, the mode, the layout and observables, the time, status SUBMITTED."""
    return {
        "mitigation_configured": list(target.mitigation),
        "mitigation_applied": None,  # known from the job's result metadata (collect)
        "seed_simulator": simulator_seed(seed) if target.local and seed is not None else None,
        "mode_id": getattr(mode, "session_id", None),
        "max_execution_time": max_execution_time,
        "initial_layout": list(mapped.initial_layout),
        "observables": [op.to_list() for op in mapped.observables],
        "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "status": "SUBMITTED",
    }


def _earlier_record(
    record_path: Path, digest: str, key: dict, target: RuntimeTarget
) -> dict | None:
    """The job record a previous run left for this block (None if none); refused when it
    belongs to other inputs (another checkpoint, data or tile selection) or was made under
    other settings (``resume.check_key``)."""
    if not record_path.is_file():
        return None
    record = json.loads(record_path.read_text())
    if record.get("values_sha256", digest) != digest:
        raise HQError(
            f"{record_path}: --resume found a job for other inputs (another "
            "checkpoint, data or tile selection); drop --resume or choose another "
            "--out"
        )
    if not record.get("local", True) and (target.local or target.service is None):
        raise _needs_account(record_path, record)
    check_key(record_path, record, key)
    return record


def _needs_account(record_path: Path, record: dict) -> HQError:
    return HQError(
        f"{record_path}: job {record['job_id']} ran on the device "
        f"{record.get('device')}; fetching it needs the IBM Quantum account it ran "
        "under (credentials), or remove the record to run the block locally"
    )


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


def _reattach(record: dict | None, record_path: Path, target: RuntimeTarget, tag: str, echo):
    """The recorded device job, fetched again from the service; None when there is none or
    it failed or was cancelled (it is resubmitted then).

    Raises:
        HQError: the job ran on a device but today's target has no account to fetch it.
    """
    if record is None:
        return None
    if record.get("local", True):  # a local job dies with its process: run it again
        if record.get("status") in ("SUBMITTED", STALE):
            echo(f"{tag}: local job {record['job_id']} was left {record['status']} by a run "
                 "that stopped before its result; marked stale and run again")  # fmt: skip
        return None
    if record.get("status") in FAILED:
        echo(f"{tag}: job {record['job_id']} was {record['status']}; resubmitting it")
        return None
    if target.local or target.service is None:
        raise _needs_account(record_path, record)
    job = target.service.job(record["job_id"])
    log.info("resuming job %s for %s", record["job_id"], tag)
    status = job_status(job)
    if status in FAILED:
        echo(f"{tag}: job {record['job_id']} is {status}; resubmitting it")
        return None
    return job


def collect(
    pending: PendingJob, *, result_timeout_s: float | None = None, expected_s: float = 0.0
) -> BlockResult:
    """Wait for a submitted block's job, save its values and usage; its ``BlockResult``.

    Args:
        result_timeout_s: give up waiting after this many seconds (the job keeps its record).
        expected_s: expected wall time, seconds, for the progress bar.

    Raises:
        JobFailed: the job failed or was cancelled (its record says so, and ``resume``
            resubmits it), or the wait timed out.
    """
    job, record, record_path = pending.job, pending.record, pending.record_path
    tag = record["tag"]
    try:
        result = wait_for(
            job,
            timeout_s=result_timeout_s,
            expected_s=expected_s,
            desc=pending.desc,
            poll_s=0.2 if record.get("local") else 5.0,
        )
    except JobFailed as err:
        if "still" not in str(err):  # failed or cancelled: the record says so for --resume
            record["status"] = job_status(job)
            record = _save_record(record_path, record)
        raise JobFailed(f"block {tag}: {err}") from None
    pub = result[0]
    evs = np.asarray(pub.data.evs, dtype=float)  # (N, n_obs)
    stds = np.asarray(pub.data.stds, dtype=float)
    job_meta = dict(getattr(result, "metadata", {}) or {})
    record.update(
        status="DONE",
        **job_usage(job),
        execution_spans=_spans(pub),
        result_metadata=dict(getattr(pub, "metadata", {}) or {}),
        job_metadata=job_meta,
        mitigation_applied=list(applied_mitigation(job_meta)),
        mitigation_applied_source="the job's result metadata (resilience, twirling, "
        "dynamical_decoupling)",
    )
    record = _save_record(record_path, record)
    buf = io.BytesIO()
    np.savez(buf, evs=evs, stds=stds)
    atomic_write(pending.values_path, buf.getvalue())
    return BlockResult(
        evs,
        stds,
        record["job_id"],
        record["note"],
        tuple(record["mitigation_applied"]),
        seconds=time.perf_counter() - pending.start,
        record=record,
    )
