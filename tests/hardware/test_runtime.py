"""IBM Runtime's client-side Estimator (on the Executor) in local testing mode on a fake device:
one PUB, job records, resume, and no deprecation warning raised or silenced."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, get_backend
from hq_qiskit.hardware.estimator import SEED_STRIDE, parameter_array
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
    assert record["seed"] == 5 and record["seed_simulator"] == 5 * SEED_STRIDE
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


def test_a_local_job_raises_no_deprecation_warning(no_account, tmp_path, two_qubit_block):
    """A real local-mode job through the client-side Estimator and the Executor (FakeManilaV2,
    2 qubits, 64 shots) with every DeprecationWarning an error: EstimatorV2 (deprecated in
    runtime 0.50) or a deprecated option would fail here."""
    manila = Backend(name="fake_manila", kind="runtime", noise="FakeManilaV2", local=True)
    target = resolve(manila)
    qc, x, obs = two_qubit_block()
    mapped = transpile_block(qc, obs, target.backend.target, optimization_level=1)
    values = parameter_array(mapped, {x[0]: np.array([0.0, np.pi]), x[1]: np.zeros(2)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        result = run_block(mapped, values, target, run_dir=tmp_path, tag="b", shots=64, seed=0,
                           max_execution_time=60)  # fmt: skip
    assert np.abs(result.evs[:, 0] - [1, -1]).max() < 0.35  # <Z0> of |0> and |1>, noisy
    assert result.record["result_metadata"]["executor"]["shots"] == 64  # the Executor ran it


SILENCING = re.compile(
    r"(simplefilter|filterwarnings)\(\s*['\"]ignore['\"]\s*(\)|,[^)]*DeprecationWarning"
    r"|,[^)]*(qiskit_ibm_runtime|deprecat))",
    re.IGNORECASE,
)


def test_no_deprecation_warning_is_silenced_in_the_package():
    """No module of the package or of bench/ filters DeprecationWarning (or every warning, or
    qiskit-ibm-runtime's) away: a deprecated runtime call must show up, here, in the user's run
    and in a benchmark (bench/noise_capture.py ran with DeprecationWarning as an error)."""
    import hq_qiskit

    root = Path(hq_qiskit.__file__).parents[1]
    found = [
        f"{path.relative_to(root)}: {m.group(0)}"
        for folder in (root / "hq_qiskit", root / "bench")
        for path in sorted(folder.rglob("*.py"))
        for m in SILENCING.finditer(path.read_text())
    ]
    assert found == []
    assert SILENCING.search('warnings.simplefilter("ignore", DeprecationWarning)')
    assert SILENCING.search("warnings.simplefilter('ignore')")
    assert not SILENCING.search('warnings.simplefilter("ignore", NotGeoreferencedWarning)')
