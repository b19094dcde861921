"""Waiting on a runtime job: its status, a progress bar, one line when it fails, its usage.

Used by ``jobs.py`` (one wait per job, whatever number of PUBs it holds).
"""

from __future__ import annotations

import contextlib
import time

from hq_qiskit.errors import HQError

FAILED = ("ERROR", "CANCELLED")


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
