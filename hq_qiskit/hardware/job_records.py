"""A block's job record: written at submission, checked and reused on ``--resume``.

``<run_dir>/jobs/<tag>.json`` per block (``jobs.py`` writes it before any wait): the job id and
the block's PUB index, where it ran, the key ``--resume`` compares (``resume.job_key``), what
was configured, the layout and observables. ``earlier_record`` refuses a record of other inputs
or settings; ``reattach`` fetches a recorded device job again (or says why it is resubmitted).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import HQError
from hq_qiskit.hardware.estimator import simulator_seed
from hq_qiskit.hardware.job_wait import FAILED, job_status
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.resume import STALE, check_key
from hq_qiskit.hardware.runtime import RuntimeTarget

log = logging.getLogger(__name__)


def save_record(path: Path, record: dict) -> dict:
    """Write a job record atomically; returns it as read back (JSON types only)."""
    text = json.dumps(record, indent=1, default=str)
    atomic_write(path, text)
    return json.loads(text)


def submission_fields(
    target: RuntimeTarget, mapped: MappedCircuit, seed, mode_id: str | None, max_execution_time
):
    """The fields of a new job record besides its key: what was configured, the simulator
    seed, the mode, the layout and observables, the time, status SUBMITTED."""
    return {
        "mitigation_configured": list(target.mitigation),
        "mitigation_applied": None,  # known from the job's result metadata (collect)
        "seed_simulator": simulator_seed(seed) if target.local and seed is not None else None,
        "mode_id": mode_id,
        "max_execution_time": max_execution_time,
        "initial_layout": list(mapped.initial_layout),
        "observables": [op.to_list() for op in mapped.observables],
        "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "status": "SUBMITTED",
    }


def earlier_record(record_path: Path, digest: str, key: dict, target: RuntimeTarget) -> dict | None:
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
        raise needs_account(record_path, record)
    check_key(record_path, record, key)
    return record


def needs_account(record_path: Path, record: dict) -> HQError:
    return HQError(
        f"{record_path}: job {record['job_id']} ran on the device "
        f"{record.get('device')}; fetching it needs the IBM Quantum account it ran "
        "under (credentials), or remove the record to run the block locally"
    )


def reattach(record: dict | None, record_path: Path, target: RuntimeTarget, tag: str, echo):
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
        raise needs_account(record_path, record)
    job = target.service.job(record["job_id"])
    log.info("resuming job %s for %s", record["job_id"], tag)
    status = job_status(job)
    if status in FAILED:
        echo(f"{tag}: job {record['job_id']} is {status}; resubmitting it")
        return None
    return job
