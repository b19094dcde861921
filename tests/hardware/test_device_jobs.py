"""The device branches of ``jobs.run_block`` against a stand-in for IBM's cloud service:
submit, provenance, failure, cancellation, timeout and resume, with no network.

The stand-in is the runtime's own ``QiskitRuntimeLocalService`` (which serves fake backends and
executes jobs with Aer) plus what the cloud service adds and a test needs: ``job(job_id)``
returning a job that failed or was cancelled. The "device" is FakeManilaV2 (5 qubits), so each
job takes about a second.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from qiskit_ibm_runtime.fake_provider import FakeKingston
from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

from hq_qiskit.errors import HQError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.estimator import parameter_array
from hq_qiskit.hardware.jobs import JobFailed, run_block, wait_for
from hq_qiskit.hardware.layout import transpile_block
from hq_qiskit.hardware.qpu_cost import REP_DELAY_S, rep_delay_s
from hq_qiskit.hardware.runtime import resolve
from hq_qiskit.inference.record import summary

DEVICE = Backend(
    name="manila",
    kind="runtime",
    device="fake_manila",
    noise="FakeManilaV2",
    shots=64,
    optimization_level=1,
    mitigation=("trex", "twirling"),
)
LOCAL = Backend(name="fake_manila", kind="runtime", noise="FakeManilaV2", local=True, shots=64)


class StandInJob:
    """A cloud job in a final or pending state (the RuntimeJobV2 methods run_block uses)."""

    def __init__(self, job_id: str, status: str, reason: str = "") -> None:
        self._id, self._status, self._reason = job_id, status, reason

    def job_id(self) -> str:
        return self._id

    def status(self) -> str:
        return self._status

    def done(self) -> bool:
        return self._status in ("DONE", "ERROR", "CANCELLED")

    def error_message(self) -> str:
        return self._reason

    def result(self):
        raise RuntimeError(f"job {self._id} has no result")  # what the service raises


class StandInService(QiskitRuntimeLocalService):
    """IBM's service as far as run_block sees it: fake backends by name, and ``job(id)``."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, StandInJob] = {}
        self.fetched: list[str] = []

    def job(self, job_id: str) -> StandInJob:
        self.fetched.append(job_id)
        return self.jobs[job_id]


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def pub(two_qubit_block):
    """(mapped circuit on FakeManilaV2, parameter values (3, 1, 2), exact values (3, 3))."""
    qc, x, obs = two_qubit_block()
    target = resolve(LOCAL)
    mapped = transpile_block(qc, obs, target.backend.target, optimization_level=1)
    xs = np.array([[0.0, 0.0], [np.pi, 0.0], [0.0, np.pi / 2]])
    exact = np.array([[1, 1, 0], [-1, 1, 0], [1, 0, 0]])  # <Z0>, <Z0 Z1>, <X0>
    return mapped, parameter_array(mapped, {x[0]: xs[:, 0], x[1]: xs[:, 1]}), exact


def test_a_device_job_records_where_it_ran_and_what_it_used(pub, tmp_path):
    mapped, values, exact = pub
    service = StandInService()
    target = resolve(DEVICE, service=service)
    assert not target.local and target.mitigation == ("trex", "twirling")
    result = run_block(
        mapped, values, target, run_dir=tmp_path, tag="blk", shots=64, mitigation_requested=["trex"]
    )
    assert np.abs(result.evs - exact).mean() < 0.25
    record = json.loads((tmp_path / "jobs" / "blk.json").read_text())
    assert record == result.record
    assert record["local"] is False and record["device"] == "fake_manila"
    assert record["status"] == "DONE" and record["job_id"] == result.job_id
    assert record["snapshot_date"].startswith("20") and record["backend_version"]
    assert record["mitigation_requested"] == ["trex"]
    assert record["mitigation_configured"] == ["trex", "twirling"]
    # what the job reports, not what was asked (trex): the stand-in runs the client-side
    # Estimator's program, TREX and twirling included, and its metadata says so
    assert record["mitigation_applied"] == ["trex", "twirling"]
    assert result.mitigation == ("trex", "twirling")
    assert "result metadata" in record["mitigation_applied_source"]
    assert record["usage"] == 0  # what the service reports: no QPU time for a local job
    assert set(record["metrics"]["timestamps"]) >= {"created", "finished"}
    assert record["shots"] == 64 and record["final_layout"] == list(mapped.final_layout)


def test_a_failed_or_cancelled_job_is_one_line_with_id_status_and_reason():
    with pytest.raises(JobFailed) as err:
        wait_for(StandInJob("d0abc", "ERROR", "Error code 1305; Job exceeded max_execution_time"))
    message = str(err.value)
    assert "\n" not in message and "d0abc ERROR" in message
    assert "max_execution_time" in message and "--resume resubmits it" in message
    with pytest.raises(JobFailed, match="d0xyz CANCELLED: no reason given"):
        wait_for(StandInJob("d0xyz", "CANCELLED"))
    with pytest.raises(JobFailed, match=r"job d0q: still QUEUED after 0 s \(--result-timeout\)"):
        wait_for(StandInJob("d0q", "QUEUED"), timeout_s=0.2)


def test_resume_resubmits_a_failed_job_instead_of_fetching_it_again(pub, tmp_path):
    mapped, values, _ = pub
    service = StandInService()
    target = resolve(DEVICE, service=service)
    first = run_block(mapped, values, target, run_dir=tmp_path, tag="blk", shots=64)
    (tmp_path / "jobs" / "blk.npz").unlink()  # as if the run had stopped before the result
    service.jobs[first.job_id] = StandInJob(first.job_id, "ERROR", "Error code 8055")
    lines: list[str] = []
    again = run_block(
        mapped, values, target, run_dir=tmp_path, tag="blk", shots=64, resume=True,
        echo=lines.append,
    )  # fmt: skip
    assert service.fetched == [first.job_id]
    assert lines == [f"blk: job {first.job_id} is ERROR; resubmitting it"]
    assert again.job_id != first.job_id and not again.resumed
    assert json.loads((tmp_path / "jobs" / "blk.json").read_text())["status"] == "DONE"

    # a record that already says ERROR is resubmitted without asking the service again
    record = json.loads((tmp_path / "jobs" / "blk.json").read_text())
    record["status"] = "ERROR"
    (tmp_path / "jobs" / "blk.json").write_text(json.dumps(record))
    (tmp_path / "jobs" / "blk.npz").unlink()
    third = run_block(
        mapped, values, target, run_dir=tmp_path, tag="blk", shots=64, resume=True,
        echo=lines.append,
    )  # fmt: skip
    assert service.fetched == [first.job_id] and third.job_id != again.job_id
    assert lines[-1] == f"blk: job {again.job_id} was ERROR; resubmitting it"


def test_a_local_run_is_not_resumed_as_a_device_run(pub, tmp_path, no_account):
    """Was: resumed and labelled local. The noise source is part of the resume check now, so
    values of the fake twin are refused under a device target instead of reused."""
    mapped, values, _ = pub
    local = run_block(mapped, values, resolve(LOCAL), run_dir=tmp_path, tag="blk", shots=64)
    assert local.record["noise_source"] == "fake twin fake_manila (local testing mode)"
    device = resolve(DEVICE, service=StandInService())  # "with credentials" now
    with pytest.raises(HQError) as err:
        run_block(mapped, values, device, run_dir=tmp_path, tag="blk", shots=64, resume=True)
    line = str(err.value)
    assert "\n" not in line and "other settings" in line
    assert "noise_source fake twin fake_manila (local testing mode) (recorded) vs device " in line
    row = {**local.record, "mitigation_applied": list(local.mitigation)}
    where = summary([row])  # the local run's own row stays labelled local
    assert where["local"] is True and where["mitigation_applied"] == []
    assert "local testing mode" in where["note"]


def test_a_device_job_cannot_be_fetched_without_the_account(pub, tmp_path, no_account):
    mapped, values, _ = pub
    run_block(mapped, values, resolve(DEVICE, service=StandInService()), run_dir=tmp_path,
              tag="blk", shots=64)  # fmt: skip
    (tmp_path / "jobs" / "blk.npz").unlink()
    with pytest.raises(HQError, match="ran on the device fake_manila; fetching it needs"):
        run_block(mapped, values, resolve(LOCAL), run_dir=tmp_path, tag="blk", shots=64,
                  resume=True)  # fmt: skip


def test_rep_delay_comes_from_the_backend_configuration():
    assert rep_delay_s(FakeKingston()) == pytest.approx(250e-6)
    assert rep_delay_s(object()) == REP_DELAY_S  # no configuration: IBM's usual value
