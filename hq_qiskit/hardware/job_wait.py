"""Waiting on a runtime job: its status, a progress bar, one line when it fails, its usage.

Used by ``jobs.py`` (one wait per job, whatever number of PUBs it holds).

- A device job is polled until its status is final (DONE, ERROR, CANCELLED): its ``done()`` is
  True only for DONE, so waiting on ``done()`` alone never ends for a job that failed.
- A local job (a qiskit ``PrimitiveJob``: runtime local testing mode) is waited on through its
  ``result()`` in a thread, and its status read only afterwards: ``PrimitiveJob.status()``
  called while the job's future is still queued caches ERROR for good (seen under load: a
  5-PUB local job read "error" for 15 minutes while it ran, and ``done()`` stayed False).
"""

from __future__ import annotations

import contextlib
import threading
import time

from hq_qiskit.errors import HQError

FAILED = ("ERROR", "CANCELLED")
FINAL = ("DONE", *FAILED)


class JobFailed(HQError):
    """A runtime job that ended in ERROR or CANCELLED, or did not finish in time."""


def job_status(job) -> str:
    """The job's status as an upper-case string ("QUEUED", "RUNNING", "DONE", "ERROR", ...):
    runtime jobs return strings, local jobs a ``JobStatus`` enum."""
    status = job.status()
    return str(getattr(status, "name", status)).upper()


class _LocalWait:
    """A local job's ``result()`` awaited in a daemon thread: its value or its exception."""

    def __init__(self, job) -> None:
        self.value: object = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(job,), daemon=True)
        self.thread.start()

    def _run(self, job) -> None:
        try:
            self.value = job.result()
        except BaseException as err:  # the job's own failure, reported by wait_for
            self.error = err

    def finished(self) -> bool:
        return not self.thread.is_alive()


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
        JobFailed: one line with the job id, its status and the reason the service gives (a
            local job: its exception), when the job failed, was cancelled, or did not finish
            within ``timeout_s``.
    """
    from qiskit.primitives.primitive_job import PrimitiveJob
    from tqdm.auto import tqdm

    local = _LocalWait(job) if isinstance(job, PrimitiveJob) else None
    start = time.perf_counter()
    total = max(1, round(expected_s))
    pause = min(0.2, poll_s)
    with tqdm(total=total, desc=desc or job.job_id(), unit="s", leave=False) as bar:
        while not (local.finished() if local else job_status(job) in FINAL):
            elapsed = time.perf_counter() - start
            status = "RUNNING" if local else job_status(job)
            if timeout_s is not None and elapsed > timeout_s:
                raise JobFailed(
                    f"job {job.job_id()}: still {status} after {timeout_s:.0f} s "
                    "(--result-timeout); --resume fetches it once it has finished"
                )
            bar.n = min(total, round(elapsed))
            bar.set_postfix_str(status.lower(), refresh=False)
            bar.refresh()
            time.sleep(pause)
            pause = min(poll_s, pause * 1.5)
        bar.n = total
    if local is not None:
        if local.error is not None:
            first = (str(local.error).strip().splitlines() or ["no reason given"])[0]
            raise JobFailed(f"job {job.job_id()} ERROR: {type(local.error).__name__}: {first}; "
                            "--resume resubmits it")  # fmt: skip
        return local.value
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


def execution_spans(result) -> object:
    """A PUB result's execution spans (start, stop, size) as JSON; None where it has none."""
    spans = getattr(result.metadata, "get", lambda *_: None)("execution", {}) if result else None
    try:
        return [
            {"start": str(s.start), "stop": str(s.stop), "size": s.size}
            for s in spans["execution_spans"]
        ]
    except Exception:  # no spans (local mode) or another layout
        return None
