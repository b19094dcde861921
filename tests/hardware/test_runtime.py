"""IBM Runtime EstimatorV2 in local testing mode on a fake device: one PUB, job records, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import get_backend
from hq_qiskit.hardware.estimator import parameter_array
from hq_qiskit.hardware.jobs import run_block
from hq_qiskit.hardware.layout import transpile_block
from hq_qiskit.hardware.qpu_cost import qpu_seconds_estimate
from hq_qiskit.hardware.runtime import has_credentials, resolve


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no saved account


def test_without_credentials_a_device_means_its_fake_twin(no_account):
    assert not has_credentials()
    target = resolve(get_backend("ibm_brisbane"))
    assert target.local and target.backend.name == "fake_brisbane"
    assert "local testing mode on FakeBrisbane" in target.note
    assert "unmitigated" in target.note and "no IBM Quantum credentials" in target.note
    assert target.mitigation == ()  # asked for trex + twirling; local mode applies none


def test_credentials_are_detected_from_the_token(monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "not-a-real-token")
    assert has_credentials()


def test_aer_entry_is_not_a_runtime_target():
    with pytest.raises(ConfigError, match="needs a runtime entry"):
        resolve(get_backend("aer-noisy-brisbane"))


def test_one_pub_job_record_and_resume(no_account, tmp_path, two_qubit_block):
    qc, x, obs = two_qubit_block()
    target = resolve(get_backend("fake_brisbane"))
    mapped = transpile_block(
        qc, obs, target.backend.target, optimization_level=1, strategy="noise_aware"
    )
    xs = np.array([[0.0, 0.0], [np.pi, 0.0], [0.0, np.pi / 2]])
    values = parameter_array(mapped, {x[0]: xs[:, 0], x[1]: xs[:, 1]})
    assert values.shape == (3, 1, 2)
    result = run_block(
        mapped,
        values,
        target,
        run_dir=tmp_path,
        tag="blk",
        shots=64,
        seed=5,
        sample_ids=["a", "b", "c"],
    )
    assert result.evs.shape == (3, 3)
    exact = np.array([[1, 1, 0], [-1, 1, 0], [1, 0, 0]])  # <Z0>, <Z0 Z1>, <X0>
    assert np.abs(result.evs - exact).mean() < 0.2  # noisy, 64 shots
    record = json.loads((tmp_path / "jobs" / "blk.json").read_text())
    assert record["job_id"] == result.job_id and record["local"] is True
    assert record["samples"] == ["a", "b", "c"]
    assert record["final_layout"] == list(mapped.final_layout)
    again = run_block(mapped, values, target, run_dir=tmp_path, tag="blk", shots=64, seed=5,
                      resume=True)  # fmt: skip
    assert again.resumed and np.array_equal(again.evs, result.evs)
    assert record["seed"] == 5 and record["seed_simulator"] == 6
    assert qpu_seconds_estimate(mapped, target.backend.target, n_circuits=6, shots=64) > 2.0


def test_a_saved_account_is_found_where_save_account_writes_it(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not has_credentials()
    (tmp_path / ".qiskit").mkdir()
    (tmp_path / ".qiskit" / "qiskit-ibm.json").write_text('{"default-ibm-quantum": {}}')
    assert has_credentials()
    monkeypatch.setenv("QISKIT_IBM_CONFIG", str(tmp_path / "elsewhere.json"))
    assert has_credentials()  # the runtime ignores this variable, and so do we
