"""Waiting on jobs ends on every final state: a device job that failed (whose ``done()``, as
``RuntimeJobV2``'s, is True only for DONE), a local job that raised, and a local job whose
status was read while it was still queued (qiskit's ``PrimitiveJob`` then caches ERROR)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from qiskit.primitives.primitive_job import PrimitiveJob

from hq_qiskit.hardware.job_wait import JobFailed, wait_for


class CloudJob:
    """RuntimeJobV2's contract: ``done()`` means DONE only; status strings."""

    def __init__(self, status: str, reason: str = "") -> None:
        self._status, self._reason = status, reason

    def job_id(self) -> str:
        return "d0cloud"

    def status(self) -> str:
        return self._status

    def done(self) -> bool:
        return self._status == "DONE"

    def error_message(self) -> str:
        return self._reason


def test_a_failed_device_job_is_reported_not_waited_on_forever():
    with pytest.raises(JobFailed, match="d0cloud ERROR: Error code 1305"):
        wait_for(CloudJob("ERROR", "Error code 1305"), timeout_s=5)
    with pytest.raises(JobFailed, match="d0cloud CANCELLED"):
        wait_for(CloudJob("CANCELLED"), timeout_s=5)


def test_a_local_job_that_raised_is_one_line_with_its_exception():
    def boom():
        raise ValueError("circuit too wide\nsecond line")

    job = PrimitiveJob(boom)
    job._submit()
    with pytest.raises(JobFailed) as err:
        wait_for(job, timeout_s=30)
    assert "ERROR: ValueError: circuit too wide; --resume" in str(err.value)
    assert "\n" not in str(err.value)


class QueuedJob(PrimitiveJob):
    """A local job whose future waits in a busy pool first (as under load)."""

    def __init__(self, function, pool: ThreadPoolExecutor) -> None:
        super().__init__(function)
        self._pool = pool

    def _submit(self):
        self._future = self._pool.submit(self._function)


def test_a_local_job_read_while_queued_still_returns_its_result():
    gate = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1)
    pool.submit(gate.wait)  # the only worker is busy: the job's future stays queued
    job = QueuedJob(lambda: "values", pool)
    job._submit()
    assert job.status().name == "ERROR"  # qiskit's race: a queued future reads as ERROR
    threading.Timer(0.5, gate.set).start()
    assert wait_for(job, timeout_s=30) == "values"
    pool.shutdown()
